package blackbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// genericManifest is a Generic endpoint with bearer auth whose routes call upstream (a loopback test server).
func genericManifest(upstream string) string {
	return fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: events-token}
stringData: {token: events-secret-token}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: events}
spec:
  dialect: Generic
  path: /events
  methods: [POST, GET]
  timeout: 1s
  auth:
    bearer: {secretRef: {name: events-token, key: token}}
  limits: {maxBodyBytes: 2Ki}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: balance}
spec:
  endpointRef: {name: events}
  match: {events: [balance.requested]}
  call:
    url: %[1]s/accounts/${request.session}
    method: GET
    respond:
      text: Balance ${response.body.balance}
      parameters: {balance: response.body.balance}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: slow}
spec:
  endpointRef: {name: events}
  match: {events: [slow]}
  call:
    url: %[1]s/slow
    method: POST
    body: '{"event": request.event}'
    retry: {attempts: 10, backoff: 50ms}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: slow-with-fallback}
spec:
  endpointRef: {name: events}
  match: {events: [slow.fallback]}
  call: {url: "%[1]s/slow", method: GET}
  fallback: {text: "queued for later"}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: ping}
spec:
  endpointRef: {name: events}
  match: {events: [ping]}
  respond:
    text: pong ${request.query.who}
`, upstream)
}

// upstream is a loopback API: /accounts/<id> answers a balance, /slow takes 400ms and answers 503.
type upstream struct {
	*httptest.Server
	slowCalls atomic.Int32
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/accounts/"):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"account": %q, "balance": 42.5}`, strings.TrimPrefix(r.URL.Path, "/accounts/"))
		case r.URL.Path == "/slow":
			u.slowCalls.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-time.After(400 * time.Millisecond):
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

func startGeneric(t *testing.T) (*server, *upstream) {
	up := newUpstream(t)
	dir := t.TempDir()
	writeFile(t, dir, "events.yaml", genericManifest(up.URL))
	return startServer(t, "--manifests", dir), up
}

var eventsToken = http.Header{"Authorization": {"Bearer events-secret-token"}}

func TestGenericCallMapsTheUpstreamAnswer(t *testing.T) {
	s, _ := startGeneric(t)
	resp, content := s.post("/events", []byte(`{"event":"balance.requested","session":{"id":"acct-7","parameters":{}}}`), eventsToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, content)
	}
	var answer struct {
		FulfillmentText string         `json:"fulfillmentText"`
		Parameters      map[string]any `json:"parameters"`
	}
	if err := json.Unmarshal(content, &answer); err != nil {
		t.Fatal(err)
	}
	if answer.FulfillmentText != "Balance 42.5" || answer.Parameters["balance"] != 42.5 {
		t.Errorf("answer %s", content)
	}
	if lines := s.metric(`fulfillment_upstream_requests_total{delivery="sync",endpoint="default/events",outcome="ok",route="balance"} 1`); len(lines) != 1 {
		t.Errorf("upstream metric missing: %v", s.metric("fulfillment_upstream_requests_total"))
	}
}

func TestDeadline(t *testing.T) {
	s, up := startGeneric(t)

	// The upstream answers 503 after 400ms; ten attempts would take 4s, the deadline is 1s. Generic has no
	// fallback here, so the sender gets 502 (and retries later) in time.
	start := time.Now()
	resp, content := s.post("/events", []byte(`{"event":"slow"}`), eventsToken)
	elapsed := time.Since(start)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502: %s", resp.StatusCode, content)
	}
	if elapsed >= time.Second {
		t.Errorf("answered after %v, past the 1s deadline", elapsed)
	}
	if calls := up.slowCalls.Load(); calls < 2 || calls > 3 {
		t.Errorf("%d attempts; retries must go on until, and stop at, the deadline (want 2-3)", calls)
	}

	// With a route fallback, the sender gets it in time, marked as a deadline fallback.
	start = time.Now()
	resp, content = s.post("/events", []byte(`{"event":"slow.fallback"}`), eventsToken)
	elapsed = time.Since(start)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(content), "queued for later") {
		t.Errorf("status %d: %s", resp.StatusCode, content)
	}
	if got := resp.Header.Get("Fulfillment-Fallback"); got != "deadline" && got != "action_failed" {
		t.Errorf("Fulfillment-Fallback %q", got)
	}
	if elapsed >= time.Second {
		t.Errorf("fallback after %v, past the 1s deadline", elapsed)
	}
}

func TestHonestErrors(t *testing.T) {
	s, _ := startGeneric(t)
	withType := func(contentType string) http.Header {
		h := eventsToken.Clone()
		h.Set("Content-Type", contentType)
		return h
	}
	cases := map[string]struct {
		method, path string
		body         string
		header       http.Header
		status       int
		code         string
	}{
		"unknown path":    {"POST", "/nope", `{}`, eventsToken, 404, "not_found"},
		"method":          {"DELETE", "/events", `{}`, eventsToken, 405, "method_not_allowed"},
		"no token":        {"POST", "/events", `{"event":"ping"}`, nil, 401, "missing_credentials"},
		"wrong token":     {"POST", "/events", `{"event":"ping"}`, http.Header{"Authorization": {"Bearer nope"}}, 401, "invalid_credentials"},
		"malformed JSON":  {"POST", "/events", `{"event":`, eventsToken, 400, "malformed_request"},
		"content type":    {"POST", "/events", `event=ping`, withType("text/plain"), 415, "unsupported_media_type"},
		"body over limit": {"POST", "/events", `{"event":"ping","pad":"` + strings.Repeat("x", 3000) + `"}`, eventsToken, 413, "body_too_large"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, content := s.do(tc.method, tc.path, []byte(tc.body), tc.header)
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(content, &body); err != nil {
				t.Fatalf("not a JSON error: %s", content)
			}
			if resp.StatusCode != tc.status || body.Error.Code != tc.code || body.Error.Message == "" {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, content, tc.status, tc.code)
			}
			if strings.Contains(string(content), "events-secret-token") {
				t.Errorf("the answer echoes the token: %s", content)
			}
		})
	}

	// A GET webhook reads its query string.
	resp, content := s.do(http.MethodGet, "/events?event=ping&who=tester", nil, eventsToken)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(content), "pong tester") {
		t.Errorf("GET with query: %d %s", resp.StatusCode, content)
	}
	// The log is written through a buffer: wait for the last request's line before reading it whole.
	if !s.waitForLog(`"method":"GET"`) {
		t.Fatalf("the GET request was not logged:\n%s", s.logs.String())
	}
	if strings.Contains(s.logs.String(), "events-secret-token") {
		t.Error("the token appears in the logs")
	}
}
