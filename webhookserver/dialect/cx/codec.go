// Package cx is the Dialogflow CX (API v3) dialect. It reads google.cloud.dialogflow.cx.v3.WebhookRequest JSON
// and writes WebhookResponse JSON holding only fields of that schema, since Dialogflow refuses a whole answer for
// one unknown field.
package cx

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Name is the dialect's name in WebhookEndpoint spec.dialect.
const Name = "DialogflowCX"

// codec has Dialogflow's rules: its default deadline and its answer size limit.
type codec struct{ dialogflow.Rules }

// New returns the Dialogflow CX codec.
func New() dialect.Codec { return codec{} }

// decoded is a request this codec decoded. Its answer reads the request's pageInfo (the current page, for
// endInteraction; the form's parameters, for formParameters), which the request's Views hold.
type decoded struct {
	request model.Request
}

func (d *decoded) Request() *model.Request { return &d.request }

func (d *decoded) Encode(answer *model.Answer) ([]byte, error) { return encode(&d.request, answer) }

// Adopt is req, a request made by hand (a test's, a tool's), as if this codec had decoded it: its answers read
// the pageInfo of its Views or, without one, of its Body.
func Adopt(req *model.Request) dialect.Decoded {
	if req == nil {
		req = &model.Request{}
	}
	return &adopted{req}
}

type adopted struct{ request *model.Request }

func (a *adopted) Request() *model.Request { return a.request }

func (a *adopted) Encode(answer *model.Answer) ([]byte, error) { return encode(a.request, answer) }
