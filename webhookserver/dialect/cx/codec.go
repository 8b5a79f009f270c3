// Package cx is the Dialogflow CX (API v3) dialect. It reads google.cloud.dialogflow.cx.v3.WebhookRequest JSON
// and writes WebhookResponse JSON holding only fields of that schema, since Dialogflow refuses a whole answer for
// one unknown field.
package cx

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

type codec struct{}

// New returns the Dialogflow CX codec.
func New() dialect.Codec { return codec{} }
