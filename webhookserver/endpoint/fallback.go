package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/action"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// fallbackOutcome answers the fallback: the route's, else the endpoint's. A chatbot must say something, so a
// chatbot dialect answers 200 (with no fallback that renders, an empty answer lets the agent use its own static
// response). In a dialect that reports failures (dialect.FailureReporter), an action failure without a route
// fallback that renders is an error answer instead (actionErrorOutcome).
func (e *Endpoint) fallbackOutcome(ctx context.Context, f *fulfillment, matched *compiledRoute, reason string, cause error) *Outcome {
	// The fallback renders with what is left of the request's own time: its context may already be done.
	renderCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), answerMargin(e.Timeout))
	defer cancel()
	answer, renderErr := firstRendered(renderCtx, e.fallbacksFor(matched, reason), f.vars)
	if answer == nil && e.rules.reportsFailures && reason != FallbackNoRoute {
		outcome := e.actionErrorOutcome(f.input.Header, f.request, reason, cause)
		outcome.FallbackError = renderErr
		return outcome
	}
	if answer == nil {
		answer = &model.Answer{}
	}
	body, err := f.decoded.Encode(answer)
	if err != nil {
		body, _ = f.decoded.Encode(&model.Answer{})
	}
	return &Outcome{Status: http.StatusOK, header: answerHeader(f.decoded), Body: body, Fallback: reason, FallbackError: renderErr, Err: cause, Request: f.request}
}

// fallbacksFor are the fallbacks to try, in order: the route's, then the endpoint's. In a dialect that reports
// failures the endpoint's answers only a request no route matches: the sender retries the error answer of a
// failed action.
func (e *Endpoint) fallbacksFor(matched *compiledRoute, reason string) []*fallback {
	list := make([]*fallback, 0, 2)
	if matched != nil && matched.fallback != nil {
		list = append(list, matched.fallback)
	}
	if e.fallback != nil && (!e.rules.reportsFailures || reason == FallbackNoRoute) {
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

// actionErrorOutcome answers an action failure without a route fallback as an error, in a dialect that reports
// failures: 502 so that the sender retries, or 422 when the event lacks what the route's expressions read and
// sending it again cannot help.
func (e *Endpoint) actionErrorOutcome(header http.Header, request *model.Request, reason string, cause error) *Outcome {
	status, code, message := http.StatusBadGateway, "action_failed", "the route's action failed; retry later"
	var failure *action.Failure
	switch {
	case reason == FallbackDeadline:
		code = "deadline_exceeded"
	case errors.As(cause, &failure) && failure.Reason == "template":
		status, code, message = http.StatusUnprocessableEntity, "unprocessable_event",
			"the route cannot process this event: "+failure.Message
	}
	outcome := e.errorOutcome(header, request, status, code, errors.New(message))
	outcome.ActionError, outcome.Err = code, cause
	return outcome
}
