// Package generic is the Generic dialect, this project's own webhook format for any event source:
//
//	{"event": "...", "intent": "...", "session": {"id": "...", "parameters": {...}}, "timestamp": "...", "id": "...", ...}
//
// sent as JSON, as a form (application/x-www-form-urlencoded) or as XML for legacy senders, or, for a GET
// without a body, as the query string. Every format becomes the same JSON-like object in model.Request.Body, so
// routes and templates read request.body.session.id whatever the sender used. Events and delivery ids of common
// senders (Standard Webhooks, GitHub, Stripe, Slack, Shopify) are understood as well; see sources.go.
//
// The answer is {"fulfillmentText": ..., "parameters": {...}, "payload": {...}, "messages": [...]}.
package generic

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

type codec struct{}

// New returns the Generic codec.
func New() dialect.Codec { return codec{} }
