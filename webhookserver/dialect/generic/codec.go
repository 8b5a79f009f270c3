// Package generic is the Generic dialect, this project's own webhook format for any event source:
//
//	{"event": "...", "intent": "...", "session": {"id": "...", "parameters": {...}}, "timestamp": "...", "id": "...", ...}
//
// sent as JSON, as a form (application/x-www-form-urlencoded) or as XML for legacy senders, or, for a request
// of any method without a body, as the query string; a query string beside a body fills in what the body leaves
// out, unless the endpoint verifies an HMAC signature, which covers the body only (WithSignedBody). Every format becomes the same JSON-like object in model.Request.Body, so
// routes and templates read request.body.session.id whatever the sender used. Events and delivery ids of common
// senders (Standard Webhooks, GitHub, Stripe, Slack, Shopify) are understood as well; see sources.go. A sender's
// own headers (webhook-id, X-GitHub-Event, X-Shopify-Topic, ...) are read only when the codec is told that the
// endpoint verifies that sender's signature (WithSender): without it, anyone can set them, so the event type and
// delivery id come from the body alone.
//
// The answer is {"fulfillmentText": ..., "parameters": {...}, "payload": {...}, "messages": [...]}, in JSON, or
// in XML to a caller that sent XML, or in the format its Accept header prefers (negotiate.go, the wireformat package).
package generic

import (
	"net/http"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Name is the dialect's name in WebhookEndpoint spec.dialect.
const Name = "Generic"

// codec has Generic's rule too: its senders retry errors, so action failures are reported (dialect.FailureReporter).
type codec struct {
	// headers are the sender's headers the codec reads; none without WithSender.
	headers senderHeaders
	// signed is set when a signature covers the body and not the query string, which then stays out of the body.
	signed bool
}

// Option configures the Generic codec.
type Option func(*codec)

// WithSender has the codec read sender's headers for the event type and delivery id, as well as the body. Give
// it only the sender whose signature the endpoint verifies: the headers are the sender's word only then.
func WithSender(sender Sender) Option {
	return func(c *codec) {
		c.headers = headersOf[sender]
		c.signed = true
	}
}

// WithSignedBody tells the codec that a signature covers the body and not the query string: the query string is
// then only request.query, never merged into the event, so that an unsigned part cannot name the event of a
// signed request. WithSender implies it.
func WithSignedBody() Option {
	return func(c *codec) { c.signed = true }
}

// New returns the Generic codec. Without options it reads the event type and delivery id from the body only.
func New(opts ...Option) dialect.Codec {
	c := codec{}
	for _, opt := range opts {
		opt(&c)
	}
	return c
}

// FromSettings returns the Generic codec of an endpoint: one that reads the headers of the sender whose signature
// verifies every request (settings.SignedBy), and else the body only; with any signature, the query string stays
// out of the body.
func FromSettings(settings dialect.Settings) dialect.Codec {
	if settings.SignedBy == "" {
		return New()
	}
	sender, ok := signedSenders[fulfillmentv1alpha1.HMACScheme(settings.SignedBy)]
	if !ok {
		return New(WithSignedBody())
	}
	return New(WithSender(sender))
}

// signedSenders are the senders with headers of their own, by the HMAC scheme that verifies them.
var signedSenders = map[fulfillmentv1alpha1.HMACScheme]Sender{
	fulfillmentv1alpha1.HMACSchemeStandardWebhooks: StandardWebhooks,
	fulfillmentv1alpha1.HMACSchemeGitHub:           GitHub,
	fulfillmentv1alpha1.HMACSchemeShopify:          Shopify,
}

// ReportsFailures implements dialect.FailureReporter: a Generic sender is a machine that retries an error
// answer, and no user waits for a fallback's words.
func (codec) ReportsFailures() bool { return true }

// decoded is a request this codec decoded, and the format its answer takes (negotiate).
type decoded struct {
	request model.Request
	answer  answerFormat
}

// Request implements dialect.Decoded.
func (d *decoded) Request() *model.Request { return &d.request }

// Encode implements dialect.Decoded: the answer in the request's answer format (encode.go).
func (d *decoded) Encode(answer *model.Answer) ([]byte, error) { return encodeAnswer(answer, d.answer) }

// ContentType implements dialect.ContentTyper.
func (d *decoded) ContentType() string { return d.answer.contentType() }

// Adopt is req, a request made by hand (a test's, a tool's), as if this codec had decoded it from JSON.
func Adopt(req *model.Request) dialect.Decoded { return adopted{req} }

type adopted struct{ request *model.Request }

func (a adopted) Request() *model.Request { return a.request }

func (adopted) Encode(answer *model.Answer) ([]byte, error) { return encodeAnswer(answer, jsonAnswer) }

// EncodeErrorFor implements dialect.ErrorNegotiator: an error answer takes the format an answer to the same
// request would, so that a legacy caller reads its errors too.
func (codec) EncodeErrorFor(header http.Header, _ int, code, message string) ([]byte, string) {
	_, format := answerFormatOf(header)
	return encodeError(code, message, format), format.contentType()
}
