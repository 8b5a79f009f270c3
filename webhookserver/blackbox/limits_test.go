package blackbox

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/dialogflow/apiv2/dialogflowpb"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestDialogflowAnswerOver64KiB: Dialogflow drops an answer over 64 KiB, so the server answers the fallback
// instead, says why, and counts it.
func TestDialogflowAnswerOver64KiB(t *testing.T) {
	var messages strings.Builder
	for i := range 20 {
		fmt.Fprintf(&messages, "    - text: %q\n", fmt.Sprintf("%02d %s", i, strings.Repeat("x", 4000)))
	}
	dir := t.TempDir()
	writeFile(t, dir, "big.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: big}
spec:
  dialect: DialogflowES
  auth: {allowUnauthenticated: true}
  fallback: {text: "That answer was too long to send."}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: huge}
spec:
  endpointRef: {name: big}
  match: {intents: [Huge]}
  respond:
    messages:
`+messages.String())
	s := startServer(t, "--manifests", dir)
	body, _ := protojson.Marshal(&dialogflowpb.WebhookRequest{
		ResponseId:  "r-1",
		Session:     "projects/p/agent/sessions/s",
		QueryResult: &dialogflowpb.QueryResult{Intent: &dialogflowpb.Intent{DisplayName: "Huge"}},
	})
	resp, content := s.post("/webhook", body, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Fulfillment-Fallback") != "answer_invalid" {
		t.Fatalf("status %d, fallback %q", resp.StatusCode, resp.Header.Get("Fulfillment-Fallback"))
	}
	answer := &dialogflowpb.WebhookResponse{}
	if err := strict.Unmarshal(content, answer); err != nil {
		t.Fatal(err)
	}
	if answer.GetFulfillmentText() != "That answer was too long to send." || len(content) > 64*1024 {
		t.Errorf("answer of %d bytes: %.200s", len(content), content)
	}
	if !s.waitForLog("64 KiB") {
		t.Error("the log does not say the answer was over 64 KiB")
	}
	if len(s.metric(`fulfillment_fallbacks_total{delivery="sync",endpoint="default/big",reason="answer_invalid"} 1`)) != 1 {
		t.Errorf("fallback not counted: %v", s.metric("fulfillment_fallbacks_total"))
	}
}

// TestRateLimitAndAllowlist: requests over the rate get 429 with Retry-After; a client outside the allowlist 403.
func TestRateLimitAndAllowlist(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bot.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: limited}
spec:
  dialect: Generic
  auth: {allowUnauthenticated: true}
  limits: {requestsPerSecond: 2, burst: 3}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: walled}
spec:
  dialect: Generic
  path: /walled
  auth: {allowUnauthenticated: true, ipAllowlist: {cidrs: [10.0.0.0/8], trustedProxies: [127.0.0.0/8]}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: ok}
spec:
  endpointRef: {name: limited}
  match: {events: [e]}
  respond: {text: ok}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: walled-ok}
spec:
  endpointRef: {name: walled}
  match: {events: [e]}
  respond: {text: ok}
`)
	s := startServer(t, "--manifests", dir)
	statuses := map[int]int{}
	retryAfter := ""
	for range 10 {
		resp, _ := s.post("/webhook", []byte(`{"event":"e"}`), nil)
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests {
			retryAfter = resp.Header.Get("Retry-After")
		}
	}
	if statuses[http.StatusOK] < 3 || statuses[http.StatusOK] > 5 || statuses[http.StatusTooManyRequests] < 5 {
		t.Errorf("statuses %v: want the burst of 3 (and at most a refill or two) answered, the rest 429", statuses)
	}
	if retryAfter != "1" {
		t.Errorf("Retry-After %q, want 1", retryAfter)
	}

	// The test client is 127.0.0.1, a trusted proxy: X-Forwarded-For names the client.
	resp, content := s.post("/walled", []byte(`{"event":"e"}`), http.Header{"X-Forwarded-For": {"10.1.2.3"}})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("allowed client: %d %s", resp.StatusCode, content)
	}
	resp, content = s.post("/walled", []byte(`{"event":"e"}`), http.Header{"X-Forwarded-For": {"203.0.113.5"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(content), "address_not_allowed") {
		t.Errorf("client outside the allowlist: %d %s", resp.StatusCode, content)
	}
}

// TestSlowClientsAreCutOff: a client that sends its headers too slowly loses its connection, so slow clients
// cannot hold the server's connections.
func TestSlowClientsAreCutOff(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bot.yaml", versionedManifest("v1"))
	s := startServer(t, "--manifests", dir, "--read-header-timeout", "300ms")
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /webhook HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadAll(conn) // returns when the server closes the connection
	if elapsed := time.Since(start); err != nil || elapsed > 2*time.Second {
		t.Errorf("the connection stayed open %v (err %v); want it closed after about 300ms", elapsed, err)
	}
}
