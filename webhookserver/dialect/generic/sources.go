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

// Header names in canonical form, so that http.Header.Get finds them without allocating.
const (
	standardWebhooksIDHeader = "Webhook-Id"
	gitHubDeliveryHeader     = "X-Github-Delivery"
	gitHubEventHeader        = "X-Github-Event"
	shopifyWebhookIDHeader   = "X-Shopify-Webhook-Id"
	shopifyTopicHeader       = "X-Shopify-Topic"
)

// deliveryHeaders are the transports' delivery ids, in order of precedence.
var deliveryHeaders = [...]string{standardWebhooksIDHeader, gitHubDeliveryHeader, shopifyWebhookIDHeader}

// eventName is "event" of the Generic format. Senders with a format of their own name the event elsewhere,
// and routes match those names too: Slack's Events API nests the event ({"event":{"type":"app_mention"}}),
// GitHub and Shopify send a header, Stripe and Standard Webhooks payloads a top-level "type". Only "event" is
// ours to check: a "type" that is not a string is someone else's field and is ignored.
func eventName(r *wire.Reader, body map[string]any, header http.Header) string {
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
	if name := header.Get(gitHubEventHeader); name != "" {
		return name
	}
	if topic := header.Get(shopifyTopicHeader); topic != "" {
		return topic
	}
	if eventType, ok := body["type"].(string); ok {
		return eventType
	}
	return ""
}

// deliveryID is the sender's id of this delivery, the default idempotency key. Ids the transport sets come
// first (Standard Webhooks webhook-id, X-GitHub-Delivery, X-Shopify-Webhook-Id): they name one delivery,
// whereas a payload's "id" may be the id of the resource it describes (a Shopify order keeps its id through
// orders/create and orders/updated) and would merge distinct events. Then ids of one event in the payload:
// Slack's event_id, and "id" (the Generic format's and Stripe's event id), a string or an integer. Without any
// there is no id: such a request is never taken for a duplicate.
func deliveryID(body map[string]any, in dialect.Input) string {
	for _, header := range deliveryHeaders {
		if id := in.Header.Get(header); id != "" {
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
