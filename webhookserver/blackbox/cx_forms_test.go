package blackbox

import (
	"net/http"
	"testing"

	"cloud.google.com/go/dialogflow/cx/apiv3/cxpb"
	"google.golang.org/protobuf/types/known/structpb"
)

// promoPage is the page of the sample agent's promo-code form.
const promoPage = "projects/p/locations/global/agents/a/flows/f-checkout/pages/p-promo"

// promoRequest is what Dialogflow CX sends when the promo-code form collects code.
func promoRequest(id, code string) *cxpb.WebhookRequest {
	return &cxpb.WebhookRequest{
		DetectIntentResponseId: id,
		FulfillmentInfo:        &cxpb.WebhookRequest_FulfillmentInfo{Tag: "validate-promo"},
		PageInfo: &cxpb.PageInfo{CurrentPage: promoPage, DisplayName: "Promo code", FormInfo: &cxpb.PageInfo_FormInfo{
			ParameterInfo: []*cxpb.PageInfo_FormInfo_ParameterInfo{{DisplayName: "promo_code", Required: true,
				State: cxpb.PageInfo_FormInfo_ParameterInfo_FILLED, Value: structpb.NewStringValue(code), JustCollected: true}}}},
		SessionInfo: &cxpb.SessionInfo{Session: "projects/p/locations/global/agents/a/sessions/sess-promo",
			Parameters: map[string]*structpb.Value{"promo_code": structpb.NewStringValue(code)}},
		Query:        &cxpb.WebhookRequest_Text{Text: code},
		LanguageCode: "en",
	}
}

// TestDialogflowCXPromoCodeValidation runs the sample's promo-code route: an unknown code is INVALID and its
// session parameter null, so CX prompts again; a known one is FILLED with the code upper-cased.
func TestDialogflowCXPromoCodeValidation(t *testing.T) {
	s := startSamples(t)
	token := http.Header{"X-Webhook-Token": {"change-me-order-bot-token"}}
	tests := []struct {
		code, wantText string
		wantState      cxpb.PageInfo_FormInfo_ParameterInfo_ParameterState
		wantValue      *structpb.Value
	}{
		{"bogus1", "Sorry, bogus1 is not a promo code we know.", cxpb.PageInfo_FormInfo_ParameterInfo_INVALID, structpb.NewNullValue()},
		{"spring10", "Code SPRING10 applied.", cxpb.PageInfo_FormInfo_ParameterInfo_FILLED, structpb.NewStringValue("SPRING10")},
	}
	for i, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			answer := s.postCX(t, "/order-bot", promoRequest("promo-"+string(rune('a'+i)), tt.code), token)
			messages := answer.GetFulfillmentResponse().GetMessages()
			if len(messages) != 1 || messages[0].GetText().GetText()[0] != tt.wantText {
				t.Errorf("messages %v, want the text %q", messages, tt.wantText)
			}
			infos := answer.GetPageInfo().GetFormInfo().GetParameterInfo()
			if len(infos) != 1 || infos[0].GetDisplayName() != "promo_code" || infos[0].GetState() != tt.wantState ||
				!infos[0].GetRequired() {
				t.Fatalf("parameterInfo %v, want promo_code required %v", infos, tt.wantState)
			}
			if tt.wantState == cxpb.PageInfo_FormInfo_ParameterInfo_FILLED &&
				infos[0].GetValue().GetStringValue() != tt.wantValue.GetStringValue() {
				t.Errorf("form value %v, want %v", infos[0].GetValue(), tt.wantValue)
			}
			got := answer.GetSessionInfo().GetParameters()["promo_code"]
			if got == nil || got.String() != tt.wantValue.String() {
				t.Errorf("session promo_code %v, want %v", got, tt.wantValue)
			}
		})
	}
}

// TestDialogflowCXConversationSuccess runs the sample's order-placed route: a text, then conversationSuccess
// with its metadata rendered.
func TestDialogflowCXConversationSuccess(t *testing.T) {
	s := startSamples(t)
	request := &cxpb.WebhookRequest{
		DetectIntentResponseId: "placed-1",
		FulfillmentInfo:        &cxpb.WebhookRequest_FulfillmentInfo{Tag: "order-placed"},
		SessionInfo: &cxpb.SessionInfo{Session: "projects/p/locations/global/agents/a/sessions/sess-placed",
			Parameters: map[string]*structpb.Value{"order_id": structpb.NewStringValue("777")}},
	}
	answer := s.postCX(t, "/order-bot", request, http.Header{"X-Webhook-Token": {"change-me-order-bot-token"}})
	messages := answer.GetFulfillmentResponse().GetMessages()
	if len(messages) != 2 || messages[0].GetText().GetText()[0] != "Thank you, order 777 is placed." {
		t.Fatalf("messages %v", messages)
	}
	metadata := messages[1].GetConversationSuccess().GetMetadata().GetFields()
	if metadata["orderId"].GetStringValue() != "777" || metadata["outcome"].GetStringValue() != "placed" {
		t.Errorf("conversationSuccess metadata %v", metadata)
	}
}

// endSessionManifest is a CX endpoint whose goodbye route ends the session.
const endSessionManifest = `apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: cx-end}
spec:
  path: /cx-end
  dialect: DialogflowCX
  auth: {allowUnauthenticated: true}
  fallback: {text: "Sorry, something went wrong."}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: cx-goodbye}
spec:
  endpointRef: {name: cx-end}
  match: {tags: [goodbye]}
  respond:
    text: Goodbye.
    endInteraction: true
`

// TestDialogflowCXEndInteraction: a route that ends the interaction moves the session to its flow's END_SESSION
// page; a call from no page cannot say which flow, so the fallback answers instead.
func TestDialogflowCXEndInteraction(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "end.yaml", endSessionManifest)
	s := startServer(t, "--manifests", dir)
	tests := map[string]struct {
		pageInfo       *cxpb.PageInfo
		wantText       string
		wantTargetPage string
	}{
		"from a page": {&cxpb.PageInfo{CurrentPage: promoPage}, "Goodbye.",
			"projects/p/locations/global/agents/a/flows/f-checkout/pages/END_SESSION"},
		"from no page": {nil, "Sorry, something went wrong.", ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			answer := s.postCX(t, "/cx-end", &cxpb.WebhookRequest{
				DetectIntentResponseId: "end-" + name,
				FulfillmentInfo:        &cxpb.WebhookRequest_FulfillmentInfo{Tag: "goodbye"},
				PageInfo:               tt.pageInfo,
				SessionInfo:            &cxpb.SessionInfo{Session: "projects/p/locations/global/agents/a/sessions/s-end"},
			}, nil)
			messages := answer.GetFulfillmentResponse().GetMessages()
			if len(messages) != 1 || messages[0].GetText().GetText()[0] != tt.wantText {
				t.Errorf("messages %v, want %q", messages, tt.wantText)
			}
			if got := answer.GetTargetPage(); got != tt.wantTargetPage {
				t.Errorf("targetPage %q, want %q", got, tt.wantTargetPage)
			}
			if tt.pageInfo == nil && !s.waitForLog("pageInfo.currentPage") {
				t.Errorf("the log does not say why the fallback answered")
			}
		})
	}
}
