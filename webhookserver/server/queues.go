package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/delivery"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

// worker is a queue with its running workers.
type worker struct {
	queue    delivery.Queue
	endpoint string // namespace/name
	cancel   context.CancelFunc
	done     chan struct{}
}

// queues owns the delivery queues of Async endpoints and their workers, across reloads.
type queues struct {
	mu      sync.Mutex
	byID    map[string]*worker
	base    context.Context // the workers' parent: cancelled on shutdown
	stopAll context.CancelFunc
}

// queue returns the queue of identity, creating it once (endpoint.QueueProvider).
func (s *Server) queue(identity string, create func() (delivery.Queue, error)) (delivery.Queue, error) {
	s.queues.mu.Lock()
	defer s.queues.mu.Unlock()
	if w, ok := s.queues.byID[identity]; ok {
		return w.queue, nil
	}
	q, err := create()
	if err != nil {
		return nil, err
	}
	if s.queues.byID == nil {
		s.queues.byID = map[string]*worker{}
	}
	s.queues.byID[identity] = &worker{queue: q}
	return q, nil
}

// startWorkers runs the workers of every queue of snap that has none yet, and stops and closes the queues no
// endpoint uses any more. Workers start only once Serve runs (base is set).
func (s *Server) startWorkers(snap *snapshot) {
	s.queues.mu.Lock()
	defer s.queues.mu.Unlock()
	used := map[string]*endpoint.Endpoint{}
	for _, e := range snap.endpoints {
		if id := e.QueueIdentity(); id != "" {
			used[id] = e
		}
	}
	for identity, w := range s.queues.byID {
		e, ok := used[identity]
		if !ok {
			if w.cancel != nil {
				w.cancel()
				<-w.done
			}
			_ = w.queue.Close()
			delete(s.queues.byID, identity)
			continue
		}
		if w.cancel != nil || s.queues.base == nil {
			continue
		}
		ctx, cancel := context.WithCancel(s.queues.base)
		w.cancel, w.done, w.endpoint = cancel, make(chan struct{}), e.Namespace+"/"+e.Name
		go func(w *worker) {
			defer close(w.done)
			if err := w.queue.Run(ctx, s.deliver(w.endpoint)); err != nil {
				s.log.Error("delivery workers stopped", "endpoint", w.endpoint, "error", err.Error())
			}
		}(w)
		s.log.Info("delivery workers started", "endpoint", w.endpoint)
	}
}

// stopWorkers stops every worker (their events in progress stay queued) and closes the queues.
func (s *Server) stopWorkers() {
	s.queues.mu.Lock()
	defer s.queues.mu.Unlock()
	if s.queues.stopAll != nil {
		s.queues.stopAll()
	}
	for identity, w := range s.queues.byID {
		if w.done != nil {
			<-w.done
		}
		_ = w.queue.Close()
		delete(s.queues.byID, identity)
	}
}

// deliver is the handler of an endpoint's queue: it processes the event through the endpoint current now, so
// that a reload applies to queued events too.
func (s *Server) deliver(name string) delivery.Handler {
	return func(ctx context.Context, event *delivery.Event) error {
		var ep *endpoint.Endpoint
		for _, e := range s.current.Load().endpoints {
			if e.Namespace+"/"+e.Name == name {
				ep = e
			}
		}
		if ep == nil {
			return errors.New("the endpoint is no longer served")
		}
		start := time.Now()
		var span trace.Span
		if s.tracer != nil {
			ctx, span = s.startDeliverySpan(ctx, name, event.Attempts+1, event.ID, http.Header(event.Header))
		}
		outcome, err := ep.Deliver(ctx, event)
		if span != nil {
			endDeliverySpan(span, outcome, err)
		}
		result := "success"
		if err != nil {
			result = "failure"
		}
		s.metrics.deliveryAttempts.WithLabelValues(name, result).Inc()
		s.metrics.observeWork(name, deliveryAsync, outcome)
		s.logDelivery(ctx, name, event, outcome, err, time.Since(start))
		return err
	}
}

// logDelivery logs one attempt at a queued event as a request's line is logged (requestlog.go), under the
// event's id: the id of the 202's log line and of the dead letter.
func (s *Server) logDelivery(ctx context.Context, name string, event *delivery.Event, outcome *endpoint.Outcome, err error, duration time.Duration) {
	line := requestLog{logger: s.log, ctx: ctx}
	line.add(slog.String("endpoint", name))
	line.add(slog.String("eventId", event.ID))
	line.add(slog.Int("attempt", event.Attempts+1))
	if outcome.Request != nil && s.log.Enabled(ctx, slog.LevelDebug) {
		var room [6]slog.Attr
		line.log(slog.LevelDebug, "queued event detail", detailAttrs(room[:0], outcome)...)
	}
	var room [20]slog.Attr
	attrs := outcomeAttrs(room[:0], outcome)
	attrs = append(attrs, slog.Float64("durationMs", float64(duration.Microseconds())/1000))
	if err != nil {
		line.log(slog.LevelWarn, "queued event failed; it will be retried or kept as a dead letter", attrs...)
		return
	}
	line.log(outcomeLevel(outcome), "queued event delivered", attrs...)
}

// enqueue answers an Async request: 202 once the event is durably queued, 503 when it could not be.
func (s *Server) enqueue(r *http.Request, ep *endpoint.Endpoint, in dialect.Input) *endpoint.Outcome {
	in.Header = s.traceQueued(r.Context(), in.Header)
	return ep.Enqueue(r.Context(), in, time.Now())
}

// queueKind is the kind of an Async endpoint's queue.
func queueKind(q delivery.Queue) string {
	if _, local := q.(*delivery.Local); local {
		return statusz.QueueLocal
	}
	return statusz.QueueRedis
}

// servedQueue is the queue of an Async endpoint, named namespace/name.
type servedQueue struct {
	endpoint, kind string
	queue          delivery.Queue
}

// asyncQueues are the queues of snap's Async endpoints, none before the first load.
func (snap *snapshot) asyncQueues() []servedQueue {
	if snap == nil {
		return nil
	}
	var queues []servedQueue
	for _, e := range snap.endpoints {
		if q := e.Queue(); q != nil {
			queues = append(queues, servedQueue{endpoint: e.Namespace + "/" + e.Name, kind: queueKind(q), queue: q})
		}
	}
	return queues
}

// queueStatsTimeout bounds the reading of one queue's counts: the operator reads /statusz with a 2s timeout,
// and the queues are read together.
const queueStatsTimeout = time.Second

// currentQueues reads the queues of the configuration served now, for the metrics.
func (s *Server) currentQueues() []statusz.Queue {
	return s.readQueues(s.current.Load().asyncQueues())
}

// readLocalQueues reads snap's Local queues: what a replica being retired still holds.
func (s *Server) readLocalQueues(snap *snapshot) []statusz.Queue {
	var local []servedQueue
	for _, q := range snap.asyncQueues() {
		if q.kind == statusz.QueueLocal {
			local = append(local, q)
		}
	}
	return s.readQueues(local)
}

// readQueues reads the queues' counts, all at once so that a Redis outage costs one timeout, not one per
// queue. A queue that cannot be read is reported with its error and zero counts.
func (s *Server) readQueues(queues []servedQueue) []statusz.Queue {
	reports := make([]statusz.Queue, len(queues))
	var wg sync.WaitGroup
	for i, q := range queues {
		wg.Go(func() { reports[i] = s.readQueue(q) })
	}
	wg.Wait()
	return reports
}

// readQueue reads a queue's counts, then its durability within what is left of the same timeout: the counts
// matter more, since a pod is retired on them.
func (s *Server) readQueue(q servedQueue) statusz.Queue {
	ctx, cancel := context.WithTimeout(context.Background(), queueStatsTimeout)
	defer cancel()
	report := statusz.Queue{Endpoint: q.endpoint, Kind: q.kind}
	s.readCounts(ctx, q.queue, &report)
	level, detail := q.queue.Durability(ctx)
	report.Durability, report.DurabilityDetail = durabilityName(level), s.redact(detail)
	return report
}

// readCounts fills the report's counts, or its error when they cannot be read.
func (s *Server) readCounts(ctx context.Context, queue delivery.Queue, report *statusz.Queue) {
	stats, err := queue.Stats(ctx)
	if err != nil {
		report.Error = s.redact(err.Error())
		return
	}
	report.Pending, report.InFlight, report.Delayed, report.Dead = stats.Pending, stats.InFlight, stats.Delayed, stats.Dead
	if !stats.Oldest.IsZero() {
		oldest := stats.Oldest.UTC()
		report.OldestReceived = &oldest
	}
}

// redact removes the secret values the server read from a text the report carries: it is read over the
// network.
func (s *Server) redact(text string) string {
	if s.opts.Secrets == nil {
		return text
	}
	return s.opts.Secrets.Redact(text)
}

// durabilityNames are the /statusz names of the queues' durabilities.
var durabilityNames = map[delivery.Durability]string{
	delivery.DurabilityFsync:       statusz.DurabilityFsync,
	delivery.DurabilityEverySecond: statusz.DurabilityEverySecond,
	delivery.DurabilityOSFlush:     statusz.DurabilityOSFlush,
	delivery.DurabilitySnapshots:   statusz.DurabilitySnapshots,
	delivery.DurabilityNone:        statusz.DurabilityNone,
	delivery.DurabilityEvicts:      statusz.DurabilityEvicts,
	delivery.DurabilityUnknown:     statusz.DurabilityUnknown,
}

// durabilityName is the /statusz name of level; a level /statusz has no name for is Unknown, which claims
// nothing.
func durabilityName(level delivery.Durability) string {
	if name, ok := durabilityNames[level]; ok {
		return name
	}
	return statusz.DurabilityUnknown
}
