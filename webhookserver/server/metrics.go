package server

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

// Metrics are the server's Prometheus metrics, all named fulfillment_*.
type Metrics struct {
	Registry *prometheus.Registry

	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	inFlight        prometheus.Gauge
	fallbacks       *prometheus.CounterVec
	actionErrors    *prometheus.CounterVec
	authFailures    *prometheus.CounterVec
	upstreamCalls   *prometheus.CounterVec
	upstreamLatency *prometheus.HistogramVec
	reloads         *prometheus.CounterVec
	configInfo      *prometheus.GaugeVec
	// lastReloadSuccessful is 0 while the newest configuration read is refused (Prometheus's own convention).
	lastReloadSuccessful prometheus.Gauge
	routes               *prometheus.GaugeVec
	// deadline is each endpoint's fulfillment deadline, which dashboards draw against its latency.
	deadline     *prometheus.GaugeVec
	idempotency  *prometheus.CounterVec
	breakerState *prometheus.GaugeVec
	// tokenFetches counts the OAuth2 token fetches of routes with auth.oauth2.
	tokenFetches *prometheus.CounterVec
	// deliveryAttempts counts queued events processed, by endpoint and result.
	deliveryAttempts *prometheus.CounterVec
	// certificateNotAfter is when the serving certificate expires (0 without TLS).
	certificateNotAfter prometheus.Gauge
	// draining is 1 while the configuration names this replica's pod in drainPods.
	draining prometheus.Gauge
}

// NewMetrics registers the metrics, with the Go and process collectors, in a registry of their own. queues
// reads the delivery queues when metrics are scraped.
func NewMetrics(queues func() []statusz.Queue) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulfillment_requests_total",
			Help: "Requests answered, by endpoint, route (empty when none matched) and HTTP status code.",
		}, []string{"endpoint", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fulfillment_request_duration_seconds",
			Help:    "Time from receiving a request to its answer, by endpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fulfillment_requests_in_flight",
			Help: "Requests being answered.",
		}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulfillment_fallbacks_total",
			Help: "Fallback answers, by endpoint, reason (no_route, action_failed, deadline, answer_invalid, canceled) and delivery (sync: in the request; async: a queued event).",
		}, []string{"endpoint", "reason", "delivery"}),
		actionErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulfillment_action_errors_total",
			Help: "Action failures answered with an error instead of a fallback (Generic without a route fallback), by endpoint, reason (the error code: action_failed and deadline_exceeded answered 502, unprocessable_event 422) and delivery (sync, async).",
		}, []string{"endpoint", "reason", "delivery"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulfillment_auth_failures_total",
			Help: "Refused requests, by endpoint, auth method and reason.",
		}, []string{"endpoint", "method", "reason"}),
		upstreamCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulfillment_upstream_requests_total",
			Help: "Route actions that call or forward to an upstream, by endpoint, route, outcome (ok or a failure reason) and delivery (sync, async).",
		}, []string{"endpoint", "route", "outcome", "delivery"}),
		upstreamLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fulfillment_upstream_duration_seconds",
			Help:    "Time spent in call and forward actions, retries included, by endpoint, route and delivery (sync, async).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint", "route", "delivery"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulfillment_config_reloads_total",
			Help: "Configuration loads, by result (success, or failure when the new configuration was refused and the old one kept serving).",
		}, []string{"result"}),
		configInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fulfillment_config_info",
			Help: "The configuration being served: 1 for its version (the SHA-256 of the file the operator renders, its status.configHash).",
		}, []string{"hash"}),
		lastReloadSuccessful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fulfillment_config_last_reload_successful",
			Help: "1 when the newest configuration read is served, 0 while it is refused and the previous one keeps serving.",
		}),
		routes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fulfillment_routes",
			Help: "Routes served, by endpoint.",
		}, []string{"endpoint"}),
		deadline: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fulfillment_endpoint_deadline_seconds",
			Help: "The fulfillment deadline (spec.timeout) of each endpoint served, by endpoint.",
		}, []string{"endpoint"}),
		idempotency: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulfillment_idempotency_total",
			Help: "Idempotency outcomes other than first processing, by endpoint, result (replayed, store_error) and delivery (sync, async).",
		}, []string{"endpoint", "result", "delivery"}),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fulfillment_upstream_circuit_state",
			Help: "State of each upstream's circuit breaker: 0 closed, 1 half-open, 2 open.",
		}, []string{"upstream"}),
		tokenFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulfillment_oauth2_token_fetches_total",
			Help: "OAuth2 access tokens fetched for routes with auth.oauth2 (call or forward), by endpoint, route and result (ok, error: the token endpoint refused or failed, timeout: the request's deadline passed first).",
		}, []string{"endpoint", "route", "result"}),
		deliveryAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulfillment_delivery_attempts_total",
			Help: "Attempts to process queued events, by endpoint and result (success, failure).",
		}, []string{"endpoint", "result"}),
		certificateNotAfter: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fulfillment_tls_certificate_not_after_seconds",
			Help: "Expiry of the serving certificate, as a Unix time; 0 when serving plain HTTP.",
		}),
		draining: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fulfillment_draining",
			Help: "1 while this replica is being retired (the configuration names its pod in drainPods): it refuses new events for its Local queues and delivers what they hold.",
		}),
	}
	m.Registry.MustRegister(m.fulfillmentCollectors(queues)...)
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// fulfillmentCollectors are the server's own metrics, every fulfillment_* family. The metric reference
// (docs/reference/metrics.md) is generated from this list, so a metric registered here is documented there.
func (m *Metrics) fulfillmentCollectors(queues func() []statusz.Queue) []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.duration, m.inFlight, m.fallbacks, m.actionErrors, m.authFailures, m.upstreamCalls,
		m.upstreamLatency, m.reloads, m.configInfo, m.lastReloadSuccessful, m.routes, m.deadline, m.idempotency, m.breakerState,
		m.tokenFetches, m.deliveryAttempts, m.certificateNotAfter, m.draining, queueCollector{queues}}
}

// Delivery label values: the work was done in the HTTP request (sync) or for a queued event by a delivery
// worker (async).
const (
	deliverySync  = "sync"
	deliveryAsync = "async"
)

// observeWork counts what fulfilling one request or queued event did: its upstream call, fallback or action
// error, and idempotency outcome. Both paths count through it, so that an Async endpoint's work shows as a Sync one's does.
func (m *Metrics) observeWork(name, delivery string, outcome *endpoint.Outcome) {
	if outcome.Upstream {
		m.upstreamCalls.WithLabelValues(name, outcome.Route, outcome.UpstreamOutcome, delivery).Inc()
		m.upstreamLatency.WithLabelValues(name, outcome.Route, delivery).Observe(outcome.UpstreamDuration.Seconds())
	}
	switch {
	case outcome.Replayed:
		m.idempotency.WithLabelValues(name, "replayed", delivery).Inc()
	case outcome.IdempotencyError != nil:
		m.idempotency.WithLabelValues(name, "store_error", delivery).Inc()
	}
	if outcome.Fallback != "" {
		m.fallbacks.WithLabelValues(name, outcome.Fallback, delivery).Inc()
	}
	if outcome.ActionError != "" {
		m.actionErrors.WithLabelValues(name, outcome.ActionError, delivery).Inc()
	}
}

// setServed records the endpoints a configuration serves: their routes and deadlines. Endpoints no longer
// served lose their series.
func (m *Metrics) setServed(endpoints []*endpoint.Endpoint) {
	m.routes.Reset()
	m.deadline.Reset()
	for _, e := range endpoints {
		name := e.Namespace + "/" + e.Name
		m.routes.WithLabelValues(name).Set(float64(e.RouteCount()))
		m.deadline.WithLabelValues(name).Set(e.Timeout.Seconds())
	}
}

// setBreakerState records a circuit breaker's new state.
func (m *Metrics) setBreakerState(upstream, state string) {
	value := map[string]float64{"closed": 0, "half-open": 1, "open": 2}[state]
	m.breakerState.WithLabelValues(upstream).Set(value)
}

// queueEvents describes the queue depth metric.
var queueEvents = prometheus.NewDesc("fulfillment_queue_events",
	"Events in an Async endpoint's delivery queue, by state: pending, in_flight, delayed (waiting for a retry), dead (dead letters).",
	[]string{"endpoint", "state"}, nil)

// queueOldestAge describes the age of a queue's oldest waiting event.
var queueOldestAge = prometheus.NewDesc("fulfillment_queue_oldest_event_age_seconds",
	"Age of the oldest event waiting (pending, in flight or delayed) in an Async endpoint's delivery queue; 0 when none waits. In a very large queue it is a lower bound.",
	[]string{"endpoint"}, nil)

// queueDurable describes whether a queue keeps every acknowledged event through a crash of its store.
var queueDurable = prometheus.NewDesc("fulfillment_queue_durable",
	"1 when an Async endpoint's queue has every acknowledged event on disk (durability Fsync on /statusz), 0 when a crash of its store, or a full Redis evicting keys, can lose some; absent while the durability is Unknown.",
	[]string{"endpoint"}, nil)

// queueCollector reads the queues at scrape time; a queue whose counts cannot be read has only its durability
// reported, and that only when it is known.
type queueCollector struct {
	queues func() []statusz.Queue
}

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueEvents
	ch <- queueOldestAge
	ch <- queueDurable
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	if c.queues == nil {
		return
	}
	now := time.Now()
	for _, q := range c.queues() {
		if durable, known := isDurable(q); known {
			ch <- prometheus.MustNewConstMetric(queueDurable, prometheus.GaugeValue, durable, q.Endpoint)
		}
		if q.Error != "" {
			continue
		}
		for state, value := range map[string]int64{"pending": q.Pending, "in_flight": q.InFlight, "delayed": q.Delayed, "dead": q.Dead} {
			ch <- prometheus.MustNewConstMetric(queueEvents, prometheus.GaugeValue, float64(value), q.Endpoint, state)
		}
		ch <- prometheus.MustNewConstMetric(queueOldestAge, prometheus.GaugeValue, oldestAge(q, now), q.Endpoint)
	}
}

// isDurable is 1 when the queue keeps every acknowledged event through a crash, 0 when it does not; known is
// false when its durability could not be read, which says neither.
func isDurable(q statusz.Queue) (durable float64, known bool) {
	switch q.Durability {
	case statusz.DurabilityFsync:
		return 1, true
	case statusz.DurabilityUnknown, "":
		return 0, false
	}
	return 0, true
}

// oldestAge is how long the queue's oldest waiting event has waited at now, 0 when none waits.
func oldestAge(q statusz.Queue, now time.Time) float64 {
	if q.OldestReceived == nil {
		return 0
	}
	return max(now.Sub(*q.OldestReceived).Seconds(), 0)
}

// endpointMetrics keeps one endpoint's children of the request metrics, made on first use, rather than have
// every request pay for WithLabelValues, which hashes its labels and looks them up under a lock, and for the
// status code's string. The vectors are never reset, so a kept child stays the one the registry exports.
type endpointMetrics struct {
	once     sync.Once
	duration prometheus.Observer
	requests sync.Map // requestLabels → prometheus.Counter
}

type requestLabels struct {
	route  string
	status int
}

// observe counts one answered request and its duration.
func (em *endpointMetrics) observe(m *Metrics, name, route string, status int, seconds float64) {
	em.once.Do(func() { em.duration = m.duration.WithLabelValues(name) })
	em.duration.Observe(seconds)
	labels := requestLabels{route: route, status: status}
	counter, ok := em.requests.Load(labels)
	if !ok {
		counter, _ = em.requests.LoadOrStore(labels, m.requests.WithLabelValues(name, route, strconv.Itoa(status)))
	}
	counter.(prometheus.Counter).Inc()
}
