package endpoint

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/action"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/idempotency"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/route"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tracing"
)

// Fulfill answers one authenticated request before the endpoint's deadline. It runs the stages in order, each
// a method of its own, tested alone:
//
//	decode       the dialect reads the request (400 or 415 when it cannot)
//	deduplicate  a request whose idempotency key was answered gets that answer again (idempotency.go)
//	match        the route table picks the route, or the dialect's no-route answer is given
//	act          the route's action runs, under the deadline
//	encode       the dialect writes the action's answer, or the fallback when the action failed (fallback.go)
//	remember     the answer is kept for the request's duplicates (idempotency.go)
//
// An Async endpoint runs decode when it accepts a request (Accept) and all of them when its queue delivers it
// (Deliver). Logging and metrics are not stages: the server observes the Outcome.
func (e *Endpoint) Fulfill(ctx context.Context, in dialect.Input) *Outcome {
	_, span := tracing.Stage(ctx, tracing.StageDecode)
	decoded, refused := e.decode(in)
	span.End()
	if refused != nil {
		return refused
	}
	// The action gets the deadline minus a margin to encode and send the answer.
	ctx, cancel := withDeadline(ctx, time.Now().Add(e.Timeout-answerMargin(e.Timeout)))
	defer cancel()
	f := e.newFulfillment(in, decoded)
	if answered := e.traceDeduplicate(ctx, &f); answered != nil {
		return answered
	}
	var outcome *Outcome
	if matched := e.traceMatch(ctx, &f); matched.route == nil {
		outcome = e.answerNoRoute(ctx, &f, matched)
	} else {
		outcome = e.traceEncode(ctx, &f, matched, e.traceAct(ctx, &f, matched.route))
	}
	e.remember(ctx, &f, outcome)
	return outcome
}

// fulfillment is one request on its way through the stages. It lives on Fulfill's stack: no stage keeps it.
type fulfillment struct {
	input   dialect.Input
	decoded dialect.Decoded
	request *model.Request
	// vars are what the route's expressions read of the request.
	vars *expr.Vars
	// idempotencyKey is the request's key, sent on to upstream calls; "" without one.
	idempotencyKey string
	// claim, once deduplicate took the key, is completed with the answer by remember.
	claim idempotency.Claim
	// idempotencyError is the store's failure, when the request is processed without it (failurePolicy Ignore).
	idempotencyError error
}

func (e *Endpoint) newFulfillment(in dialect.Input, decoded dialect.Decoded) fulfillment {
	request := decoded.Request()
	return fulfillment{input: in, decoded: decoded, request: request,
		vars: &expr.Vars{Request: request, Endpoint: expr.Endpoint{Name: e.Name, Namespace: e.Namespace}}}
}

// decode is the decode stage: the dialect reads the request, or the error answer says why it cannot: 415 for a
// body format the dialect does not read, 400 for a malformed body.
func (e *Endpoint) decode(in dialect.Input) (dialect.Decoded, *Outcome) {
	decoded, err := e.codec.Decode(in)
	if err != nil {
		var unsupported *dialect.UnsupportedMediaTypeError
		if errors.As(err, &unsupported) {
			return nil, e.errorOutcome(in.Header, nil, http.StatusUnsupportedMediaType, "unsupported_media_type", err)
		}
		return nil, e.errorOutcome(in.Header, nil, http.StatusBadRequest, "malformed_request", err)
	}
	// The codec names its dialect (request.dialect); the method is set here rather than in each codec, so that
	// every dialect's routes read the same request.method.
	request := decoded.Request()
	request.Method = in.Method
	// After Method, which environmentFrom and versionFrom may read.
	e.deriveRequestFields(request)
	return decoded, nil
}

// maxFieldLen bounds a derived environment or version: a longer one is no value a route lists (those are at most
// 256 characters), and it would otherwise be copied into logs and upstream calls at the sender's will.
const maxFieldLen = 256

// deriveRequestFields applies the endpoint's environmentFrom and versionFrom over the dialect's defaults. An
// expression that fails or gives no string leaves the field empty, so that only routes without environments
// (versions) match, as a guard that fails is false. The expressions are bounded by the cost limits of every
// expression, so they need no deadline of the request's.
func (e *Endpoint) deriveRequestFields(request *model.Request) {
	if e.requestFields.Environment == nil && e.requestFields.Version == nil {
		request.Environment, request.Version = bounded(request.Environment), bounded(request.Version)
		return
	}
	vars := &expr.Vars{Request: request, Endpoint: expr.Endpoint{Name: e.Name, Namespace: e.Namespace}}
	// Both read the dialect's defaults, not each other's result.
	environment, version := request.Environment, request.Version
	if p := e.requestFields.Environment; p != nil {
		environment = evalString(p, vars)
	}
	if p := e.requestFields.Version; p != nil {
		version = evalString(p, vars)
	}
	request.Environment, request.Version = bounded(environment), bounded(version)
}

func evalString(p *expr.Program, vars *expr.Vars) string {
	value, err := p.Eval(context.Background(), vars)
	if s, ok := value.(string); ok && err == nil {
		return s
	}
	return ""
}

func bounded(value string) string {
	if len(value) > maxFieldLen {
		return ""
	}
	return value
}

// matched is what the match stage found: the route, or none, and the decisions that led there (Options.Explain).
type matched struct {
	rule      *route.Rule
	route     *compiledRoute
	decisions []route.Decision
}

// match is the match stage: the first route of the table whose match the request meets.
func (e *Endpoint) match(ctx context.Context, f *fulfillment) matched {
	var trace *matchTrace
	var observe func(route.Decision)
	if e.explain {
		trace = &matchTrace{}
		observe = trace.observe
	}
	request := f.request
	rule, compiled, ok := e.routes.Match(ctx, route.Request{Intent: request.Intent, Action: request.Action, Tag: request.Tag, Event: request.Event,
		Environment: request.Environment, Version: request.Version}, f.vars, observe)
	if !ok {
		return matched{decisions: trace.list()}
	}
	return matched{rule: rule, route: compiled, decisions: trace.list()}
}

// answerNoRoute answers a request no route matches: the dialect's refusal (Rasa's 404), else the fallback.
func (e *Endpoint) answerNoRoute(ctx context.Context, f *fulfillment, m matched) *Outcome {
	var outcome *Outcome
	if e.rules.noRoute != nil {
		refusal := e.rules.noRoute.RefuseNoRoute(f.request)
		outcome = e.errorOutcome(f.input.Header, f.request, refusal.Status, refusal.Code, errors.New(refusal.Message))
	} else {
		outcome = e.fallbackOutcome(ctx, f, nil, FallbackNoRoute, nil)
	}
	outcome.NoRoute, outcome.Match = true, m.decisions
	return outcome
}

// acted is what the act stage did: the action's result or error, and its upstream's outcome and time.
type acted struct {
	result           *action.Result
	err              error
	upstream         bool
	upstreamOutcome  string
	upstreamDuration time.Duration
}

// act is the act stage: the route's action runs on the request.
func (e *Endpoint) act(ctx context.Context, f *fulfillment, compiled *compiledRoute) acted {
	start := time.Now()
	result, err := compiled.action.Run(ctx, &action.Invocation{Vars: f.vars, Input: f.input, IdempotencyKey: f.idempotencyKey})
	done := acted{result: result, err: err}
	if compiled.upstream {
		done.upstream, done.upstreamDuration, done.upstreamOutcome = true, time.Since(start), "ok"
		var failure *action.Failure
		if errors.As(err, &failure) {
			done.upstreamOutcome = failure.Reason
		} else if err != nil {
			done.upstreamOutcome = "error"
		}
	}
	return done
}

// encode is the encode stage: the action's answer in the dialect's format, or the fallback when the action
// failed or its answer cannot be sent.
func (e *Endpoint) encode(ctx context.Context, f *fulfillment, m matched, done acted) *Outcome {
	var outcome *Outcome
	if done.err != nil {
		reason := FallbackActionFailed
		var failure *action.Failure
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
			reason = FallbackCanceled
		case ctx.Err() != nil || (errors.As(done.err, &failure) && failure.Reason == "deadline"):
			reason = FallbackDeadline
		}
		outcome = e.fallbackOutcome(ctx, f, m.route, reason, done.err)
	} else if outcome = e.answerOutcome(f, done.result); outcome.Err != nil {
		outcome = e.fallbackOutcome(ctx, f, m.route, FallbackAnswerInvalid, outcome.Err)
	}
	outcome.Route, outcome.Match = m.rule.Name, m.decisions
	outcome.Upstream, outcome.UpstreamOutcome, outcome.UpstreamDuration = done.upstream, done.upstreamOutcome, done.upstreamDuration
	return outcome
}

// answerOutcome is the action's answer: a backend's forwarded as it is, when the dialect's platform would take
// it, or the answer encoded by the dialect.
func (e *Endpoint) answerOutcome(f *fulfillment, result *action.Result) *Outcome {
	if raw := result.Raw; raw != nil {
		if e.rules.checkAnswer != nil {
			if err := e.rules.checkAnswer(raw.Body); err != nil {
				return &Outcome{Err: err, Request: f.request}
			}
		}
		header := raw.Header.Clone()
		if header == nil {
			header = http.Header{}
		}
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/json")
		}
		return &Outcome{Status: http.StatusOK, header: header, Body: raw.Body, Request: f.request}
	}
	body, err := f.decoded.Encode(result.Answer)
	if err != nil {
		return &Outcome{Err: err, Request: f.request}
	}
	return &Outcome{Status: http.StatusOK, header: answerHeader(f.decoded), Body: body, Request: f.request}
}

// answerHeader is the header of an answer decoded encoded: nil for JSON, else its Content-Type.
func answerHeader(decoded dialect.Decoded) http.Header {
	typer, ok := decoded.(dialect.ContentTyper)
	if !ok {
		return nil
	}
	return contentTypeHeader(typer.ContentType())
}

// contentTypeHeader is the header of an answer of contentType: nil for JSON, the default.
func contentTypeHeader(contentType string) http.Header {
	if contentType == "" || contentType == "application/json" {
		return nil
	}
	return http.Header{"Content-Type": {contentType}}
}

// answerMargin is kept from the deadline to encode and send the answer: a twentieth of it, between 10ms and
// 250ms.
func answerMargin(timeout time.Duration) time.Duration {
	return min(max(timeout/20, 10*time.Millisecond), 250*time.Millisecond)
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

// errorOutcome is an error answer to a request with header, in the dialect's error shape (Rasa's), in the
// caller's format (Generic's) or the server's JSON error.
func (e *Endpoint) errorOutcome(header http.Header, request *model.Request, status int, code string, err error) *Outcome {
	body, contentType := e.errorBody(header, request, status, code, err.Error())
	return &Outcome{Status: status, header: contentTypeHeader(contentType), Body: body, Err: err, Request: request}
}

// EncodeError is the body of an error answered before the request (with header) is decoded (a refused method,
// credential or size), and its Content-Type, in the endpoint's error shape, so that a platform reads every error
// of its endpoint the same way.
func (e *Endpoint) EncodeError(header http.Header, status int, code, message string) (body []byte, contentType string) {
	return e.errorBody(header, nil, status, code, message)
}

func (e *Endpoint) errorBody(header http.Header, request *model.Request, status int, code, message string) ([]byte, string) {
	if e.rules.negotiator != nil {
		return e.rules.negotiator.EncodeErrorFor(header, status, code, message)
	}
	if e.rules.errors != nil {
		return e.rules.errors.EncodeError(request, status, code, message), "application/json"
	}
	return ErrorBody(code, message), "application/json"
}

// ActionNames are the actions the routes handle (Rasa's GET /actions).
func (e *Endpoint) ActionNames() []string { return e.actionNames }

// RouteCount is the number of routes served.
func (e *Endpoint) RouteCount() int { return e.routes.Len() }
