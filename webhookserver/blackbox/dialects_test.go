package blackbox

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/dialogflow/apiv2/dialogflowpb"
	"cloud.google.com/go/dialogflow/cx/apiv3/cxpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// strict decodes like Dialogflow: an unknown field is an error.
var strict = protojson.UnmarshalOptions{DiscardUnknown: false}

// postCX posts a Dialogflow CX request to path, wants 200, and decodes the answer as strictly as Dialogflow CX
// does.
func (s *server) postCX(t *testing.T, path string, request *cxpb.WebhookRequest, header http.Header) *cxpb.WebhookResponse {
	t.Helper()
	body, err := protojson.Marshal(request)
	if err != nil {
		t.Fatal(err)
	}
	resp, content := s.post(path, body, header)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, content)
	}
	answer := &cxpb.WebhookResponse{}
	if err := strict.Unmarshal(content, answer); err != nil {
		t.Fatalf("Dialogflow CX would refuse the answer: %v\n%s", err, content)
	}
	return answer
}

// The sample bots that need no upstream, served together as `make run-local` serves them.
func startSamples(t *testing.T) *server {
	return startServer(t, "--manifests", samples(), "--endpoint", "bank-bot,order-bot,rasa-actions")
}

func TestDialogflowES(t *testing.T) {
	s := startSamples(t)
	params, _ := structpb.NewStruct(map[string]any{"account": "demo"})
	request := &dialogflowpb.WebhookRequest{
		ResponseId: "8d1d2f6e-0001",
		Session:    "projects/demo-proj/agent/sessions/sess-123",
		QueryResult: &dialogflowpb.QueryResult{
			QueryText:    "what is the balance of my demo account",
			Parameters:   params,
			Intent:       &dialogflowpb.Intent{DisplayName: "GetAccountBalance"},
			LanguageCode: "en",
		},
	}
	body, err := protojson.Marshal(request)
	if err != nil {
		t.Fatal(err)
	}

	resp, content := s.post("/bank-bot", body, basicAuth("dialogflow", "change-me-bank-bot"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, content)
	}
	answer := &dialogflowpb.WebhookResponse{}
	if err := strict.Unmarshal(content, answer); err != nil {
		t.Fatalf("Dialogflow would refuse the answer: %v\n%s", err, content)
	}
	if answer.GetFulfillmentText() != "Your demo account balance is 1234.56 EUR." {
		t.Errorf("fulfillmentText %q", answer.GetFulfillmentText())
	}
	if len(answer.GetOutputContexts()) != 1 {
		t.Fatalf("want the session parameters in one output context, got %v", answer.GetOutputContexts())
	}
	context := answer.GetOutputContexts()[0]
	if !strings.HasPrefix(context.GetName(), request.GetSession()+"/contexts/") {
		t.Errorf("context name %q is not in the session", context.GetName())
	}
	if got := context.GetParameters().GetFields()["last_balance"].GetNumberValue(); got != 1234.56 {
		t.Errorf("last_balance = %v", got)
	}
	if resp.Header.Get("Fulfillment-Fallback") != "" {
		t.Errorf("unexpected fallback %q", resp.Header.Get("Fulfillment-Fallback"))
	}

	// The sample endpoint has idempotency on: the same responseId again is a duplicate and gets the stored
	// answer, marked as replayed.
	resp, replayed := s.post("/bank-bot", body, basicAuth("dialogflow", "change-me-bank-bot"))
	if resp.Header.Get("Idempotent-Replayed") != "true" || string(replayed) != string(content) {
		t.Errorf("duplicate responseId: replayed=%q, same answer=%v", resp.Header.Get("Idempotent-Replayed"), string(replayed) == string(content))
	}

	// The welcome route answers with rich messages.
	request.ResponseId = "8d1d2f6e-0002"
	request.QueryResult.Intent.DisplayName = "Default Welcome Intent"
	body, _ = protojson.Marshal(request)
	_, content = s.post("/bank-bot", body, basicAuth("dialogflow", "change-me-bank-bot"))
	answer = &dialogflowpb.WebhookResponse{}
	if err := strict.Unmarshal(content, answer); err != nil {
		t.Fatalf("Dialogflow would refuse the answer: %v\n%s", err, content)
	}
	if len(answer.GetFulfillmentMessages()) != 2 || answer.GetFulfillmentMessages()[1].GetPayload() == nil {
		t.Errorf("want a text and a payload message, got %s", content)
	}

	// Wrong credentials: 401 with a reason, and no answer.
	resp, content = s.post("/bank-bot", body, basicAuth("dialogflow", "wrong"))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(content), "invalid_credentials") {
		t.Errorf("wrong password: %d %s", resp.StatusCode, content)
	}
}

func TestDialogflowCX(t *testing.T) {
	s := startSamples(t)
	request := &cxpb.WebhookRequest{
		DetectIntentResponseId: "3f0c5d2e-0002",
		IntentInfo:             &cxpb.WebhookRequest_IntentInfo{DisplayName: "order.status", LastMatchedIntent: "projects/p/locations/global/agents/a/intents/i"},
		FulfillmentInfo:        &cxpb.WebhookRequest_FulfillmentInfo{Tag: "order-status"},
		SessionInfo: &cxpb.SessionInfo{
			Session:    "projects/p/locations/global/agents/a/sessions/sess-123",
			Parameters: map[string]*structpb.Value{"order_id": structpb.NewStringValue("12345")},
		},
		Query:        &cxpb.WebhookRequest_Text{Text: "where is my order 12345"},
		LanguageCode: "en",
	}
	answer := s.postCX(t, "/order-bot", request, http.Header{"X-Webhook-Token": {"change-me-order-bot-token"}})
	messages := answer.GetFulfillmentResponse().GetMessages()
	if len(messages) != 1 || messages[0].GetText().GetText()[0] != "Order 12345 has shipped." {
		t.Errorf("messages %v", messages)
	}
	if answer.GetFulfillmentResponse().GetMergeBehavior() != cxpb.WebhookResponse_FulfillmentResponse_REPLACE {
		t.Errorf("mergeBehavior %v", answer.GetFulfillmentResponse().GetMergeBehavior())
	}
	parameters := answer.GetSessionInfo().GetParameters()
	if parameters["order_status"].GetStringValue() != "shipped" {
		t.Errorf("order_status %v", parameters["order_status"])
	}
	if _, isNull := parameters["temp"].GetKind().(*structpb.Value_NullValue); !isNull {
		t.Errorf("temp should be null (deleted), got %v", parameters["temp"])
	}
	if got := answer.GetPayload().GetFields()["trackingUrl"].GetStringValue(); got != "https://example.com/t/12345" {
		t.Errorf("payload trackingUrl %q", got)
	}

	// A token in the wrong header is refused.
	body, err := protojson.Marshal(request)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := s.post("/order-bot", body, http.Header{"Authorization": {"Bearer change-me-order-bot-token"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("token in Authorization instead of X-Webhook-Token: %d", resp.StatusCode)
	}
}

func TestRasa(t *testing.T) {
	s := startSamples(t)
	token := http.Header{"Authorization": {"Bearer change-me-rasa-token"}}
	fixture, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "webhookserver", "dialect", "testdata", "rasa-request.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, content := s.post("/webhook", fixture, token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, content)
	}
	var answer struct {
		Events []struct {
			Event string `json:"event"`
			Name  string `json:"name"`
			Value any    `json:"value"`
		} `json:"events"`
		Responses []struct {
			Text string `json:"text"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(content, &answer); err != nil {
		t.Fatal(err)
	}
	if len(answer.Events) != 1 || answer.Events[0].Event != "slot" || answer.Events[0].Name != "order_status" || answer.Events[0].Value != "shipped" {
		t.Errorf("events %+v", answer.Events)
	}
	if len(answer.Responses) != 1 || answer.Responses[0].Text != "Order 12345 has shipped." {
		t.Errorf("responses %+v", answer.Responses)
	}

	// An action no route handles gets Rasa's own 404.
	unknown := strings.Replace(string(fixture), `"next_action":"action_order_status"`, `"next_action":"action_unknown"`, 1)
	resp, content = s.post("/webhook", []byte(unknown), token)
	var rasaError struct {
		Error      string `json:"error"`
		ActionName string `json:"action_name"`
	}
	if resp.StatusCode != http.StatusNotFound || json.Unmarshal(content, &rasaError) != nil || rasaError.ActionName != "action_unknown" {
		t.Errorf("unknown action: %d %s", resp.StatusCode, content)
	}

	// Rasa's health check is open, as rasa-sdk's; the action list names what the endpoint runs, so it takes
	// the endpoint's credentials.
	resp, content = s.do(http.MethodGet, "/health", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(content), "ok") {
		t.Errorf("GET /health: %d %s", resp.StatusCode, content)
	}
	resp, content = s.do(http.MethodGet, "/actions", nil, nil)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(errorMessage(t, content, true, ""), "missing credentials") {
		t.Errorf("GET /actions without credentials: %d %s, want 401 missing credentials with a challenge", resp.StatusCode, content)
	}
	resp, content = s.do(http.MethodGet, "/actions", nil, http.Header{"Authorization": {"Bearer not-the-token"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(errorMessage(t, content, true, ""), "invalid credentials") {
		t.Errorf("GET /actions with a wrong token: %d %s, want 401 invalid credentials", resp.StatusCode, content)
	}
	resp, content = s.do(http.MethodGet, "/actions", nil, token)
	var actions []struct{ Name string }
	if err := json.Unmarshal(content, &actions); resp.StatusCode != http.StatusOK || err != nil || len(actions) != 4 {
		t.Errorf("GET /actions with the token: %d %s", resp.StatusCode, content)
	}
}
