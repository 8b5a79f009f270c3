// Package dialect decodes each platform's request format into one model.Request and encodes a model.Answer
// back into the platform's response format. Subpackages es, cx, rasa and generic hold one dialect each.
package dialect

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// MaxDialogflowResponseBytes is the largest answer Dialogflow (ES and CX) accepts.
const MaxDialogflowResponseBytes = 64 * 1024

// Input is the raw HTTP request a dialect decodes. The body is already read (and size-limited) by the server.
type Input struct {
	Method string
	Header http.Header
	Query  url.Values
	// Body is never modified once read: decoded requests keep strings that are views of it, not copies
	// (wire.DecodeEnvelope). Whoever builds an Input gives it a slice of its own.
	Body []byte
}

// Codec is one dialect.
type Codec interface {
	// Decode turns the raw request into a model.Request. A malformed request gives a *DecodeError.
	Decode(in Input) (*model.Request, error)
	// Encode turns an answer to req into the dialect's response body (JSON). An answer the platform would
	// refuse (for example over 64 KiB for Dialogflow) gives a *EncodeError.
	Encode(req *model.Request, answer *model.Answer) ([]byte, error)
}

// ErrorEncoder is implemented by dialects that have their own error shape (Rasa); the others get the server's
// JSON error {"error":{"code":...,"message":...}}.
type ErrorEncoder interface {
	// EncodeError returns the body for an error answered with status. req may be nil when decoding failed.
	EncodeError(req *model.Request, status int, code, message string) []byte
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
