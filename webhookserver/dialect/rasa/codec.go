// Package rasa is the Rasa action server dialect: Rasa calls the webhook to run a custom action
// (next_action) and applies the events and bot responses it answers, as it does with the Rasa SDK.
package rasa

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

// codec also implements dialect.ErrorEncoder: Rasa reads errors in the Rasa SDK's shape.
type codec struct{}

// New returns the Rasa codec. It implements dialect.ErrorEncoder too.
func New() dialect.Codec { return codec{} }

var _ dialect.ErrorEncoder = codec{}
