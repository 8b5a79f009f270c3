package controllers

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// The operator's own metrics, one series per WebhookEndpoint, labelled endpoint="namespace/name" as the
// fulfillment server labels its own, so that a dashboard or alert joins both on one label.
var (
	endpointReadyDesc = prometheus.NewDesc("fulfillment_operator_endpoint_ready",
		"1 when the WebhookEndpoint's Ready condition is True, 0 otherwise, by endpoint (namespace/name).",
		[]string{"endpoint"}, nil)
	hmacKeyAgeDesc = prometheus.NewDesc("fulfillment_operator_hmac_key_age_seconds",
		"Age of the HMAC key the operator generated for the endpoint (since status.lastKeyRotationTime), by endpoint; absent when the endpoint references its own key.",
		[]string{"endpoint"}, nil)
	hmacRotationIntervalDesc = prometheus.NewDesc("fulfillment_operator_hmac_key_rotation_interval_seconds",
		"spec.auth.hmac.rotation.interval of an endpoint whose generated HMAC key the operator rotates, by endpoint; absent without rotation.",
		[]string{"endpoint"}, nil)
	certificateNotAfterDesc = prometheus.NewDesc("fulfillment_operator_certificate_not_after_seconds",
		"Expiry of the endpoint's serving certificate (status.certificate.notAfter: tls.mode Secret, CertManager or SelfSigned) as a Unix time, by endpoint; absent without TLS.",
		[]string{"endpoint"}, nil)
)

// endpointMetrics holds what the last reconcile of each endpoint found, and turns it into metrics when they
// are scraped, so that the key's age is the age at scrape time rather than at the last reconcile.
var endpointMetrics = &endpointCollector{endpoints: map[types.NamespacedName]endpointState{}}

// registerMetrics adds the operator's metrics to controller-runtime's registry, which the manager serves on
// its metrics address. Setup may run more than once in a process (tests start several managers): the
// collector is shared and registered once.
var registerMetrics = sync.OnceValue(func() error {
	return metrics.Registry.Register(endpointMetrics)
})

// endpointState is the part of an endpoint's spec and status its metrics show.
type endpointState struct {
	ready            bool
	keyRotatedAt     *time.Time
	rotationInterval time.Duration
	certNotAfter     *time.Time
	// clock tells the key's age: the reconciler's, fake in tests.
	clock clock.PassiveClock
}

type endpointCollector struct {
	mu        sync.Mutex
	endpoints map[types.NamespacedName]endpointState
}

// observe records the endpoint's spec and status after a reconcile.
func (c *endpointCollector) observe(endpoint *fulfillmentv1alpha1.WebhookEndpoint, clk clock.PassiveClock) {
	state := endpointState{
		ready: meta.IsStatusConditionTrue(endpoint.Status.Conditions, fulfillmentv1alpha1.ConditionReady),
		clock: clk,
	}
	if GeneratesHMACKey(endpoint) {
		state.keyRotatedAt = timeOf(endpoint.Status.LastKeyRotationTime)
		if rotation := endpoint.Spec.Auth.HMAC.Rotation; rotation != nil {
			state.rotationInterval = rotation.Interval.Duration
		}
	}
	if certificate := endpoint.Status.Certificate; certificate != nil {
		state.certNotAfter = timeOf(certificate.NotAfter)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endpoints[types.NamespacedName{Namespace: endpoint.Namespace, Name: endpoint.Name}] = state
}

// forget removes a deleted endpoint's series.
func (c *endpointCollector) forget(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.endpoints, key)
}

func timeOf(t *metav1.Time) *time.Time {
	if t == nil {
		return nil
	}
	return &t.Time
}

// Describe implements prometheus.Collector.
func (c *endpointCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- endpointReadyDesc
	ch <- hmacKeyAgeDesc
	ch <- hmacRotationIntervalDesc
	ch <- certificateNotAfterDesc
}

// Collect implements prometheus.Collector.
func (c *endpointCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, state := range c.endpoints {
		endpoint := key.Namespace + "/" + key.Name
		ready := 0.0
		if state.ready {
			ready = 1
		}
		ch <- prometheus.MustNewConstMetric(endpointReadyDesc, prometheus.GaugeValue, ready, endpoint)
		if state.keyRotatedAt != nil {
			age := max(state.clock.Since(*state.keyRotatedAt).Seconds(), 0)
			ch <- prometheus.MustNewConstMetric(hmacKeyAgeDesc, prometheus.GaugeValue, age, endpoint)
		}
		if state.rotationInterval > 0 {
			ch <- prometheus.MustNewConstMetric(hmacRotationIntervalDesc, prometheus.GaugeValue, state.rotationInterval.Seconds(), endpoint)
		}
		if state.certNotAfter != nil {
			ch <- prometheus.MustNewConstMetric(certificateNotAfterDesc, prometheus.GaugeValue, float64(state.certNotAfter.Unix()), endpoint)
		}
	}
}
