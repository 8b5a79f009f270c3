package blackbox

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestStandardWebhooksSignedEvents: a sender using the Standard Webhooks library signs; the server accepts the
// current and the previous key during a rotation, and refuses a tampered body, an old timestamp and an unknown
// key with 401 and a reason.
func TestStandardWebhooksSignedEvents(t *testing.T) {
	const current, previous, unknown = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "whsec_bm90LXRoZS1rZXktYXQtYWxsLTEyMzQ1Ng=="
	dir := t.TempDir()
	writeFile(t, dir, "events.yaml", `
apiVersion: v1
kind: Secret
metadata: {name: signing-key}
stringData: {secret: "`+current+`", previous: "`+previous+`"}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: payments}
spec:
  dialect: Generic
  path: /events
  auth: {hmac: {scheme: StandardWebhooks, secretRef: {name: signing-key}}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: paid}
spec:
  endpointRef: {name: payments}
  match: {events: [invoice.paid]}
  respond: {text: "paid ${request.body.data.id}"}
`)
	s := startServer(t, "--manifests", dir)
	body := []byte(`{"type":"invoice.paid","event":"invoice.paid","data":{"id":"in_123"}}`)
	signed := func(key string, at time.Time, id string) http.Header {
		t.Helper()
		wh, err := standardwebhooks.NewWebhook(key)
		if err != nil {
			t.Fatal(err)
		}
		signature, err := wh.Sign(id, at, body)
		if err != nil {
			t.Fatal(err)
		}
		return http.Header{
			"Webhook-Id":        {id},
			"Webhook-Timestamp": {strconv.FormatInt(at.Unix(), 10)},
			"Webhook-Signature": {signature},
		}
	}
	now := time.Now()
	for name, tc := range map[string]struct {
		header http.Header
		body   []byte
		status int
		reason string
	}{
		"current key":          {signed(current, now, "msg_1"), body, http.StatusOK, ""},
		"previous key":         {signed(previous, now, "msg_2"), body, http.StatusOK, ""},
		"unknown key":          {signed(unknown, now, "msg_3"), body, http.StatusUnauthorized, "invalid_signature"},
		"tampered body":        {signed(current, now, "msg_4"), []byte(strings.Replace(string(body), "in_123", "in_999", 1)), http.StatusUnauthorized, "invalid_signature"},
		"timestamp 10 min old": {signed(current, now.Add(-10*time.Minute), "msg_5"), body, http.StatusUnauthorized, "timestamp_outside_tolerance"},
		"no signature":         {http.Header{}, body, http.StatusUnauthorized, "missing_signature"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, content := s.post("/events", tc.body, tc.header)
			if resp.StatusCode != tc.status || !strings.Contains(string(content), tc.reason) {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, content, tc.status, tc.reason)
			}
			if tc.status == http.StatusOK && !strings.Contains(string(content), "paid in_123") {
				t.Errorf("answer %s", content)
			}
		})
	}
	if lines := s.metric(`fulfillment_auth_failures_total{endpoint="default/payments",method="hmac",reason="invalid_signature"} 2`); len(lines) != 1 {
		t.Errorf("auth failures not counted by method and reason: %v", s.metric("fulfillment_auth_failures_total"))
	}
}
