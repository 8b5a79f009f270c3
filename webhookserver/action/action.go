// Package action runs what a route does: respond from templates, call an upstream API and map its answer, or
// forward the request to a backend that speaks the endpoint's dialect. Actions are compiled once, when the
// configuration loads, and run under the request's deadline (its context).
package action

import (
	"context"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Action is a compiled route action.
type Action interface {
	// Run performs the action. The context carries the deadline; an error means the action failed and the
	// fallback is answered.
	Run(ctx context.Context, inv *Invocation) (*Result, error)
}

// Invocation is what an action gets of a request.
type Invocation struct {
	// Vars are the request's values for expressions.
	Vars *expr.Vars
	// Input is the raw request, for forward.
	Input dialect.Input
	// IdempotencyKey is the request's idempotency key when the endpoint deduplicates, "" otherwise. A call
	// sends it to the upstream as Idempotency-Key: if the process dies after the upstream applied the call but
	// before the answer was stored, the retry carries the same key, so an upstream that honours the header
	// (Stripe and most payment APIs do) applies the effect once.
	IdempotencyKey string
}

// IdempotencyKeyHeader carries the idempotency key to upstreams (draft-ietf-httpapi-idempotency-key-header).
const IdempotencyKeyHeader = "Idempotency-Key"

// Result is what an action produced: an answer for the dialect to encode, or (forward) the backend's own
// response in the dialect, passed through.
type Result struct {
	Answer *model.Answer
	Raw    *RawResponse
}

// RawResponse is a backend's response passed through as it is.
type RawResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// Failure says why an action failed, as a reason code for metrics and the fallback header, without secrets.
type Failure struct {
	// Reason is a short code: upstream_status, upstream_unreachable, deadline, template, response_too_large...
	Reason string
	// Message explains, for logs; it never holds secret values.
	Message string
	// Err is the cause, if any.
	Err error
	// Answer is the start of what the upstream answered with a status that failed the action (at most
	// maxAnswerExcerpt bytes), or "". It is the upstream's own explanation, which may quote the request's
	// data: it goes to debug logs only, never into Error.
	Answer string
	// status is the upstream's HTTP status of an upstream_status failure, 0 otherwise.
	status int
	// retryable marks an upstream answer worth retrying (429, 502, 503, 504), which also counts against the
	// upstream's health.
	retryable bool
}

func (f *Failure) Error() string {
	if f.Err != nil {
		return fmt.Sprintf("%s: %s: %v", f.Reason, f.Message, f.Err)
	}
	return f.Reason + ": " + f.Message
}

func (f *Failure) Unwrap() error { return f.Err }

// maxAnswerExcerpt bounds Failure.Answer: enough for an API's error message, not a whole page.
const maxAnswerExcerpt = 1024

// answerExcerpt is the start of an upstream's answer, cut at a character boundary.
func answerExcerpt(body []byte) string {
	if len(body) <= maxAnswerExcerpt {
		return string(body)
	}
	cut := maxAnswerExcerpt
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return string(body[:cut]) + "…"
}
