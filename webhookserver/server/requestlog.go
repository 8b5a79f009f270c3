package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/action"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/logging"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/route"
)

// Outcomes of a request, in its log line's outcome field.
const (
	outcomeAnswered = "answered" // a route answered
	outcomeFallback = "fallback" // a fallback (or an empty answer) was answered; fallback says why
	outcomeError    = "error"    // an error answer (4xx, 5xx); error says why
	outcomeReplayed = "replayed" // a repeated request got the first answer (idempotency)
	outcomeQueued   = "queued"   // an Async endpoint stored the event (202)
)

// noRouteName is the route field of a request no route matched. No IntentRoute can have this name: Kubernetes
// names have no underscore.
const noRouteName = "no_route"

// requestLog writes a request's log lines: the request's own attributes, then the line's. It lives on the
// stack: the attributes are in an array of their own rather than a slice.
type requestLog struct {
	logger *slog.Logger
	ctx    context.Context
	attrs  [4]slog.Attr
	n      int
}

func (l *requestLog) add(attr slog.Attr) {
	l.attrs[l.n] = attr
	l.n++
}

// log writes one line when level is enabled; when it is not, nothing is formatted or allocated.
func (l *requestLog) log(level slog.Level, msg string, attrs ...slog.Attr) {
	if !l.logger.Enabled(l.ctx, level) {
		return
	}
	var room [28]slog.Attr
	l.write(time.Now(), level, msg, append(append(room[:0], l.attrs[:l.n]...), attrs...))
}

// write writes a line of all (the request's attributes, then the line's) at t; the caller has checked that
// level is enabled.
func (l *requestLog) write(t time.Time, level slog.Level, msg string, all []slog.Attr) {
	if h, ok := l.logger.Handler().(*logging.JSONHandler); ok {
		// The binary's handler takes the attributes as they are: no record, no copy to the heap.
		h.HandleAttrs(l.ctx, t, level, msg, all)
		return
	}
	l.logger.LogAttrs(l.ctx, level, msg, all...)
}

// answered logs a fulfilled request that ended at end: at debug, first what the end user said and how it was
// matched; then, at info (warn for a failure to look at), what arrived, the route, the outcome and why.
func (l *requestLog) answered(outcome *endpoint.Outcome, end time.Time, duration time.Duration) {
	if outcome.Request != nil && l.logger.Enabled(l.ctx, slog.LevelDebug) {
		var room [6]slog.Attr
		l.log(slog.LevelDebug, "request detail", detailAttrs(room[:0], outcome)...)
	}
	level := outcomeLevel(outcome)
	if !l.logger.Enabled(l.ctx, level) {
		return
	}
	var room [28]slog.Attr // the request's attributes and the line's, copied once
	attrs := outcomeAttrs(append(room[:0], l.attrs[:l.n]...), outcome)
	attrs = append(attrs, slog.Float64("durationMs", float64(duration.Microseconds())/1000))
	l.write(end, level, "request answered", attrs)
}

// outcomeLevel is warn for what someone should look at (an upstream failure, a deadline, a fallback that could
// not render, a 5xx), info otherwise: a caller that went away before its answer is the caller's doing.
func outcomeLevel(outcome *endpoint.Outcome) slog.Level {
	switch {
	case outcome.Fallback == endpoint.FallbackCanceled:
		return slog.LevelInfo
	case outcome.FallbackError != nil:
		return slog.LevelWarn
	case outcome.Err != nil && (outcome.Status >= 500 || outcome.Fallback != "" || outcome.ActionError != ""):
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// outcomeAttrs appends what a request's info line says: what arrived (never what the end user said), the
// route, the outcome and its reason.
func outcomeAttrs(attrs []slog.Attr, outcome *endpoint.Outcome) []slog.Attr {
	attrs = requestAttrs(attrs, outcome.Request)
	attrs = append(attrs, slog.Int("status", outcome.Status), slog.String("outcome", outcomeOf(outcome)),
		slog.String("route", routeOf(outcome)))
	if outcome.EventID != "" {
		attrs = append(attrs, slog.String("eventId", outcome.EventID))
	}
	if outcome.Fallback != "" {
		attrs = append(attrs, slog.String("fallback", outcome.Fallback))
	}
	if outcome.ActionError != "" {
		attrs = append(attrs, slog.String("actionError", outcome.ActionError))
	}
	if outcome.Err != nil {
		attrs = append(attrs, slog.String("error", outcome.Err.Error()))
	}
	if outcome.FallbackError != nil {
		attrs = append(attrs, slog.String("fallbackError", outcome.FallbackError.Error()))
	}
	if outcome.Upstream {
		attrs = append(attrs, slog.String("upstream", outcome.UpstreamOutcome),
			slog.Float64("upstreamMs", float64(outcome.UpstreamDuration.Microseconds())/1000))
	}
	switch {
	case outcome.Replayed:
		attrs = append(attrs, slog.Bool("replayed", true))
	case outcome.IdempotencyError != nil:
		attrs = append(attrs, slog.String("idempotencyError", outcome.IdempotencyError.Error()))
	}
	return attrs
}

// requestAttrs appends what identifies a decoded request, each only when the platform sent it: the dialect,
// what routes match on, the platform's id of the delivery and the conversation.
func requestAttrs(attrs []slog.Attr, request *model.Request) []slog.Attr {
	if request == nil {
		return attrs
	}
	attrs = append(attrs, slog.String("dialect", request.Dialect))
	for _, field := range [...]struct{ key, value string }{
		{"intent", request.Intent}, {"action", request.Action}, {"tag", request.Tag}, {"event", request.Event},
		{"environment", request.Environment}, {"version", request.Version},
		{"deliveryId", request.DeliveryID}, {"session", request.Session},
	} {
		if field.value != "" {
			attrs = append(attrs, slog.String(field.key, field.value))
		}
	}
	return attrs
}

func outcomeOf(outcome *endpoint.Outcome) string {
	switch {
	case outcome.Replayed:
		return outcomeReplayed
	case outcome.Status == http.StatusAccepted && outcome.EventID != "":
		return outcomeQueued
	case outcome.Status >= 400:
		return outcomeError
	case outcome.Fallback != "":
		return outcomeFallback
	}
	return outcomeAnswered
}

// routeOf is the route that answered, no_route when none matched, or "" when matching did not happen (a
// malformed request, a replay, a queued event).
func routeOf(outcome *endpoint.Outcome) string {
	if outcome.NoRoute {
		return noRouteName
	}
	return outcome.Route
}

// detailAttrs appends what only a debug line says, since it is the end user's personal data or the
// upstream's words about it: the text and parameters, the match decisions, and a failing upstream's answer.
func detailAttrs(attrs []slog.Attr, outcome *endpoint.Outcome) []slog.Attr {
	request := outcome.Request
	attrs = append(attrs, slog.String("text", request.Text), slog.String("parameters", parametersJSON(request.Parameters)))
	if outcome.Match != nil || outcome.NoRoute {
		attrs = append(attrs, slog.Any("match", matchLines(outcome.Match)))
	}
	var failure *action.Failure
	if errors.As(outcome.Err, &failure) && failure.Answer != "" {
		attrs = append(attrs, slog.String("upstreamAnswer", failure.Answer))
	}
	return attrs
}

// parametersJSON writes the parameters as JSON text: one attribute whatever the log format.
func parametersJSON(parameters map[string]any) string {
	if len(parameters) == 0 {
		return "{}"
	}
	text, err := json.Marshal(parameters)
	if err != nil {
		return "(not JSON: " + err.Error() + ")"
	}
	return string(text)
}

// matchLines explains the match decisions, one line per route considered, in the order they were considered.
func matchLines(decisions []route.Decision) []string {
	if len(decisions) == 0 {
		return []string{"no route lists this request's intent, action, tag or event (nor matches on a guard alone)"}
	}
	lines := make([]string, len(decisions))
	for i, d := range decisions {
		switch {
		case d.Matched:
			lines[i] = d.Route + ": matched"
		case d.GuardErr != nil:
			lines[i] = d.Route + ": guard failed, counted as false: " + d.GuardErr.Error()
		default:
			lines[i] = d.Route + ": guard false"
		}
	}
	return lines
}
