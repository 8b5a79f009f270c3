package generic

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
)

// Sender is a sender with headers of its own that name the event type or the delivery id.
type Sender int

const (
	// AnySender has no headers the codec reads: the event type and delivery id come from the body.
	AnySender Sender = iota
	// StandardWebhooks sends the delivery id in webhook-id, which its signature covers.
	StandardWebhooks
	// GitHub sends X-GitHub-Event and X-GitHub-Delivery. Its signature covers only the body, not these headers.
	GitHub
	// Shopify sends X-Shopify-Topic and X-Shopify-Webhook-Id. Its signature covers only the body, not these
	// headers.
	Shopify
)

// senderHeaders are the headers of a sender that name the event type and the delivery id, in canonical form so
// that http.Header.Get finds them without allocating; empty for none.
type senderHeaders struct {
	event, delivery string
	// version is the payload version's header, set only for a sender whose signature covers it.
	version string
}

var headersOf = map[Sender]senderHeaders{
	StandardWebhooks: {delivery: "Webhook-Id"},
	GitHub:           {event: "X-Github-Event", delivery: "X-Github-Delivery"},
	Shopify:          {event: "X-Shopify-Topic", delivery: "X-Shopify-Webhook-Id"},
}

// eventName is "event" of the Generic format. Senders with a format of their own name the event elsewhere,
// and routes match those names too: Slack's Events API nests the event ({"event":{"type":"app_mention"}}),
// GitHub and Shopify send a header (read only with WithSender), Stripe and Standard Webhooks payloads a
// top-level "type". Only "event" is ours to check: a "type" that is not a string is someone else's field and is
// ignored.
func (c codec) eventName(r *wire.Reader, body map[string]any, header http.Header) string {
	switch event := body["event"].(type) {
	case string:
		return event
	case map[string]any:
		return r.String(event, "event.type")
	case nil:
	default:
		r.Fail("event", "expected a string, or an object with a type, found "+wire.Kind(event))
		return ""
	}
	if c.headers.event != "" {
		if name := header.Get(c.headers.event); name != "" {
			return name
		}
	}
	if eventType, ok := body["type"].(string); ok {
		return eventType
	}
	return ""
}

// deliveryID is the sender's id of this delivery, the default idempotency key. The sender's delivery header
// comes first (webhook-id, X-GitHub-Delivery, X-Shopify-Webhook-Id, read only with WithSender): it names one
// delivery, whereas a payload's "id" may be the id of the resource it describes (a Shopify order keeps its id
// through orders/create and orders/updated) and would merge distinct events. Then ids of one event in the
// payload: Slack's event_id, and "id" (the Generic format's and Stripe's event id), a string or an integer.
// Without any there is no id: such a request is never taken for a duplicate.
func (c codec) deliveryID(body map[string]any, in dialect.Input) string {
	if c.headers.delivery != "" {
		if id := in.Header.Get(c.headers.delivery); id != "" {
			return id
		}
	}
	if eventID, ok := body["event_id"].(string); ok && eventID != "" {
		return eventID
	}
	switch id := body["id"].(type) {
	case string:
		return id
	case float64:
		return numericID(id, in.Body)
	}
	return ""
}

// maxExactInteger is the largest integer every smaller one of which a float64 holds exactly.
const maxExactInteger = 1 << 53

// numericID writes a numeric id exactly. Numbers decode as float64, which rounds integers above 2^53 (Shopify
// ids are about 2^59), so for those the literal is read again from the body; this costs a second decode only
// for such ids.
func numericID(id float64, body []byte) string {
	if id == math.Trunc(id) && math.Abs(id) < maxExactInteger {
		return strconv.FormatFloat(id, 'f', -1, 64)
	}
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.UseNumber()
	var object map[string]any
	if err := decoder.Decode(&object); err == nil {
		if literal, ok := object["id"].(json.Number); ok {
			return literal.String()
		}
	}
	return strconv.FormatFloat(id, 'g', -1, 64)
}

// environment is a Stripe event's livemode: "live" or "test". Other senders name no environment of their own;
// the endpoint's environmentFrom reads theirs. A Stripe event is a payload whose "object" is "event" with a
// boolean livemode, so that a field of that name in another format is not taken for it.
func environment(body map[string]any) string {
	if body["object"] != "event" {
		return ""
	}
	switch body["livemode"] {
	case true:
		return "live"
	case false:
		return "test"
	}
	return ""
}

// version is the payload's version. A version header (Webhook-Version, X-Api-Version) comes first, but only
// from a sender whose signature covers it (senderHeaders.version): an unsigned header must never override what
// the signed body says, or anyone could pick the route of another version. None of the supported schemes signs
// one today, so the body decides: Stripe's api_version, else "version". An endpoint that trusts a header on
// other grounds (mTLS, a private network) reads it with spec.versionFrom.
func (c codec) version(body map[string]any, header http.Header) string {
	if c.headers.version != "" {
		if v := header.Get(c.headers.version); v != "" {
			return v
		}
	}
	for _, field := range [...]string{"api_version", "version"} {
		if v, ok := body[field].(string); ok && v != "" {
			return v
		}
	}
	return ""
}
