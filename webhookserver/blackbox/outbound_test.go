package blackbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// bankManifest is a Dialogflow ES bank bot whose routes call upstream (a loopback recording server): the
// README's balance route, with the bank API's token from a Secret, and a route whose headers are templates.
func bankManifest(upstream string) string {
	return fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: bank-basic-auth}
stringData: {username: dialogflow, password: bank-basic-password}
---
apiVersion: v1
kind: Secret
metadata: {name: bank-api-token}
stringData: {token: Bearer bank-api-secret-token}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bank}
spec:
  dialect: DialogflowES
  path: /bank
  auth:
    basic: {secretRef: {name: bank-basic-auth}}
  fallback: {text: "Sorry, I can't reach the bank right now."}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: balance}
spec:
  endpointRef: {name: bank}
  match: {intents: [GetAccountBalance]}
  call:
    url: %[1]s/accounts/${params.account}/balance
    method: GET
    headers:
    - name: Authorization
      valueFrom: {secretKeyRef: {name: bank-api-token, key: token}}
    respond:
      text: Balance ${response.body.balance}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: profile}
spec:
  endpointRef: {name: bank}
  match: {intents: [GetProfile]}
  call:
    url: %[1]s/profile
    method: GET
    headers:
    - {name: X-User, value: "${params.user}"}
    - {name: X-Session, value: "session ${request.session}"}
    respond:
      text: Profile found
`, upstream)
}

// recordedRequest is what the recording upstream saw of one request.
type recordedRequest struct {
	target string // the request target as it arrived: escaped path and query
	path   string // decoded
	query  string
	header http.Header
}

// recordingUpstream answers every request with a balance, except the balance of the account "moved", which
// redirects to /statements/current on the same host, and records them all.
type recordingUpstream struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recordedRequest
}

func newRecordingUpstream(t *testing.T) *recordingUpstream {
	u := &recordingUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.requests = append(u.requests, recordedRequest{target: r.RequestURI, path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone()})
		u.mu.Unlock()
		if r.URL.Path == "/accounts/moved/balance" {
			http.Redirect(w, r, "/statements/current", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"balance": 42.5}`))
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *recordingUpstream) received() []recordedRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.requests)
}

func startBank(t *testing.T) (*server, *recordingUpstream) {
	up := newRecordingUpstream(t)
	dir := t.TempDir()
	writeFile(t, dir, "bank.yaml", bankManifest(up.URL))
	return startServer(t, "--manifests", dir), up
}

// askBank sends a Dialogflow ES request for intent with params and returns the answer's text and fallback
// header.
func askBank(t *testing.T, s *server, intent string, params map[string]any) (text, fallback string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"responseId": fmt.Sprintf("r-%s-%v", intent, params),
		"session":    "projects/p/agent/sessions/s-42",
		"queryResult": map[string]any{
			"intent":     map[string]any{"displayName": intent},
			"parameters": params,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, content := s.post("/bank", body, basicAuth("dialogflow", "bank-basic-password"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, content)
	}
	var answer struct {
		FulfillmentText string `json:"fulfillmentText"`
	}
	if err := json.Unmarshal(content, &answer); err != nil {
		t.Fatalf("%v: %s", err, content)
	}
	return answer.FulfillmentText, resp.Header.Get("Fulfillment-Fallback")
}

// A chatbot user's value is one path segment of the route's URL, whatever it holds.
func TestCallURLValuesStayInTheirPathSegment(t *testing.T) {
	s, up := startBank(t)
	cases := map[string]struct {
		account, target string
	}{
		"a path and query": {"../../admin/users/42?delete=true&x=", "/accounts/..%2F..%2Fadmin%2Fusers%2F42%3Fdelete=true&x=/balance"},
		"a fragment":       {"checking#", "/accounts/checking%23/balance"},
		"a dot-segment":    {"..", "/accounts/%2E%2E/balance"},
		"a plain account":  {"checking", "/accounts/checking/balance"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := len(up.received())
			text, fallback := askBank(t, s, "GetAccountBalance", map[string]any{"account": tc.account})
			if text != "Balance 42.5" || fallback != "" {
				t.Errorf("answer %q (fallback %q)", text, fallback)
			}
			received := up.received()[before:]
			if len(received) != 1 {
				t.Fatalf("the upstream received %d requests, want 1: %+v", len(received), received)
			}
			got := received[0]
			if got.target != tc.target {
				t.Errorf("the upstream received %q, want %q", got.target, tc.target)
			}
			// The value arrives whole, as the one segment between /accounts/ and /balance, with no query.
			if got.path != "/accounts/"+tc.account+"/balance" || got.query != "" {
				t.Errorf("decoded path %q, query %q", got.path, got.query)
			}
			if got.header.Get("Authorization") != "Bearer bank-api-secret-token" {
				t.Error("the route's secret header did not reach the route's URL")
			}
		})
	}
}

func TestCallHeaderTemplatesCarryTheRequest(t *testing.T) {
	s, up := startBank(t)
	text, fallback := askBank(t, s, "GetProfile", map[string]any{"user": "alice"})
	if text != "Profile found" || fallback != "" {
		t.Fatalf("answer %q (fallback %q)", text, fallback)
	}
	received := up.received()
	if len(received) != 1 {
		t.Fatalf("the upstream received %d requests, want 1", len(received))
	}
	if got := received[0].header; got.Get("X-User") != "alice" || got.Get("X-Session") != "session projects/p/agent/sessions/s-42" {
		t.Errorf("headers X-User %q, X-Session %q", got.Get("X-User"), got.Get("X-Session"))
	}

	// A value that would end the header and start another is refused: the chatbot gets the fallback and the
	// upstream nothing.
	text, fallback = askBank(t, s, "GetProfile", map[string]any{"user": "alice\r\nX-Admin: true"})
	if text != "Sorry, I can't reach the bank right now." || fallback != "action_failed" {
		t.Errorf("answer %q (fallback %q), want the endpoint's fallback", text, fallback)
	}
	if n := len(up.received()); n != 1 {
		t.Errorf("the upstream received %d requests, want still 1", n)
	}
	if !s.waitForLog("header X-User rendered to a value that is not a valid header value") {
		t.Errorf("the log does not say why the call failed:\n%s", s.logs.String())
	}
}

func TestSecretHeadersNeverReachARedirectTarget(t *testing.T) {
	s, up := startBank(t)
	text, fallback := askBank(t, s, "GetAccountBalance", map[string]any{"account": "moved"})
	if text != "Sorry, I can't reach the bank right now." || fallback != "action_failed" {
		t.Errorf("answer %q (fallback %q), want the endpoint's fallback", text, fallback)
	}
	for _, got := range up.received() {
		if got.path != "/accounts/moved/balance" {
			t.Errorf("the redirect target %s was called (Authorization %t)", got.target, got.header.Get("Authorization") != "")
		}
	}
	if len(up.received()) == 0 {
		t.Error("the route's URL was not called")
	}
	if !s.waitForLog("redirect not followed: the call carries credentials") {
		t.Errorf("the log does not say why the call failed:\n%s", s.logs.String())
	}
}

// TestCallsNeverReachLinkLocalAddresses: a call to a link-local or cloud metadata address is refused before a
// connection is made, an IPv6 link-local address with a zone included, and the sender is told to retry (502).
// Admission refuses a zoned literal, so it is served from a file marked admitted, as a hand-edited ConfigMap is.
func TestCallsNeverReachLinkLocalAddresses(t *testing.T) {
	targets := map[string]string{
		"zoned":    "http://[fe80::1%25lo]:9/x",
		"metadata": "http://169.254.169.254/latest/meta-data/",
		"mapped":   "http://[::ffff:169.254.169.254]/latest/meta-data/",
	}
	var routes strings.Builder
	for event, url := range targets {
		fmt.Fprintf(&routes, `
  - name: %[1]s
    spec:
      endpointRef: {name: events}
      match: {events: [%[1]s]}
      call: {url: %[2]q, method: GET}`, event, url)
	}
	config := writeFile(t, t.TempDir(), "config.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookServerConfig
admitted: true
endpoints:
- name: events
  namespace: default
  spec:
    dialect: Generic
    path: /events
    auth: {allowUnauthenticated: true}
  routes:`+routes.String()+"\n")
	s := startServer(t, "--config", config)
	for event := range targets {
		resp, content := s.post("/events", []byte(`{"event":"`+event+`"}`), nil)
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("%s: %d %s, want 502 (the call refused)", event, resp.StatusCode, content)
		}
	}
	waitUntil(t, 5*time.Second, "three refusals logged", func() bool {
		return strings.Count(s.logs.String(), "link-local or cloud metadata address refused") >= 3
	})
}

// TestCallAttemptsWithoutRetry: a call whose route leaves retry out tries a GET, PUT or DELETE twice and a POST
// or PATCH once (they may not be idempotent); retry: {} gets its defaults, 3 attempts.
func TestCallAttemptsWithoutRetry(t *testing.T) {
	calls := map[string]string{ // event -> call, %s the route's own upstream
		"get":        `{url: "%s", method: GET}`,
		"put":        `{url: "%s", method: PUT}`,
		"delete":     `{url: "%s", method: DELETE}`,
		"post":       `{url: "%s"}`,
		"patch":      `{url: "%s", method: PATCH}`,
		"post-retry": `{url: "%s", retry: {}}`,
	}
	manifest := `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: events}
spec: {dialect: Generic, auth: {allowUnauthenticated: true}}
`
	// One upstream per route, each always unavailable: an upstream's circuit breaker opens after 5 failures.
	attempts := map[string]*atomic.Int32{}
	for event, call := range calls {
		attempts[event] = &atomic.Int32{}
		upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			attempts[event].Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		t.Cleanup(upstream.Close)
		manifest += fmt.Sprintf(`---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: %s}
spec: {endpointRef: {name: events}, match: {events: [%s]}, call: %s}
`, event, event, fmt.Sprintf(call, upstream.URL))
	}
	dir := t.TempDir()
	writeFile(t, dir, "events.yaml", manifest)
	s := startServer(t, "--manifests", dir)

	want := map[string]int32{"get": 2, "put": 2, "delete": 2, "post": 1, "patch": 1, "post-retry": 3}
	for event, n := range want {
		if resp, content := s.post("/webhook", []byte(`{"event":"`+event+`"}`), nil); resp.StatusCode != http.StatusBadGateway {
			t.Errorf("%s: %d %s, want 502", event, resp.StatusCode, content)
		}
		if got := attempts[event].Load(); got != n {
			t.Errorf("%s: %d attempts, want %d", event, got, n)
		}
	}
}
