package expr

import (
	"github.com/google/cel-go/interpreter"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Vars are the values of one request that expressions see. Build one per request and pass the same pointer
// to every evaluation of that request: evaluation reads it and never modifies it, so it may be shared by
// concurrent evaluations.
type Vars struct {
	// Request is `request`, and its Parameters are `params`. A nil Request reads as an empty one.
	Request *model.Request
	// Response is `response`, the upstream answer of a call action. Only expressions compiled with
	// WithResponse may read it; evaluating one of them with a nil Response fails.
	Response *Response
	// Endpoint is `endpoint`, the WebhookEndpoint serving the request.
	Endpoint Endpoint
}

// Response is an upstream answer as `response` shows it.
type Response struct {
	// Status is the HTTP status code (`response.status`).
	Status int
	// Headers are the response headers (`response.headers`): lower-case names, values of a repeated header
	// joined with ", ", as in model.Request.Headers.
	Headers map[string]string
	// Body is the decoded JSON body (`response.body`): map[string]any, []any, string, float64, json.Number,
	// bool or nil.
	Body any
}

// Endpoint identifies the WebhookEndpoint serving the request (`endpoint.name`, `endpoint.namespace`).
type Endpoint struct {
	Name      string
	Namespace string
}

// emptyRequest stands in for a nil Vars.Request. CEL only reads it.
var emptyRequest = &model.Request{}

// activation resolves the variables straight from Vars: `request` is the *model.Request itself and the
// declared field types let the interpreter read request.intent or params.account from the Go values, so an
// evaluation builds no map of the request and converts only the values it touches. There is nothing to
// cache between the evaluations of one request. It has the same layout as Vars, so (*activation)(vars)
// costs nothing.
type activation Vars

var _ interpreter.Activation = (*activation)(nil)

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "params":
		if a.Request == nil {
			return map[string]any(nil), true
		}
		return a.Request.Parameters, true
	case "request":
		if a.Request == nil {
			return emptyRequest, true
		}
		return a.Request, true
	case "response":
		if a.Response == nil {
			return nil, false
		}
		return a.Response, true
	case "endpoint":
		return &a.Endpoint, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }
