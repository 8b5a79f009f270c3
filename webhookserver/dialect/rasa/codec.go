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

// decoded is a request this codec decoded. A Rasa answer needs nothing of the request.
type decoded = dialect.Stateless[answers]

// answers encodes Rasa answers (encode.go).
type answers struct{}

// Adopt is req, a request made by hand (a test's, a tool's), as if this codec had decoded it.
func Adopt(req *model.Request) dialect.Decoded { return dialect.Adopt[answers](req) }
