package blackbox

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// dialectCase is a request each dialect answers, sent to the sample bots and a Generic endpoint served together.
type dialectCase struct {
	path    string
	request string
	auth    http.Header
	rasa    bool // Rasa answers errors in its own shape
}

// startEveryDialect serves the sample chatbots and a Generic endpoint at /events (bearer events-secret-token).
func startEveryDialect(t *testing.T) (*server, map[string]dialectCase) {
	t.Helper()
	s := startServer(t, "--manifests", samples(), "--manifests", bearerEventsEndpoint(t, "\n  path: /events"),
		"--endpoint", "bank-bot,order-bot,rasa-actions,events")
	return s, map[string]dialectCase{
		"DialogflowES": {path: "/bank-bot", request: requestFile(t, "es-balance-demo.json"), auth: basicAuth("dialogflow", "change-me-bank-bot")},
		"DialogflowCX": {path: "/order-bot", request: requestFile(t, "cx-order-status.json"), auth: http.Header{"X-Webhook-Token": {"change-me-order-bot-token"}}},
		"Rasa":         {path: "/webhook", request: requestFile(t, "rasa-order-status.json"), auth: http.Header{"Authorization": {"Bearer change-me-rasa-token"}}, rasa: true},
		"Generic":      {path: "/events", request: `{"event":"e"}`, auth: http.Header{"Authorization": {"Bearer events-secret-token"}}},
	}
}

// requestFile is an example platform request from docs/requests.
func requestFile(t *testing.T, name string) string {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "docs", "requests", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(content)
}

// TestWrongContentTypeIs415InEveryDialect: a body declared in a format the dialect does not read (curl -d sends
// application/x-www-form-urlencoded) is answered 415 with what to send, in the dialect's error shape, while the
// same body declared as JSON is answered.
func TestWrongContentTypeIs415InEveryDialect(t *testing.T) {
	s, dialects := startEveryDialect(t)
	for name, tc := range dialects {
		t.Run(name, func(t *testing.T) {
			wrongType := "application/x-www-form-urlencoded"
			if name == "Generic" {
				wrongType = "text/plain" // Generic reads forms
			}
			resp, content := s.post(tc.path, []byte(tc.request), withHeader(tc.auth, "Content-Type", wrongType))
			if resp.StatusCode != http.StatusUnsupportedMediaType {
				t.Errorf("Content-Type %s: %d %s, want 415", wrongType, resp.StatusCode, content)
			}
			message := errorMessage(t, content, tc.rasa, "unsupported_media_type")
			if !strings.Contains(message, wrongType) || !strings.Contains(message, "application/json") {
				t.Errorf("the message %q does not name the type sent and the one to send", message)
			}

			resp, content = s.post(tc.path, []byte(tc.request), withHeader(tc.auth, "Content-Type", "application/json; charset=utf-8"))
			if resp.StatusCode != http.StatusOK {
				t.Errorf("the same body as JSON: %d %s, want 200", resp.StatusCode, content)
			}
		})
	}
}

// errorMessage decodes an error answer, in Rasa's shape ({"error":"...","action_name":"..."}) or the server's
// ({"error":{"code":"...","message":"..."}}) with code, and returns its message.
func errorMessage(t *testing.T, content []byte, rasa bool, code string) string {
	t.Helper()
	if rasa {
		var body struct {
			Error      *string `json:"error"`
			ActionName *string `json:"action_name"`
		}
		if err := json.Unmarshal(content, &body); err != nil || body.Error == nil || body.ActionName == nil {
			t.Fatalf("not Rasa's error shape: %s", content)
		}
		return *body.Error
	}
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(content, &body); err != nil || body.Error.Code != code {
		t.Fatalf("want the error code %s, got %s", code, content)
	}
	return body.Error.Message
}

// withHeader is header with name set to value, in a copy.
func withHeader(header http.Header, name, value string) http.Header {
	copied := header.Clone()
	copied.Set(name, value)
	return copied
}

// TestRasaErrorsInRasaShape: whatever refuses a call to a Rasa endpoint, before or after its body is read,
// answers in the Rasa SDK's error shape, which Rasa reads (action_name from a 400).
func TestRasaErrorsInRasaShape(t *testing.T) {
	s := startSamples(t)
	token := http.Header{"Authorization": {"Bearer change-me-rasa-token"}}
	request := requestFile(t, "rasa-order-status.json")
	cases := map[string]struct {
		method, path string
		body         string
		header       http.Header
		status       int
		message      string
	}{
		"no token":       {"POST", "/webhook", request, nil, 401, "missing credentials"},
		"wrong method":   {"PUT", "/webhook", request, token, 405, "POST"},
		"body too large": {"POST", "/webhook", strings.Repeat(" ", 1<<20+1), token, 413, "over"},
		"malformed body": {"POST", "/webhook", `{"next_action":`, token, 400, ""},
		"content type":   {"POST", "/webhook", request, withHeader(token, "Content-Type", "text/plain"), 415, "application/json"},
		"unknown action": {"POST", "/webhook", strings.Replace(request, "action_order_status", "action_unknown", 1), token, 404, "action_unknown"},
		"action list":    {"GET", "/actions", "", nil, 401, "missing credentials"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, content := s.do(tc.method, tc.path, []byte(tc.body), tc.header)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.status, content)
			}
			if message := errorMessage(t, content, true, ""); message == "" || !strings.Contains(message, tc.message) {
				t.Errorf("error %q, want one that mentions %q", message, tc.message)
			}
		})
	}
}

// TestFallbackMetricCountsFallbacksOnly: fulfillment_fallbacks_total counts the answers that were a fallback;
// a Generic action failure answered with an error (502, 422) is counted in fulfillment_action_errors_total
// by its error code instead.
func TestFallbackMetricCountsFallbacksOnly(t *testing.T) {
	down := "http://" + freePort(t) // nothing listens there
	dir := t.TempDir()
	writeFile(t, dir, "events.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: events}
spec:
  dialect: Generic
  auth: {allowUnauthenticated: true}
  fallback: {text: "nothing to do"}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: failing}
spec:
  endpointRef: {name: events}
  match: {events: [failing]}
  call: {url: "`+down+`/x"}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: failing-with-fallback}
spec:
  endpointRef: {name: events}
  match: {events: [failing.fallback]}
  call: {url: "`+down+`/x"}
  fallback: {text: "later"}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: unreadable}
spec:
  endpointRef: {name: events}
  match: {events: [unreadable]}
  respond: {text: "${params.missing}"}
`)
	s := startServer(t, "--manifests", dir)
	for event, want := range map[string]struct {
		status   int
		fallback string
	}{
		"failing":          {http.StatusBadGateway, ""},
		"unreadable":       {http.StatusUnprocessableEntity, ""},
		"failing.fallback": {http.StatusOK, "action_failed"},
		"unknown":          {http.StatusOK, "no_route"},
	} {
		resp, content := s.post("/webhook", []byte(`{"event":"`+event+`"}`), nil)
		if resp.StatusCode != want.status || resp.Header.Get("Fulfillment-Fallback") != want.fallback {
			t.Errorf("event %s: %d, fallback %q, %s; want %d, fallback %q", event, resp.StatusCode,
				resp.Header.Get("Fulfillment-Fallback"), content, want.status, want.fallback)
		}
	}

	wantCounts := map[string]string{
		"fulfillment_fallbacks_total":     `{delivery="sync",endpoint="default/events",reason="action_failed"} 1;{delivery="sync",endpoint="default/events",reason="no_route"} 1`,
		"fulfillment_action_errors_total": `{delivery="sync",endpoint="default/events",reason="action_failed"} 1;{delivery="sync",endpoint="default/events",reason="unprocessable_event"} 1`,
	}
	for name, want := range wantCounts {
		var got []string
		for _, line := range s.metric(name + "{") {
			got = append(got, strings.TrimPrefix(line, name))
		}
		if strings.Join(got, ";") != want {
			t.Errorf("%s:\n  got  %s\n  want %s", name, strings.Join(got, ";"), want)
		}
	}
}
