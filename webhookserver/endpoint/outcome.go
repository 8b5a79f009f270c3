package endpoint

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/route"
)

// Fallback reasons, in the Fulfillment-Fallback header and the fallbacks metric.
const (
	FallbackNoRoute       = "no_route"
	FallbackActionFailed  = "action_failed"
	FallbackDeadline      = "deadline"
	FallbackAnswerInvalid = "answer_invalid"
	// FallbackCanceled is a request whose caller went away (closed the connection) before the answer, or an
	// event whose delivery the server's shutdown stopped: no one waited for a deadline.
	FallbackCanceled = "canceled"
)

// FallbackHeader tells the caller (and anyone debugging) that the answer is a fallback, and why.
const FallbackHeader = "Fulfillment-Fallback"

// ReplayedHeader marks an answer replayed from the idempotency store.
const ReplayedHeader = "Idempotent-Replayed"

// Outcome is the HTTP answer to one request and what happened, for metrics and logs. Its headers are made from
// what it records (WriteHeaders), so that no outcome shares a header map another could change.
type Outcome struct {
	Status int
	Body   []byte

	// header, when it is not nil, is the header of an answer not encoded here, this outcome's own: a backend's
	// answer forwarded unchanged, or its replay. nil is Content-Type: application/json, the type of every answer
	// encoded here.
	header http.Header
	// retryAfter is the Retry-After of a refusal that may succeed later, in seconds; 0 for none.
	retryAfter int

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

// WriteHeaders writes the outcome's headers into header (an http.ResponseWriter's): its Content-Type, a
// forwarded answer's own headers, why it is a fallback, that it is replayed, when to retry.
func (o *Outcome) WriteHeaders(header http.Header) {
	for name, values := range o.header {
		header[name] = values
	}
	if o.header == nil {
		header["Content-Type"] = jsonContentType
	}
	if o.Fallback != "" {
		header[FallbackHeader] = valuesOf(o.Fallback, fallbackReasons[o.Fallback])
	}
	if o.Replayed {
		header[ReplayedHeader] = replayedTrue
	}
	if o.retryAfter > 0 {
		header["Retry-After"] = []string{strconv.Itoa(o.retryAfter)}
	}
}

// contentType is the outcome's Content-Type, as WriteHeaders writes it.
func (o *Outcome) contentType() string {
	if o.header != nil {
		return o.header.Get("Content-Type")
	}
	return "application/json"
}

// The header values most answers carry, made once, since a slice per answer would be an allocation on every
// request. They are shared by the responses they are written to: http.Header's Set replaces a value and Add
// appends to a full slice, which copies it, so only an assignment to an element could change them.
var (
	jsonContentType = []string{"application/json"}
	replayedTrue    = []string{"true"}
	fallbackReasons = map[string][]string{
		FallbackNoRoute: {FallbackNoRoute}, FallbackActionFailed: {FallbackActionFailed},
		FallbackDeadline: {FallbackDeadline}, FallbackAnswerInvalid: {FallbackAnswerInvalid},
	}
)

// valuesOf is shared when it holds value, else a new slice of value; "" is shared.
func valuesOf(value string, shared []string) []string {
	if value == "" || (len(shared) == 1 && shared[0] == value) {
		return shared
	}
	return []string{value}
}

// Header is the outcome's headers in a new map, for tests and tools; the server writes them with WriteHeaders.
func (o *Outcome) Header() http.Header {
	header := http.Header{}
	o.WriteHeaders(header)
	return header
}

// ErrorBody is the server's JSON error: {"error":{"code":...,"message":...}}.
func ErrorBody(code, message string) []byte {
	body, _ := json.Marshal(map[string]map[string]string{"error": {"code": code, "message": message}})
	return body
}
