// Package dialect decodes each platform's request format into one model.Request and encodes a model.Answer
// back into the platform's response format. Subpackages es, cx, rasa and generic hold one dialect each.
package dialect

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Input is the raw HTTP request a dialect decodes. The body is already read (and size-limited) by the server.
type Input struct {
	Method string
	Header http.Header
	Query  url.Values
	// Body is never modified nor reused once read, for as long as anything decoded from it lives: the JSON
	// dialects' decoded strings (every model.Request field, the values of its Body) are views of this buffer, not
	// copies (wire.DecodeEnvelope), and they outlive the request when an answer is kept for idempotency or an
	// event is queued. Whoever builds an Input gives it a slice of its own, never a pooled buffer.
	Body []byte
}

// Codec is one dialect.
type Codec interface {
	// Decode turns the raw request into a Decoded request. A malformed request gives a *DecodeError, a body in a
	// format the dialect does not read an *UnsupportedMediaTypeError.
	Decode(in Input) (Decoded, error)
}

// Decoded is one request a codec decoded: the model.Request every stage reads, and the dialect's own state of
// that request (what its answer needs from the body, as Dialogflow ES's session context), which only the
// dialect reads, so that the shared model carries nothing of one dialect's.
type Decoded interface {
	// Request is the request in the dialects' common form.
	Request() *model.Request
	// Encode turns an answer to the request into the dialect's response body (JSON). An answer the platform
	// would refuse (for example over 64 KiB for Dialogflow) gives a *EncodeError.
	Encode(answer *model.Answer) ([]byte, error)
}

// Settings are what a codec is made from beside its dialect.
type Settings struct {
	// SignedBy is the HMAC scheme (spec.auth.hmac.scheme) that verifies the signature of every request, or ""
	// when none does. Only then may a dialect believe a sender's own headers: anyone can set them otherwise.
	SignedBy string
}

// The optional interfaces below are a dialect's rules for the parts of fulfillment that differ between
// platforms. A codec that implements none gets the defaults each one names.

// ErrorEncoder is implemented by dialects that have their own error shape (Rasa); the others get the server's
// JSON error {"error":{"code":...,"message":...}}.
type ErrorEncoder interface {
	// EncodeError returns the body for an error answered with status. req may be nil when decoding failed.
	EncodeError(req *model.Request, status int, code, message string) []byte
}

// NoRouteRefuser is implemented by dialects whose platform expects an error for a request no route handles
// (Rasa: 404 unknown_action, after which it runs its own default). Without it, the fallback is answered.
type NoRouteRefuser interface {
	// RefuseNoRoute is the error answered to req when no route matches it.
	RefuseNoRoute(req *model.Request) Refusal
}

// Refusal is an error answer: its status, code and message, in the dialect's error shape.
type Refusal struct {
	Status        int
	Code, Message string
}

// FailureReporter is implemented by dialects whose senders retry an error answer and have no user waiting for
// words (Generic's event sources). There an action failure without a route fallback that renders is answered as
// an error (502, so that the sender retries; 422 when the event lacks what the route reads and sending it again
// cannot help), and the endpoint's fallback answers only a request no route matches. Without it, the dialect is
// a chatbot's, which must say something: a failure is answered 200 with a fallback or an empty answer.
type FailureReporter interface {
	// ReportsFailures is true when action failures are answered as errors.
	ReportsFailures() bool
}

// DefaultTimeouter is implemented by dialects whose platform waits a set time for the answer (Dialogflow: 5s),
// to give an endpoint without spec.timeout a deadline within it. Without it, the deadline is DefaultTimeout.
type DefaultTimeouter interface {
	DefaultTimeout() time.Duration
}

// DefaultTimeout is the deadline of an endpoint that sets none, in a dialect without a DefaultTimeouter.
const DefaultTimeout = 10 * time.Second

// AnswerChecker is implemented by dialects whose platform refuses some answers whole (Dialogflow: over 64 KiB),
// to check an answer the server did not encode: a backend's raw answer, forwarded unchanged. A refused answer is
// replaced by the fallback. Without it, every raw answer is sent.
type AnswerChecker interface {
	// CheckAnswer returns an *EncodeError for a body the platform would refuse.
	CheckAnswer(body []byte) error
}

// ExtraPather is implemented by dialects whose platform calls paths of its own next to the webhook's (Rasa's
// action server answers GET /health and GET /actions).
type ExtraPather interface {
	// ExtraPaths are the paths served next to webhookPath, the endpoint's path.
	ExtraPaths(webhookPath string) []ExtraPath
}

// ExtraPath is a GET path a dialect's platform calls beside the webhook.
type ExtraPath struct {
	Path string
	// Health is set for a health check: open to all, it answers whether the endpoint can serve now.
	Health bool
	// ListActions, for a path that is not a health check, is its answer: the body listing actions, the names
	// the endpoint's routes match. Such a path is authenticated as the webhook is, since it shows the routes.
	ListActions func(actions []string) []byte
}

// DecodeError says precisely what is wrong with a request; the server answers 400 with it.
type DecodeError struct {
	// Field is the JSON path of the offending field, e.g. "queryResult.intent.displayName"; empty for the body.
	Field string
	// Message says what is wrong and what is expected.
	Message string
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

// EncodeError is an answer the platform would refuse; the server answers the fallback or 500 with it.
type EncodeError struct {
	Message string
}

func (e *EncodeError) Error() string { return e.Message }

// ContentTyper is implemented by a Decoded request whose answer is not JSON (a Generic request sent as XML gets
// an XML answer). Without it, the Content-Type of an answer is application/json.
type ContentTyper interface {
	// ContentType is the Content-Type of the bodies Encode returns.
	ContentType() string
}

// ErrorNegotiator is implemented by dialects whose error answers follow the caller's format (Generic: XML to a
// caller that sent XML or accepts it). It is asked before ErrorEncoder, and for errors before decoding too.
type ErrorNegotiator interface {
	// EncodeErrorFor returns the body of the error answered with status to a request with header, and its
	// Content-Type.
	EncodeErrorFor(header http.Header, status int, code, message string) (body []byte, contentType string)
}

// Sample is a request of a dialect's platform to build for a test of an endpoint (webhookserver send): what
// selects the route, as IntentRoute spec.match names it, and what the route reads.
type Sample struct {
	// Intent, Action, Tag and Event select the route. A dialect refuses a selector its platform never sends.
	Intent, Action, Tag, Event string
	// Text is what the user said, where the platform sends it.
	Text string
	// Parameters are the session parameters (Rasa's slots).
	Parameters map[string]any
	// Environment is the Dialogflow environment of the session; Language its language code; Session the
	// session (Rasa's sender) id. Each is left to the dialect's default when empty.
	Environment, Language, Session string
	// Data, when set, is the JSON object a Generic request starts from, the sender's own payload.
	Data []byte
	// Now is when the request is made, for the timestamps it carries.
	Now time.Time
}

// SampleBuilder is implemented by dialects that build requests of their platform for tests (webhookserver send).
type SampleBuilder interface {
	// BuildSample returns the body of the request sample describes, as the platform would send it. A selector or
	// value the platform never sends is an error that says what to use instead.
	BuildSample(sample Sample) ([]byte, error)
}

// SampleID returns a new random id for a sample's request or session ids, prefixed with prefix.
func SampleID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Refuse returns an error naming the first of fields (intent, action, tag, event, text, environment, language,
// data) that the sample sets: platform's requests carry none; instead says what to do.
func (s Sample) Refuse(platform, instead string, fields ...string) error {
	values := map[string]string{"intent": s.Intent, "action": s.Action, "tag": s.Tag, "event": s.Event, "text": s.Text,
		"environment": s.Environment, "language": s.Language, "data": string(s.Data)}
	for _, field := range fields {
		if values[field] != "" {
			return fmt.Errorf("%s requests carry no %s: %s", platform, field, instead)
		}
	}
	return nil
}
