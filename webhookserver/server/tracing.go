package server

import (
	"context"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tracing"
)

// A request's span is started when it arrives (ServeHTTP) and told how it ended where its answer is written
// (answer.go). Every method here is called only when the server has a tracer, or does nothing without one.

// startSpan starts the request's server span, continuing the caller's trace, and returns the request with the
// span in its context.
func (s *Server) startSpan(r *http.Request) (*http.Request, trace.Span) {
	ctx, span := tracing.StartServer(s.tracer, r)
	return r.WithContext(ctx), span
}

// traceStatus records the answer's status on the request's span.
func (s *Server) traceStatus(ctx context.Context, status int) {
	if s.tracer == nil {
		return
	}
	tracing.EndHTTP(trace.SpanFromContext(ctx), status, false)
}

// traceRefusal records a stage's refusal: its status and error code, which names the reason without the
// request's values.
func (s *Server) traceRefusal(ctx context.Context, refused *refusal) {
	if s.tracer == nil {
		return
	}
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(tracing.Refusal.String(refused.code))
	tracing.EndHTTP(span, refused.status, false)
}

// traceOutcome records what the endpoint answered: the status, the route, and why a fallback was answered.
func (s *Server) traceOutcome(ctx context.Context, outcome *endpoint.Outcome) {
	if s.tracer == nil {
		return
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if outcome.Route != "" {
		span.SetAttributes(tracing.Route.String(outcome.Route))
	}
	if outcome.Fallback != "" {
		span.SetAttributes(tracing.FallbackReason.String(outcome.Fallback))
	}
	if outcome.ActionError != "" {
		span.SetAttributes(tracing.Refusal.String(outcome.ActionError))
	}
	if outcome.EventID != "" {
		span.SetAttributes(tracing.EventID.String(outcome.EventID))
	}
	if outcome.Replayed {
		span.SetAttributes(tracing.Idempotency.String("replayed"))
	}
	tracing.EndHTTP(span, outcome.Status, false)
}

// startDeliverySpan starts the span of one attempt at a queued event, in the trace of the request that queued
// it (the traceparent the queue kept).
func (s *Server) startDeliverySpan(ctx context.Context, name string, attempt int, eventID string, header http.Header) (context.Context, trace.Span) {
	ctx = tracing.Extract(ctx, header)
	return s.tracer.Start(ctx, "deliver "+name, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		tracing.Endpoint.String(name), tracing.Delivery.String(deliveryAsync), tracing.EventID.String(eventID),
		tracing.Attempt.Int(attempt)))
}

// endDeliverySpan records how an attempt at a queued event ended.
func endDeliverySpan(span trace.Span, outcome *endpoint.Outcome, err error) {
	if outcome != nil {
		if outcome.Route != "" {
			span.SetAttributes(tracing.Route.String(outcome.Route))
		}
		if outcome.Fallback != "" {
			span.SetAttributes(tracing.FallbackReason.String(outcome.Fallback))
		}
		if outcome.Status != 0 {
			span.SetAttributes(tracing.HTTPResponseStatus.Int(outcome.Status))
		}
	}
	if err != nil {
		errorType := "error"
		if outcome != nil && outcome.Status != 0 {
			errorType = strconv.Itoa(outcome.Status)
		}
		span.SetAttributes(tracing.ErrorType.String(errorType))
		span.SetStatus(codes.Error, "the attempt failed; the event is retried or kept as a dead letter")
	}
	span.End()
}

// traceQueued gives an event the traceparent of the request that queued it, so that its delivery continues
// that trace; the request's own header is left as it was.
func (s *Server) traceQueued(ctx context.Context, header http.Header) http.Header {
	if s.tracer == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return header
	}
	header = header.Clone()
	if header == nil {
		header = http.Header{}
	}
	tracing.Inject(ctx, header)
	return header
}
