package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/action"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/idempotency"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/route"
)

// Fallback reasons, in the Fulfillment-Fallback header and the fallbacks metric.
const (
	FallbackNoRoute       = "no_route"
	FallbackActionFailed  = "action_failed"
	FallbackDeadline      = "deadline"
	FallbackAnswerInvalid = "answer_invalid"
)

// FallbackHeader tells the caller (and anyone debugging) that the answer is a fallback, and why.
const FallbackHeader = "Fulfillment-Fallback"

// Outcome is the HTTP answer to one request and what happened, for metrics and logs.
type Outcome struct {
	Status int
	// Header may be shared with other outcomes (jsonHeader): give an outcome a new map rather than
	// changing the one it has.
	Header http.Header
	Body   []byte

	// Route is the name of the matched route, or "".
	Route string
	// NoRoute is true when the request was matched against the routes and none matched.
	NoRoute bool
	// Match explains the matching, route by route, when the endpoint was compiled with Options.Explain.
	Match []route.Decision
	// Fallback is the fallback reason, or "" when the route answered.
	Fallback string
	// FallbackError says why a fallback could not render (it reads a value the request lacks), so that the
	// next one, or an empty answer, was answered instead.
	FallbackError error
	// ActionError is the error code of an action failure answered as an error rather than a fallback (Generic,
	// without a route fallback that renders: action_failed, deadline_exceeded, unprocessable_event), or "".
	ActionError string
	// Err is the cause of a failure, for logs. It never holds secret values.
	Err error
	// Request is the decoded request, when decoding succeeded.
	Request *model.Request
	// Upstream is true when the route's action called or forwarded to an upstream; UpstreamOutcome is "ok" or
	// the failure reason, UpstreamDuration the time it took, retries included.
	Upstream         bool
	UpstreamOutcome  string
	UpstreamDuration time.Duration
	// Replayed is true when the answer is a duplicate's stored answer.
	Replayed bool
	// EventID is the id of the event an Async endpoint queued (its 202), for the logs that follow it.
	EventID string
	// IdempotencyError is set when the idempotency store failed (the request was then refused or processed
	// without idempotency, per the failure policy).
	IdempotencyError error
}

// Fulfill answers one authenticated request before the endpoint's deadline: decode, match, act, encode. When
// the action fails or the deadline is near, the fallback is answered in time.
func (e *Endpoint) Fulfill(ctx context.Context, in dialect.Input) *Outcome {
	request, err := e.codec.Decode(in)
	if err != nil {
		return e.decodeErrorOutcome(err)
	}
	request.Dialect = e.Dialect

	// The action gets the deadline minus a margin to encode and send the answer.
	ctx, cancel := withDeadline(ctx, time.Now().Add(e.Timeout-answerMargin(e.Timeout)))
	defer cancel()
	vars := &expr.Vars{Request: request, Endpoint: expr.Endpoint{Name: e.Name, Namespace: e.Namespace}}
	if e.dedup == nil {
		return e.process(ctx, in, request, vars, "")
	}
	return e.processOnce(ctx, in, request, vars)
}

// processOnce processes a request once per idempotency key: a duplicate gets the first one's answer.
func (e *Endpoint) processOnce(ctx context.Context, in dialect.Input, request *model.Request, vars *expr.Vars) *Outcome {
	key, err := e.dedup.keyFor(ctx, request, vars)
	if err != nil {
		return e.errorOutcome(request, http.StatusBadRequest, "invalid_idempotency_key",
			errors.New("the idempotency key expression failed on this request"))
	}
	if key == "" {
		return e.process(ctx, in, request, vars, "") // nothing identifies a duplicate
	}
	stored, claim, err := e.dedup.store.Begin(ctx, key)
	switch {
	case errors.Is(err, idempotency.ErrUnavailable):
		if e.dedup.failOpen {
			outcome := e.process(ctx, in, request, vars, key)
			outcome.IdempotencyError = err
			return outcome
		}
		outcome := e.errorOutcome(request, http.StatusServiceUnavailable, "idempotency_unavailable",
			errors.New("the idempotency store is unavailable; retry later"))
		outcome.Header = headerWith(outcome.Header, "Retry-After", "5")
		outcome.IdempotencyError = err
		return outcome
	case err != nil:
		outcome := e.errorOutcome(request, http.StatusConflict, "in_progress",
			errors.New("a request with this idempotency key is still being processed; retry later"))
		outcome.Header = headerWith(outcome.Header, "Retry-After", "1")
		return outcome
	case stored != nil:
		return replayOutcome(stored, request)
	}
	outcome := e.process(ctx, in, request, vars, key)
	if worthStoring(outcome) {
		if err := claim.Complete(ctx, storedAnswer(outcome)); err != nil {
			outcome.IdempotencyError = err // the answer is still sent; a duplicate may be processed again
		}
	} else {
		claim.Release(ctx)
	}
	return outcome
}

// process matches the request and runs the route's action; idempotencyKey goes on to upstream calls.
func (e *Endpoint) process(ctx context.Context, in dialect.Input, request *model.Request, vars *expr.Vars, idempotencyKey string) *Outcome {
	var trace *matchTrace
	var observe func(route.Decision)
	if e.explain {
		trace = &matchTrace{}
		observe = trace.observe
	}
	rule, matched, ok := e.routes.Match(ctx, route.Request{Intent: request.Intent, Action: request.Action, Tag: request.Tag, Event: request.Event}, vars, observe)
	if !ok {
		var outcome *Outcome
		if e.Dialect == model.Rasa {
			// Rasa's own answer to an action the server does not know.
			outcome = e.errorOutcome(request, http.StatusNotFound, "unknown_action",
				errors.New("No registered action found for name '"+request.Action+"'."))
		} else {
			outcome = e.fallbackOutcome(ctx, request, nil, vars, FallbackNoRoute, nil)
		}
		outcome.NoRoute, outcome.Match = true, trace.list()
		return outcome
	}

	actionStart := time.Now()
	result, err := matched.action.Run(ctx, &action.Invocation{Vars: vars, Input: in, IdempotencyKey: idempotencyKey})
	outcome := e.actionOutcome(ctx, request, rule, matched, vars, result, err)
	outcome.Match = trace.list()
	if matched.upstream {
		outcome.Upstream, outcome.UpstreamDuration, outcome.UpstreamOutcome = true, time.Since(actionStart), "ok"
		var failure *action.Failure
		if errors.As(err, &failure) {
			outcome.UpstreamOutcome = failure.Reason
		} else if err != nil {
			outcome.UpstreamOutcome = "error"
		}
	}
	return outcome
}

// actionOutcome turns an action's result or error into the answer.
func (e *Endpoint) actionOutcome(ctx context.Context, request *model.Request, rule *route.Rule, matched *compiledRoute, vars *expr.Vars, result *action.Result, err error) *Outcome {
	if err != nil {
		reason := FallbackActionFailed
		var failure *action.Failure
		if ctx.Err() != nil || (errors.As(err, &failure) && failure.Reason == "deadline") {
			reason = FallbackDeadline
		}
		outcome := e.fallbackOutcome(ctx, request, matched, vars, reason, err)
		outcome.Route = rule.Name
		return outcome
	}
	outcome := e.answerOutcome(request, result)
	if outcome.Err != nil {
		outcome = e.fallbackOutcome(ctx, request, matched, vars, FallbackAnswerInvalid, outcome.Err)
	}
	outcome.Route = rule.Name
	return outcome
}

// decodeErrorOutcome is 415 for a body format the dialect does not read, 400 for a malformed body.
func (e *Endpoint) decodeErrorOutcome(err error) *Outcome {
	var unsupported *dialect.UnsupportedMediaTypeError
	if errors.As(err, &unsupported) {
		return e.errorOutcome(nil, http.StatusUnsupportedMediaType, "unsupported_media_type", err)
	}
	return e.errorOutcome(nil, http.StatusBadRequest, "malformed_request", err)
}

// answerMargin is kept from the deadline to encode and send the answer: 5% of it, between 10ms and 250ms.
func answerMargin(timeout time.Duration) time.Duration {
	return min(max(timeout/20, 10*time.Millisecond), 250*time.Millisecond)
}

// answerOutcome encodes an action's result.
func (e *Endpoint) answerOutcome(request *model.Request, result *action.Result) *Outcome {
	if raw := result.Raw; raw != nil {
		if e.isDialogflow() {
			if err := dialect.CheckDialogflowSize(raw.Body); err != nil {
				return &Outcome{Err: err, Request: request}
			}
		}
		header := raw.Header.Clone()
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/json")
		}
		return &Outcome{Status: http.StatusOK, Header: header, Body: raw.Body, Request: request}
	}
	body, err := e.codec.Encode(request, result.Answer)
	if err != nil {
		return &Outcome{Err: err, Request: request}
	}
	return &Outcome{Status: http.StatusOK, Header: jsonHeader, Body: body, Request: request}
}

// jsonHeader is the header of every answer the server encodes, shared by their outcomes: a map per answer was
// 5% of the bytes a Dialogflow request allocates. Nothing changes it (see Outcome.Header).
var jsonHeader = http.Header{"Content-Type": {"application/json"}}

// fallbackOutcome answers the fallback: the route's, else the endpoint's. A chatbot must say something, so the
// chatbot dialects answer 200 (with no fallback that renders, an empty answer lets the agent use its own static
// response). A Generic sender retries an error, so there an action failure without a route fallback that renders
// is 502 (422 when the event lacks what the route reads).
func (e *Endpoint) fallbackOutcome(ctx context.Context, request *model.Request, matched *compiledRoute, vars *expr.Vars, reason string, cause error) *Outcome {
	// The fallback renders with what is left of the request's own time: its context may already be done.
	renderCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), answerMargin(e.Timeout))
	defer cancel()
	answer, renderErr := firstRendered(renderCtx, e.fallbacksFor(matched, reason), vars)
	if answer == nil && e.Dialect == model.Generic && reason != FallbackNoRoute {
		outcome := e.actionErrorOutcome(request, reason, cause)
		outcome.FallbackError = renderErr
		return outcome
	}
	if answer == nil {
		answer = &model.Answer{}
	}
	body, err := e.codec.Encode(request, answer)
	if err != nil {
		body, _ = e.codec.Encode(request, &model.Answer{})
	}
	return &Outcome{Status: http.StatusOK, Header: headerWith(jsonHeader, FallbackHeader, reason), Body: body,
		Fallback: reason, FallbackError: renderErr, Err: cause, Request: request}
}

// fallbacksFor are the fallbacks to try, in order: the route's, then the endpoint's. In Generic the endpoint's
// answers only a request no route matches: a sender retries the error answer of a failed action.
func (e *Endpoint) fallbacksFor(matched *compiledRoute, reason string) []*fallback {
	list := make([]*fallback, 0, 2)
	if matched != nil && matched.fallback != nil {
		list = append(list, matched.fallback)
	}
	if e.fallback != nil && (e.Dialect != model.Generic || reason == FallbackNoRoute) {
		list = append(list, e.fallback)
	}
	return list
}

// firstRendered is the answer of the first fallback that renders whole, or nil; the error says why those before
// it did not. A fallback that fails is never answered in part nor as its source: the end user would read
// "your ${params.account} balance", or "your  balance", and a team writes its endpoint's fallback to be said
// whenever nothing better can be.
func firstRendered(ctx context.Context, list []*fallback, vars *expr.Vars) (*model.Answer, error) {
	var failures []string
	for _, fb := range list {
		answer, err := fb.render(ctx, vars)
		if err == nil {
			return answer, joinedError(failures)
		}
		failures = append(failures, err.Error())
	}
	return nil, joinedError(failures)
}

// joinedError is one error of one line that lists failures, or nil when there is none.
func joinedError(failures []string) error {
	if len(failures) == 0 {
		return nil
	}
	return errors.New(strings.Join(failures, "; "))
}

// render renders the whole fallback, or says which part failed.
func (f *fallback) render(ctx context.Context, vars *expr.Vars) (*model.Answer, error) {
	answer := &model.Answer{}
	if f.text != nil {
		text, err := f.text.Render(ctx, vars)
		if err != nil {
			return nil, fmt.Errorf("%s.text: %w", f.field, err)
		}
		answer.Text = text
	}
	if f.payload != nil {
		value, err := f.payload.Render(ctx, vars)
		if err != nil {
			return nil, fmt.Errorf("%s.payload: %w", f.field, err)
		}
		answer.Payload, _ = value.(map[string]any)
	}
	return answer, nil
}

// matchTrace records the match decisions of one request, for Options.Explain.
type matchTrace struct{ decisions []route.Decision }

func (t *matchTrace) observe(d route.Decision) { t.decisions = append(t.decisions, d) }

// list is the decisions, nil without a trace.
func (t *matchTrace) list() []route.Decision {
	if t == nil {
		return nil
	}
	return t.decisions
}

// actionErrorOutcome answers a Generic action failure without a route fallback as an error: 502 so that the
// sender retries, or 422 when the event lacks what the route's expressions read and sending it again cannot help.
func (e *Endpoint) actionErrorOutcome(request *model.Request, reason string, cause error) *Outcome {
	status, code, message := http.StatusBadGateway, "action_failed", "the route's action failed; retry later"
	var failure *action.Failure
	switch {
	case reason == FallbackDeadline:
		code = "deadline_exceeded"
	case errors.As(cause, &failure) && failure.Reason == "template":
		status, code, message = http.StatusUnprocessableEntity, "unprocessable_event",
			"the route cannot process this event: "+failure.Message
	}
	outcome := e.errorOutcome(request, status, code, errors.New(message))
	outcome.ActionError, outcome.Err = code, cause
	return outcome
}

// errorOutcome is an error answer in the dialect's error shape (Rasa's) or the server's JSON error.
func (e *Endpoint) errorOutcome(request *model.Request, status int, code string, err error) *Outcome {
	return &Outcome{Status: status, Header: jsonHeader, Body: e.errorBody(request, status, code, err.Error()), Err: err, Request: request}
}

// EncodeError is the body of an error answered before the request is decoded (a refused method, credential or
// size), in the endpoint's error shape, so that a platform reads every error of its endpoint the same way.
func (e *Endpoint) EncodeError(status int, code, message string) []byte {
	return e.errorBody(nil, status, code, message)
}

func (e *Endpoint) errorBody(request *model.Request, status int, code, message string) []byte {
	if encoder, ok := e.codec.(dialect.ErrorEncoder); ok {
		return encoder.EncodeError(request, status, code, message)
	}
	return ErrorBody(code, message)
}

// ErrorBody is the server's JSON error: {"error":{"code":...,"message":...}}.
func ErrorBody(code, message string) []byte {
	body, _ := json.Marshal(map[string]map[string]string{"error": {"code": code, "message": message}})
	return body
}

func (e *Endpoint) isDialogflow() bool {
	return e.Dialect == model.DialogflowES || e.Dialect == model.DialogflowCX
}

// ActionNames are the actions the routes handle (Rasa's GET /actions).
func (e *Endpoint) ActionNames() []string { return e.actionNames }

// RouteCount is the number of routes served.
func (e *Endpoint) RouteCount() int { return e.routes.Len() }

// headerWith is header with name set to value, in a new map (Outcome.Header may be shared).
func headerWith(header http.Header, name, value string) http.Header {
	with := header.Clone()
	with.Set(name, value)
	return with
}
