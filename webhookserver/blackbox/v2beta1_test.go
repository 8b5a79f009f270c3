package blackbox

import (
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/dialogflow/apiv2beta1/dialogflowpb"
	"google.golang.org/protobuf/encoding/protojson"
)

// betaManifest is an ES endpoint whose handoff route answers beta callers with the v2beta1-only fields and v2
// callers with text, and a second endpoint that declares its agent v2beta1 with versionFrom.
const betaManifest = `apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: support}
spec:
  dialect: DialogflowES
  path: /support
  auth: {allowUnauthenticated: true}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: handoff-beta}
spec:
  endpointRef: {name: support}
  priority: 10
  match: {intents: [Handoff], versions: [v2beta1]}
  respond:
    text: "Connecting you (${request.version}, ${string(size(request.body.alternativeQueryResults))} alternatives)."
    liveAgentHandoff: true
    endInteraction: true
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: handoff-v2}
spec:
  endpointRef: {name: support}
  match: {intents: [Handoff]}
  respond: {text: "Call us on 0800 123 (${request.version})."}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: goodbye}
spec:
  endpointRef: {name: support}
  match: {intents: [Goodbye]}
  respond: {text: "Bye.", endInteraction: true}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: declared}
spec:
  dialect: DialogflowES
  path: /declared
  auth: {allowUnauthenticated: true}
  versionFrom: '"v2beta1"'
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: declared-handoff}
spec:
  endpointRef: {name: declared}
  match: {intents: [Handoff]}
  respond: {text: "Bye.", endInteraction: true}
`

// An ES v2beta1 request is answered: its extra fields reach the route, and the answer's v2beta1-only fields are
// accepted by the v2beta1 types; a v2 request to the same endpoint gets the v2 route.
func TestDialogflowESV2Beta1(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "support.yaml", betaManifest)
	s := startServer(t, "--manifests", dir)

	request := &dialogflowpb.WebhookRequest{
		ResponseId: "beta-0001",
		Session:    "projects/p/agent/sessions/s1",
		QueryResult: &dialogflowpb.QueryResult{
			QueryText:    "a human please",
			LanguageCode: "en",
			Intent:       &dialogflowpb.Intent{DisplayName: "Handoff"},
			KnowledgeAnswers: &dialogflowpb.KnowledgeAnswers{Answers: []*dialogflowpb.KnowledgeAnswers_Answer{
				{Answer: "Agents work 9 to 5.", MatchConfidence: 0.7},
			}},
		},
		AlternativeQueryResults: []*dialogflowpb.QueryResult{{QueryText: "a human please"}, {QueryText: "human"}},
	}
	body, err := protojson.Marshal(request)
	if err != nil {
		t.Fatal(err)
	}
	resp, content := s.post("/support", body, jsonContent)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("v2beta1 request: status %d: %s", resp.StatusCode, content)
	}
	answer := &dialogflowpb.WebhookResponse{}
	if err := strict.Unmarshal(content, answer); err != nil {
		t.Fatalf("Dialogflow v2beta1 would refuse the answer: %v\n%s", err, content)
	}
	if answer.GetFulfillmentText() != "Connecting you (v2beta1, 2 alternatives)." ||
		!answer.GetLiveAgentHandoff() || !answer.GetEndInteraction() {
		t.Errorf("v2beta1 answer %s, want the beta route's text with liveAgentHandoff and endInteraction", content)
	}

	// The same intent from a v2 agent: the v2 route, and an answer without beta fields.
	v2 := `{"responseId":"v2-0001","session":"projects/p/agent/sessions/s1","queryResult":{"intent":{"displayName":"Handoff"}}}`
	resp, content = s.post("/support", []byte(v2), jsonContent)
	if got := answerText(t, resp, content); got != "Call us on 0800 123 (v2)." || strings.Contains(string(content), "liveAgentHandoff") {
		t.Errorf("v2 answer %s", content)
	}

	// A v2 agent would refuse an answer with endInteraction: it gets the fallback, which it takes.
	resp, content = s.post("/support", []byte(strings.NewReplacer("v2-0001", "v2-0003", "Handoff", "Goodbye").Replace(v2)), jsonContent)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Fulfillment-Fallback") == "" || strings.Contains(string(content), "endInteraction") {
		t.Errorf("endInteraction to a v2 caller: %d fallback=%q %s, want the fallback", resp.StatusCode, resp.Header.Get("Fulfillment-Fallback"), content)
	}
	if !s.waitForLog("endInteraction, a field of the Dialogflow ES v2beta1 API") {
		t.Error("no log line saying why the v2 caller got the fallback")
	}

	// An endpoint that declares its agent v2beta1 may end the interaction on any request.
	resp, content = s.post("/declared", []byte(strings.Replace(v2, "v2-0001", "v2-0002", 1)), jsonContent)
	answer = &dialogflowpb.WebhookResponse{}
	if resp.StatusCode != http.StatusOK || strict.Unmarshal(content, answer) != nil || !answer.GetEndInteraction() {
		t.Errorf("declared v2beta1 endpoint: %d %s", resp.StatusCode, content)
	}
}
