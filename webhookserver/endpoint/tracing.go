package endpoint

import (
	"context"
	"errors"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/action"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tracing"
)

// The trace* methods run a stage of Fulfill in a child span of the request's, when the request is recorded
// (tracing.Stage); otherwise they are the stage itself. A span names the stage and what it decided (the route,
// the fallback's reason), never a value the request carried.

func (e *Endpoint) traceDeduplicate(ctx context.Context, f *fulfillment) *Outcome {
	if e.idempotency == nil {
		return nil
	}
	ctx, span := tracing.Stage(ctx, tracing.StageIdempotency)
	defer span.End()
	answered := e.deduplicate(ctx, f)
	if span.IsRecording() {
		switch {
		case answered != nil && answered.Replayed:
			span.SetAttributes(tracing.Idempotency.String("replayed"))
		case answered != nil:
			span.SetAttributes(tracing.Idempotency.String("refused"))
		case f.claim != nil:
			span.SetAttributes(tracing.Idempotency.String("new"))
		case f.idempotencyError != nil:
			span.SetAttributes(tracing.Idempotency.String("store_failed"))
		default:
			span.SetAttributes(tracing.Idempotency.String("no_key"))
		}
	}
	return answered
}

func (e *Endpoint) traceMatch(ctx context.Context, f *fulfillment) matched {
	ctx, span := tracing.Stage(ctx, tracing.StageMatch)
	defer span.End()
	m := e.match(ctx, f)
	if m.rule != nil && span.IsRecording() {
		span.SetAttributes(tracing.Route.String(m.rule.Name))
	}
	return m
}

func (e *Endpoint) traceAct(ctx context.Context, f *fulfillment, compiled *compiledRoute) acted {
	ctx, span := tracing.Stage(ctx, tracing.StageAction)
	defer span.End()
	done := e.act(ctx, f, compiled)
	if done.err != nil && span.IsRecording() {
		reason := "error"
		var failure *action.Failure
		if errors.As(done.err, &failure) {
			reason = failure.Reason
		}
		span.SetAttributes(tracing.ErrorType.String(reason))
	}
	return done
}

func (e *Endpoint) traceEncode(ctx context.Context, f *fulfillment, m matched, done acted) *Outcome {
	ctx, span := tracing.Stage(ctx, tracing.StageEncode)
	defer span.End()
	outcome := e.encode(ctx, f, m, done)
	if outcome.Fallback != "" && span.IsRecording() {
		span.SetAttributes(tracing.FallbackReason.String(outcome.Fallback))
	}
	return outcome
}
