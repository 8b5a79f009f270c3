package blackbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

// startSignedEvents serves a Generic endpoint verifying scheme's signatures with key, with idempotency, whose
// routes apply their event in upstream, the event's route name as the effect: invoice.paid (paid),
// charge.refunded (refund), pull_request (pull).
func startSignedEvents(t *testing.T, scheme, key string) (*server, *counter) {
	upstream, upstreamURL := newCounter(t, 0)
	route := func(name, event string) string {
		return fmt.Sprintf(`---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: %[1]s}
spec:
  endpointRef: {name: events}
  match: {events: [%[2]s]}
  call: {url: %[3]q, method: POST, body: '"%[1]s"', respond: {text: "%[1]s"}}
`, name, event, upstreamURL)
	}
	dir := t.TempDir()
	writeFile(t, dir, "events.yaml", fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: signing-key}
stringData: {secret: %q}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: events}
spec:
  dialect: Generic
  path: /events
  auth: {hmac: {scheme: %s, secretRef: {name: signing-key}}}
  idempotency: {enabled: true}
`, key, scheme)+route("paid", "invoice.paid")+route("refund", "charge.refunded")+route("pull", "pull_request"))
	return startServer(t, "--manifests", dir), upstream
}

// TestStripeEventsIgnoreUnsignedHeaders: Stripe signs the timestamp and the body only, so a replayed delivery
// with a new Webhook-Id is still a duplicate of the first, and X-GitHub-Event does not turn a paid invoice into
// a refund.
func TestStripeEventsIgnoreUnsignedHeaders(t *testing.T) {
	const key = "whsec_3kM1xZ9kQnM5m1bRvWcT0aYpLq8sUe2D"
	s, upstream := startSignedEvents(t, "Stripe", key)
	stripeSigned := func(body []byte, extra http.Header) http.Header {
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: key, Timestamp: time.Now()})
		header := http.Header{"Stripe-Signature": {signed.Header}}
		for name, values := range extra {
			header[name] = values
		}
		return header
	}

	paid := []byte(`{"id":"evt_1","object":"event","type":"invoice.paid"}`)
	captured := stripeSigned(paid, nil)
	resp, first := s.post("/events", paid, captured)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(first), `"paid"`) {
		t.Fatalf("first delivery: %d %s", resp.StatusCode, first)
	}
	replay := http.Header{"Webhook-Id": {"fresh-1"}}
	for name, values := range captured {
		replay[name] = values
	}
	resp, again := s.post("/events", paid, replay)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Idempotent-Replayed") != "true" || string(again) != string(first) {
		t.Errorf("replay with Webhook-Id: fresh-1: %d, replayed %q, %s; want the first answer replayed",
			resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), again)
	}
	if calls := upstream.count("paid"); calls != 1 {
		t.Errorf("the upstream applied invoice.paid %d times, want once", calls)
	}

	paidAgain := []byte(`{"id":"evt_2","object":"event","type":"invoice.paid"}`)
	resp, content := s.post("/events", paidAgain, stripeSigned(paidAgain,
		http.Header{"X-Github-Event": {"charge.refunded"}, "X-Shopify-Topic": {"charge.refunded"}}))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(content), `"paid"`) {
		t.Errorf("invoice.paid with X-GitHub-Event: charge.refunded: %d %s; want the paid route", resp.StatusCode, content)
	}
	if calls := upstream.count("refund"); calls != 0 {
		t.Errorf("the refund upstream was called %d times, want never", calls)
	}
}

// TestGitHubEventsReadGitHubHeaders: with scheme GitHub the event is X-GitHub-Event and the idempotency key
// X-GitHub-Delivery, as GitHub sends them (GitHub signs only the body).
func TestGitHubEventsReadGitHubHeaders(t *testing.T) {
	const key = "It's a Secret to Everybody"
	s, upstream := startSignedEvents(t, "GitHub", key)
	body := []byte(`{"action":"opened","number":7}`)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	header := http.Header{
		"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))},
		"X-Github-Event":      {"pull_request"},
		"X-Github-Delivery":   {"72d3162e-cc78-11e3-81ab-4c9367dc0958"},
	}
	for i := range 2 {
		resp, content := s.post("/events", body, header)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(content), `"pull"`) {
			t.Errorf("delivery %d: %d %s; want the pull_request route", i+1, resp.StatusCode, content)
		}
	}
	if calls := upstream.count("pull"); calls != 1 {
		t.Errorf("the upstream applied the delivery %d times, want once (X-GitHub-Delivery is the key)", calls)
	}
}
