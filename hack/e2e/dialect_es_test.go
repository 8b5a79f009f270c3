package e2e

import (
	"net/http"
	"testing"

	"cloud.google.com/go/dialogflow/apiv2/dialogflowpb"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestDialogflowESSampleDepth applies the bank sample alone and talks to it as Dialogflow does: the main menu
// answers a card, quick replies and Google Assistant messages and sets contexts, and the PIN route answers
// only once the awaiting_pin context comes back.
func TestDialogflowESSampleDepth(t *testing.T) {
	const ns = "e2e-es-depth"
	kubectl(t, "create", "namespace", ns)
	t.Cleanup(func() { _, _ = kubectlResult("delete", "namespace", ns, "--wait=false") })
	kubectl(t, "apply", "-n", ns, "-f", "config/samples/dialogflow-es-bank/")
	kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "webhookendpoint/bank-bot", "--timeout=120s")
	bankURL := localURL(t, ns, "bank-bot")
	const session = "projects/demo-proj/agent/sessions/e2e-depth"

	menu := postESRequest(t, bankURL, &dialogflowpb.WebhookRequest{ResponseId: "e2e-depth-menu", Session: session,
		QueryResult: &dialogflowpb.QueryResult{QueryText: "menu", LanguageCode: "en",
			Intent: &dialogflowpb.Intent{DisplayName: "Main Menu"}}})
	messages := menu.GetFulfillmentMessages()
	if len(messages) != 4 {
		t.Fatalf("menu: %d messages, want a card, quick replies and two for Google Assistant:\n%s",
			len(messages), protojson.Format(menu))
	}
	card := messages[0].GetCard()
	if card.GetTitle() != "Main menu" || len(card.GetButtons()) != 2 || card.GetButtons()[0].GetPostback() != "Checking balance" ||
		card.GetButtons()[1].GetPostback() != "https://example.com/bank/help" {
		t.Errorf("menu card: %v", card)
	}
	if replies := messages[1].GetQuickReplies().GetQuickReplies(); len(replies) != 2 || replies[1] != "Savings balance" {
		t.Errorf("menu quick replies: %v", messages[1])
	}
	aog := dialogflowpb.Intent_Message_ACTIONS_ON_GOOGLE
	if messages[2].GetPlatform() != aog || messages[2].GetSimpleResponses().GetSimpleResponses()[0].GetTextToSpeech() != "What would you like to do?" ||
		messages[3].GetPlatform() != aog || len(messages[3].GetSuggestions().GetSuggestions()) != 2 {
		t.Errorf("menu messages for Google Assistant: %v, %v", messages[2], messages[3])
	}
	contexts := map[string]*dialogflowpb.Context{}
	for _, c := range menu.GetOutputContexts() {
		contexts[c.GetName()] = c
	}
	menuContext, pin := contexts[session+"/contexts/menu"], contexts[session+"/contexts/awaiting_pin"]
	if len(contexts) != 2 || menuContext.GetLifespanCount() != 2 || pin.GetLifespanCount() != 3 ||
		pin.GetParameters().GetFields()["tries"].GetNumberValue() != 0 {
		t.Fatalf("menu contexts: %v", menu.GetOutputContexts())
	}

	// Dialogflow sends the contexts back with the next request: the PIN route reads them.
	pin.LifespanCount--
	menuContext.LifespanCount--
	answer := postESRequest(t, bankURL, &dialogflowpb.WebhookRequest{ResponseId: "e2e-depth-pin", Session: session,
		QueryResult: &dialogflowpb.QueryResult{QueryText: "1234", LanguageCode: "en",
			Intent: &dialogflowpb.Intent{DisplayName: "Balance PIN"}, OutputContexts: []*dialogflowpb.Context{menuContext, pin}}})
	if got, want := answer.GetFulfillmentText(), "Thanks, PIN received (try 1 of 3)."; got != want {
		t.Errorf("PIN answer %q, want %q", got, want)
	}
	if cs := answer.GetOutputContexts(); len(cs) != 2 || cs[0].GetName() != session+"/contexts/awaiting_pin" ||
		cs[0].GetParameters().GetFields()["tries"].GetNumberValue() != 1 ||
		cs[1].GetName() != session+"/contexts/menu" || cs[1].GetLifespanCount() != 0 {
		t.Errorf("PIN contexts: %v", cs)
	}
}

// postESRequest sends request to the bank bot and decodes the answer as strictly as Dialogflow does.
func postESRequest(t *testing.T, url string, request *dialogflowpb.WebhookRequest) *dialogflowpb.WebhookResponse {
	t.Helper()
	body, err := protojson.Marshal(request)
	if err != nil {
		t.Fatal(err)
	}
	status, content, err := post(url, body, basicAuth())
	if err != nil || status != http.StatusOK {
		t.Fatalf("status %d, error %v, answer %s; want 200", status, err, content)
	}
	answer := &dialogflowpb.WebhookResponse{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal([]byte(content), answer); err != nil {
		t.Fatalf("Dialogflow would refuse the answer: %v\n%s", err, content)
	}
	return answer
}
