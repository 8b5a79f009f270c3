package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"cloud.google.com/go/dialogflow/cx/apiv3/cxpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// TestDialogflowCXPromoCodeSample applies the Dialogflow CX sample on its own, as its README section tells, and
// drives its promo-code form validation as Dialogflow CX would: an unknown code is INVALID with a null session
// parameter, so CX prompts again; a known one is FILLED upper-cased. Dialogflow's own types decode each answer
// strictly.
func TestDialogflowCXPromoCodeSample(t *testing.T) {
	const ns = "e2e-cx-promo"
	kubectl(t, "create", "namespace", ns)
	t.Cleanup(func() { _, _ = kubectlResult("delete", "namespace", ns, "--wait=false") })
	kubectl(t, "apply", "-n", ns, "-f", "config/samples/dialogflow-cx-orders/")
	kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "webhookendpoint/order-bot", "--timeout=120s")
	url := localURL(t, ns, "order-bot")
	token := http.Header{"X-Webhook-Token": {"change-me-order-bot-token"}}

	tests := []struct {
		code      string
		wantState cxpb.PageInfo_FormInfo_ParameterInfo_ParameterState
		wantValue *structpb.Value
	}{
		{"nope99", cxpb.PageInfo_FormInfo_ParameterInfo_INVALID, structpb.NewNullValue()},
		{"welcome5", cxpb.PageInfo_FormInfo_ParameterInfo_FILLED, structpb.NewStringValue("WELCOME5")},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			var answer *cxpb.WebhookResponse
			// The route may reach the pods a moment after the endpoint is Ready: retry until it answers.
			eventually(t, 30*time.Second, "the promo-code route's answer", func() error {
				status, content, err := post(url, promoCodeRequest(t, tt.code), token)
				if err != nil {
					return err
				}
				if status != http.StatusOK {
					return fmt.Errorf("status %d, answer %s", status, content)
				}
				answer = &cxpb.WebhookResponse{}
				if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal([]byte(content), answer); err != nil {
					t.Fatalf("Dialogflow CX would refuse the answer: %v\n%s", err, content)
				}
				if len(answer.GetPageInfo().GetFormInfo().GetParameterInfo()) == 0 {
					return fmt.Errorf("no form verdict yet (the route is not served yet?): %s", content)
				}
				return nil
			})
			infos := answer.GetPageInfo().GetFormInfo().GetParameterInfo()
			if len(infos) != 1 || infos[0].GetDisplayName() != "promo_code" || infos[0].GetState() != tt.wantState {
				t.Fatalf("parameterInfo %v, want promo_code %v", infos, tt.wantState)
			}
			if got := answer.GetSessionInfo().GetParameters()["promo_code"]; got.String() != tt.wantValue.String() {
				t.Errorf("session promo_code %v, want %v", got, tt.wantValue)
			}
			if tt.wantState == cxpb.PageInfo_FormInfo_ParameterInfo_FILLED &&
				infos[0].GetValue().GetStringValue() != tt.wantValue.GetStringValue() {
				t.Errorf("form value %v, want %v", infos[0].GetValue(), tt.wantValue)
			}
			if messages := answer.GetFulfillmentResponse().GetMessages(); len(messages) != 1 || messages[0].GetText() == nil {
				t.Errorf("messages %v, want the text saying why", messages)
			}
		})
	}
}

// promoCodeRequest is what Dialogflow CX sends when the promo-code form collects code, with a new
// detectIntentResponseId, as every call has (the sample deduplicates by it).
func promoCodeRequest(t testing.TB, code string) []byte {
	t.Helper()
	request := &cxpb.WebhookRequest{
		DetectIntentResponseId: fmt.Sprintf("e2e-promo-%d", time.Now().UnixNano()),
		FulfillmentInfo:        &cxpb.WebhookRequest_FulfillmentInfo{Tag: "validate-promo"},
		PageInfo: &cxpb.PageInfo{CurrentPage: "projects/p/locations/global/agents/a/flows/f/pages/promo",
			DisplayName: "Promo code", FormInfo: &cxpb.PageInfo_FormInfo{ParameterInfo: []*cxpb.PageInfo_FormInfo_ParameterInfo{{
				DisplayName: "promo_code", Required: true, State: cxpb.PageInfo_FormInfo_ParameterInfo_FILLED,
				Value: structpb.NewStringValue(code), JustCollected: true}}}},
		SessionInfo: &cxpb.SessionInfo{Session: "projects/p/locations/global/agents/a/sessions/e2e-promo",
			Parameters: map[string]*structpb.Value{"promo_code": structpb.NewStringValue(code)}},
		LanguageCode: "en",
	}
	body, err := protojson.Marshal(request)
	if err != nil {
		t.Fatal(err)
	}
	return body
}
