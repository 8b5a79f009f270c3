package blackbox

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

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
	if len(s.metric(`fulfillment_fallbacks_total{endpoint="default/big",reason="answer_invalid"} 1`)) != 1 {
		t.Errorf("fallback not counted: %v", s.metric("fulfillment_fallbacks_total"))
	}
}
