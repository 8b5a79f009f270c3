// Package generic is the Generic dialect, this project's own webhook format for any event source:
//
//	{"event": "...", "intent": "...", "session": {"id": "...", "parameters": {...}}, "timestamp": "...", "id": "...", ...}
//
// sent as JSON, as a form (application/x-www-form-urlencoded) or as XML for legacy senders, or, for a GET
// without a body, as the query string. Every format becomes the same JSON-like object in model.Request.Body, so
// routes and templates read request.body.session.id whatever the sender used. Events and delivery ids of common
// senders (Standard Webhooks, GitHub, Stripe, Slack, Shopify) are understood as well; see sources.go. A sender's
// own headers (webhook-id, X-GitHub-Event, X-Shopify-Topic, ...) are read only when the codec is told that the
// endpoint verifies that sender's signature (WithSender): without it, anyone can set them, so the event type and
// delivery id come from the body alone.
//
// The answer is {"fulfillmentText": ..., "parameters": {...}, "payload": {...}, "messages": [...]}.
package generic

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

type codec struct {
	// headers are the sender's headers the codec reads; none without WithSender.
	headers senderHeaders
}

// Option configures the Generic codec.
type Option func(*codec)

// WithSender has the codec read sender's headers for the event type and delivery id, as well as the body. Give
// it only the sender whose signature the endpoint verifies: the headers are the sender's word only then.
func WithSender(sender Sender) Option {
	return func(c *codec) { c.headers = headersOf[sender] }
}

// New returns the Generic codec. Without options it reads the event type and delivery id from the body only.
func New(opts ...Option) dialect.Codec {
	c := codec{}
	for _, opt := range opts {
		opt(&c)
	}
	return c
}
