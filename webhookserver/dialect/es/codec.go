// Package es is the Dialogflow ES (API v2) dialect. It reads google.cloud.dialogflow.v2.WebhookRequest JSON and
// writes WebhookResponse JSON holding only fields of that schema, since Dialogflow refuses a whole answer for one
// unknown field.
//
// Session parameters live in one output context, <session>/contexts/session-vars: ES has no session parameters
// of its own, and a context with a long lifespan is the documented way to keep values across turns.
package es

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Name is the dialect's name in WebhookEndpoint spec.dialect.
const Name = "DialogflowES"

// The API versions a request's version names (request.version): the agent's webhook format follows the API it
// uses, and only v2beta1 answers may end the interaction or hand it to a human.
const (
	V2      = "v2"
	V2Beta1 = "v2beta1"
)

const (
	// SessionContextID is the id of the output context that keeps the session parameters.
	SessionContextID = "session-vars"
	// sessionContextLifespan is the number of turns the session context outlives a turn without a webhook call.
	sessionContextLifespan = 50

	sessionContextSuffix = "/contexts/" + SessionContextID
)

// codec has Dialogflow's rules: its default deadline and its answer size limit.
type codec struct{ dialogflow.Rules }

// New returns the Dialogflow ES codec.
func New() dialect.Codec { return codec{} }

// decoded is a request this codec decoded, with the fields of its body that Encode reads again (the session
// context's parameters), already built.
type decoded struct {
	request  model.Request
	envelope wire.Object
}

func (d *decoded) Request() *model.Request { return &d.request }

// Adopt is req, a request made by hand (a test's, a tool's), as if this codec had decoded it: its answers
// carry the session parameters of its Body.
func Adopt(req *model.Request) dialect.Decoded {
	if req == nil {
		req = &model.Request{}
	}
	return &adopted{req}
}

type adopted struct{ request *model.Request }

func (a *adopted) Request() *model.Request { return a.request }

func (a *adopted) Encode(answer *model.Answer) ([]byte, error) {
	return encode(a.request, wire.EnvelopeOf(a.request.Body(), envelopeFields), answer)
}
