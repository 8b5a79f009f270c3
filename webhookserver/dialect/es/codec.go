// Package es is the Dialogflow ES (API v2) dialect. It reads google.cloud.dialogflow.v2.WebhookRequest JSON and
// writes WebhookResponse JSON holding only fields of that schema, since Dialogflow refuses a whole answer for one
// unknown field.
//
// Session parameters live in one output context, <session>/contexts/session-vars: ES has no session parameters
// of its own, and a context with a long lifespan is the documented way to keep values across turns.
package es

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

const (
	// SessionContextID is the id of the output context that keeps the session parameters.
	SessionContextID = "session-vars"
	// sessionContextLifespan is the number of turns the session context outlives a turn without a webhook call.
	sessionContextLifespan = 50

	sessionContextSuffix = "/contexts/" + SessionContextID
)

type codec struct{}

// New returns the Dialogflow ES codec.
func New() dialect.Codec { return codec{} }
