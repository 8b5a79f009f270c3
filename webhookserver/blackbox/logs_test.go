package blackbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/dialogflow/apiv2/dialogflowpb"
	"cloud.google.com/go/dialogflow/cx/apiv3/cxpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// bankBotAuth is the bank-bot sample's credential.
var bankBotAuth = basicAuth("dialogflow", "change-me-bank-bot")

// esRequest is a Dialogflow ES request of the bank-bot sample, with its own responseId (the sample deduplicates
// on it).
func esRequest(t *testing.T, responseID, intent, text string, params map[string]any) []byte {
	t.Helper()
	parameters, err := structpb.NewStruct(params)
	if err != nil {
		t.Fatal(err)
	}
	body, err := protojson.Marshal(&dialogflowpb.WebhookRequest{
		ResponseId: responseID,
		Session:    "projects/demo-proj/agent/sessions/sess-" + responseID,
		QueryResult: &dialogflowpb.QueryResult{QueryText: text, Parameters: parameters,
			Intent: &dialogflowpb.Intent{DisplayName: intent}, LanguageCode: "en"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// withRequestID is header plus the X-Request-Id that finds the request's log lines.
func withRequestID(header http.Header, id string) http.Header {
	with := header.Clone()
	if with == nil {
		with = http.Header{}
	}
	with.Set("X-Request-Id", id)
	return with
}

// logLine is the JSON log line with message msg and, when requestID is not "", that requestId; nil if there
// is none.
func (s *server) logLine(msg, requestID string) map[string]any {
	s.t.Helper()
	for _, text := range strings.Split(s.logs.String(), "\n") {
		var line map[string]any
		if json.Unmarshal([]byte(text), &line) != nil {
			continue
		}
		if line["msg"] == msg && (requestID == "" || line["requestId"] == requestID) {
			return line
		}
	}
	return nil
}

// waitForLogLine waits until the server has logged the line (a request's line follows its answer).
func (s *server) waitForLogLine(msg, requestID string) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if line := s.logLine(msg, requestID); line != nil {
			return line
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no %q line for request %s", msg, requestID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkFields reports every field of line that is not as wanted; "" wants the field absent.
func checkFields(t *testing.T, what string, line map[string]any, want map[string]any) {
	t.Helper()
	for key, value := range want {
		got, present := line[key]
		switch {
		case value == "" && present:
			t.Errorf("%s: %s = %v, want it absent", what, key, got)
		case value != "" && fmt.Sprint(got) != fmt.Sprint(value):
			t.Errorf("%s: %s = %v, want %v (line %v)", what, key, got, value, line)
		}
	}
}

// TestSampleFallbackNeverAnswersATemplate: the bank-bot sample asked for a balance without an account. The
// route's call and its fallback both read params.account; the end user hears the endpoint's fallback, never
// the template's source, and the log says why. The load warned about that fallback.
func TestSampleFallbackNeverAnswersATemplate(t *testing.T) {
	s := startServer(t, "--manifests", samples(), "--endpoint", "bank-bot")
	warning := s.waitForLogLine("configuration warning", "")
	if warning == nil || !strings.HasPrefix(fmt.Sprint(warning["warning"]), "IntentRoute default/bank-bot-balance: spec.fallback.text reads params.account") {
		t.Errorf("no load warning about bank-bot-balance's fallback: %v", warning)
	}

	resp, content := s.post("/bank-bot", esRequest(t, "no-account-1", "GetAccountBalance", "what's my balance", nil),
		withRequestID(bankBotAuth, "no-account-1"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Fulfillment-Fallback") != "action_failed" {
		t.Fatalf("want 200 with Fulfillment-Fallback: action_failed, got %d %q: %s", resp.StatusCode, resp.Header.Get("Fulfillment-Fallback"), content)
	}
	if strings.Contains(string(content), "${") {
		t.Errorf("the answer holds a template's source: %s", content)
	}
	answer := &dialogflowpb.WebhookResponse{}
	if err := strict.Unmarshal(content, answer); err != nil {
		t.Fatalf("Dialogflow would refuse the answer: %v\n%s", err, content)
	}
	if want := "Sorry, I can't reach the bank right now. Please try again in a minute."; answer.GetFulfillmentText() != want {
		t.Errorf("fulfillmentText %q, want the endpoint's fallback %q", answer.GetFulfillmentText(), want)
	}

	line := s.waitForLogLine("request answered", "no-account-1")
	checkFields(t, "the fallback's line", line, map[string]any{"level": "WARN", "outcome": "fallback",
		"fallback": "action_failed", "route": "bank-bot-balance"})
	if !strings.Contains(fmt.Sprint(line["error"]), "no such key: account") ||
		!strings.Contains(fmt.Sprint(line["fallbackError"]), "IntentRoute default/bank-bot-balance spec.fallback.text") {
		t.Errorf("the line does not say why: error %q, fallbackError %q", line["error"], line["fallbackError"])
	}
}

// TestRequestLogLines: at the default level each request's line says what arrived (dialect, what routes match
// on, the platform's id, the session), the route or no_route, the outcome and why, and nothing the end user
// said or filled in.
func TestRequestLogLines(t *testing.T) {
	s := startSamples(t)
	const userText, userValue = "hello, it is ana-3141 speaking", "ana-3141-value"

	s.post("/bank-bot", esRequest(t, "es-1", "Default Welcome Intent", userText, map[string]any{"nickname": userValue}),
		withRequestID(bankBotAuth, "log-es"))
	checkFields(t, "ES", s.waitForLogLine("request answered", "log-es"), map[string]any{
		"level": "INFO", "endpoint": "default/bank-bot", "dialect": "DialogflowES", "intent": "Default Welcome Intent",
		"deliveryId": "es-1", "session": "projects/demo-proj/agent/sessions/sess-es-1", "status": 200,
		"outcome": "answered", "route": "bank-bot-welcome", "fallback": "", "error": "", "text": "", "parameters": ""})

	s.post("/bank-bot", esRequest(t, "es-2", "Order Pizza", userText, nil), withRequestID(bankBotAuth, "log-no-route"))
	checkFields(t, "no route", s.waitForLogLine("request answered", "log-no-route"), map[string]any{
		"intent": "Order Pizza", "outcome": "fallback", "fallback": "no_route", "route": "no_route"})

	cx, err := protojson.Marshal(&cxpb.WebhookRequest{
		DetectIntentResponseId: "cx-1",
		IntentInfo:             &cxpb.WebhookRequest_IntentInfo{DisplayName: "order.status"},
		FulfillmentInfo:        &cxpb.WebhookRequest_FulfillmentInfo{Tag: "order-status"},
		SessionInfo: &cxpb.SessionInfo{Session: "projects/p/locations/global/agents/a/sessions/cx-sess",
			Parameters: map[string]*structpb.Value{"order_id": structpb.NewStringValue(userValue)}},
		Query: &cxpb.WebhookRequest_Text{Text: userText},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.post("/order-bot", cx, http.Header{"X-Webhook-Token": {"change-me-order-bot-token"}, "X-Request-Id": {"log-cx"}})
	checkFields(t, "CX", s.waitForLogLine("request answered", "log-cx"), map[string]any{
		"dialect": "DialogflowCX", "intent": "order.status", "tag": "order-status", "deliveryId": "cx-1/order-status",
		"session": "projects/p/locations/global/agents/a/sessions/cx-sess", "outcome": "answered", "route": "order-bot-status"})

	fixture, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "webhookserver", "dialect", "testdata", "rasa-request.json"))
	if err != nil {
		t.Fatal(err)
	}
	rasa := strings.NewReplacer("where is my order 12345", userText, `"12345"`, `"`+userValue+`"`).Replace(string(fixture))
	s.post("/webhook", []byte(rasa), http.Header{"Authorization": {"Bearer change-me-rasa-token"}, "X-Request-Id": {"log-rasa"}})
	checkFields(t, "Rasa", s.waitForLogLine("request answered", "log-rasa"), map[string]any{
		"dialect": "Rasa", "intent": "order_status", "action": "action_order_status", "session": "user-42",
		"outcome": "answered", "route": "rasa-order-status"})

	logs := s.logs.String()
	for _, personal := range []string{"ana-3141", "request detail"} {
		if strings.Contains(logs, personal) {
			t.Errorf("the info log holds %q:\n%s", personal, logs)
		}
	}
}

// TestDebugLogExplainsTheMatch: --log-level debug adds, before each request's line, what the end user said,
// the routes considered and why each did not answer, and what a failing upstream answered.
func TestDebugLogExplainsTheMatch(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error": "account 4711 is closed"}`))
	}))
	defer upstream.Close()
	dir := t.TempDir()
	writeFile(t, dir, "probe.yaml", fmt.Sprintf(`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: probe}
spec:
  dialect: Generic
  path: /probe
  auth: {allowUnauthenticated: true}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: probe-close}
spec:
  endpointRef: {name: probe}
  match: {events: [account.close]}
  call: {url: %q, method: POST}
`, upstream.URL))
	s := startServer(t, "--manifests", samples(), "--manifests", dir, "--endpoint", "bank-bot,probe", "--log-level", "debug")

	s.post("/bank-bot", esRequest(t, "debug-1", "GetAccountBalance", "my balance please", map[string]any{"kind": "savings"}),
		withRequestID(bankBotAuth, "debug-1"))
	detail := s.waitForLogLine("request detail", "debug-1")
	checkFields(t, "detail", detail, map[string]any{"level": "DEBUG", "text": "my balance please", "parameters": `{"kind":"savings"}`})
	var match []string
	for _, m := range detail["match"].([]any) {
		match = append(match, fmt.Sprint(m))
	}
	want := []string{`bank-bot-balance-demo: guard failed, counted as false: params.account == "demo": no such key: account`,
		"bank-bot-balance: matched"}
	if !slices.Equal(match, want) {
		t.Errorf("match %q, want %q", match, want)
	}
	// The answer's line follows the detail's; the server writes them one after the other.
	if s.waitForLogLine("request answered", "debug-1") == nil {
		t.Error("no request line after the detail")
	}

	s.post("/bank-bot", esRequest(t, "debug-2", "Order Pizza", "a pizza", nil), withRequestID(bankBotAuth, "debug-2"))
	detail = s.waitForLogLine("request detail", "debug-2")
	if fmt.Sprint(detail["match"]) != "[no route lists this request's intent, action, tag or event (nor matches on a guard alone)]" {
		t.Errorf("no-route match %v", detail["match"])
	}

	s.post("/probe", []byte(`{"event": "account.close"}`), http.Header{"X-Request-Id": {"debug-3"}})
	detail = s.waitForLogLine("request detail", "debug-3")
	checkFields(t, "upstream failure", detail, map[string]any{"upstreamAnswer": `{"error": "account 4711 is closed"}`})
	line := s.waitForLogLine("request answered", "debug-3")
	if strings.Contains(fmt.Sprint(line), "4711") {
		t.Errorf("the request's line quotes the upstream's answer: %v", line)
	}
}
