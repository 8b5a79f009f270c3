// Package rasa is the Rasa action server dialect: Rasa calls the webhook to run a custom action
// (next_action) and applies the events and bot responses it answers, as it does with the Rasa SDK.
package rasa

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Name is the dialect's name in WebhookEndpoint spec.dialect.
const Name = "Rasa"

// codec has Rasa's rules too: its error shape (errors.go), its 404 for an action no route handles, and the
// paths an action server answers beside its webhook (paths.go).
type codec struct{}

// New returns the Rasa codec.
func New() dialect.Codec { return codec{} }

var (
	_ dialect.ErrorEncoder   = codec{}
	_ dialect.NoRouteRefuser = codec{}
	_ dialect.ExtraPather    = codec{}
)

// decoded is a request this codec decoded. Its answer reads one thing of the request: the slots a form
// validation action validates (request.slotsToValidate), which its form parameters answer for.
type decoded struct {
	request model.Request
}

// Request implements dialect.Decoded.
func (d *decoded) Request() *model.Request { return &d.request }

// Encode implements dialect.Decoded (encode.go).
func (d *decoded) Encode(answer *model.Answer) ([]byte, error) {
	return encodeAnswer(&d.request, answer)
}

// Adopt is req, a request made by hand (a test's, a tool's), as if this codec had decoded it: its form
// parameters answer for the slots of its Views.
func Adopt(req *model.Request) dialect.Decoded {
	if req == nil {
		req = &model.Request{}
	}
	return adopted{req}
}

type adopted struct{ request *model.Request }

func (a adopted) Request() *model.Request { return a.request }

func (a adopted) Encode(answer *model.Answer) ([]byte, error) { return encodeAnswer(a.request, answer) }
