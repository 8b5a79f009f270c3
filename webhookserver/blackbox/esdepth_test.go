package blackbox

import (
	"net/http"
	"testing"

	"cloud.google.com/go/dialogflow/apiv2/dialogflowpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// esDepthManifest is an ES endpoint whose menu route answers a card, quick replies and messages for two
// integrations and sets contexts, and whose PIN route counts tries in a context it reads back.
const esDepthManifest = `apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: teller}
spec:
  dialect: DialogflowES
  path: /teller
  auth: {allowUnauthenticated: true}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: main-menu}
spec:
  endpointRef: {name: teller}
  match: {intents: [Main Menu]}
  respond:
    text: What would you like to do?
    messages:
    - card:
        title: Main menu
        subtitle: For ${params.name}
        imageURL: https://example.com/menu.png
        buttons:
        - text: Balance
        - {text: Help, postback: "https://example.com/help"}
    - quickReplies: {title: Or tap, replies: [Balance, Transfer]}
    - {text: Menu for Messenger, platform: FACEBOOK}
    - {text: Here is the menu, platform: ACTIONS_ON_GOOGLE}
    - platform: ACTIONS_ON_GOOGLE
      card: {title: Main menu, buttons: [{text: Help, postback: "https://example.com/help"}]}
    - {platform: ACTIONS_ON_GOOGLE, quickReplies: {replies: [Balance, Transfer]}}
    contexts:
    - name: menu
      lifespanCount: 2
      parameters: {shown: '"main"'}
    - name: awaiting_pin
      lifespanCount: 3
      parameters: {tries: "0"}
    clearContexts: [transfer]
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: pin-awaited}
spec:
  endpointRef: {name: teller}
  priority: 10
  match:
    intents: [Balance PIN]
    when: has(request.contexts.awaiting_pin) && request.contexts.awaiting_pin.parameters.tries < 3.0
  respond:
    text: PIN attempt ${string(int(request.contexts.awaiting_pin.parameters.tries) + 1)}, ${string(request.contexts.awaiting_pin.lifespanCount)} turns left.
    contexts:
    - name: awaiting_pin
      lifespanCount: 3
      parameters: {tries: request.contexts.awaiting_pin.parameters.tries + 1.0}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: pin-unexpected}
spec:
  endpointRef: {name: teller}
  match: {intents: [Balance PIN]}
  respond:
    text: Say main menu first.
    clearAllContexts: true
`

// TestDialogflowESDepth: a route's card, quick replies, platform messages and contexts reach Dialogflow in its own
// types, and the contexts Dialogflow sends back select and feed the next route.
func TestDialogflowESDepth(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "teller.yaml", esDepthManifest)
	s := startServer(t, "--manifests", dir)
	const session = "projects/p/agent/sessions/s1"
	const contexts = session + "/contexts/"

	menu := postES(t, s, &dialogflowpb.WebhookRequest{ResponseId: "menu-1", Session: session,
		QueryResult: &dialogflowpb.QueryResult{Intent: &dialogflowpb.Intent{DisplayName: "Main Menu"}, LanguageCode: "en",
			Parameters: mustStruct(t, map[string]any{"name": "Ann"}),
			OutputContexts: []*dialogflowpb.Context{
				{Name: contexts + "transfer", LifespanCount: 1},
				{Name: contexts + "__system_counters__", LifespanCount: 1},
			}}})
	aog := dialogflowpb.Intent_Message_ACTIONS_ON_GOOGLE
	help := &dialogflowpb.Intent_Message_BasicCard_Button_OpenUriAction{Uri: "https://example.com/help"}
	want := &dialogflowpb.WebhookResponse{
		FulfillmentText: "What would you like to do?",
		FulfillmentMessages: []*dialogflowpb.Intent_Message{
			{Message: &dialogflowpb.Intent_Message_Card_{Card: &dialogflowpb.Intent_Message_Card{
				Title: "Main menu", Subtitle: "For Ann", ImageUri: "https://example.com/menu.png",
				Buttons: []*dialogflowpb.Intent_Message_Card_Button{
					{Text: "Balance", Postback: "Balance"}, {Text: "Help", Postback: "https://example.com/help"}}}}},
			{Message: &dialogflowpb.Intent_Message_QuickReplies_{QuickReplies: &dialogflowpb.Intent_Message_QuickReplies{
				Title: "Or tap", QuickReplies: []string{"Balance", "Transfer"}}}},
			{Platform: dialogflowpb.Intent_Message_FACEBOOK, Message: &dialogflowpb.Intent_Message_Text_{
				Text: &dialogflowpb.Intent_Message_Text{Text: []string{"Menu for Messenger"}}}},
			{Platform: aog, Message: &dialogflowpb.Intent_Message_SimpleResponses_{
				SimpleResponses: &dialogflowpb.Intent_Message_SimpleResponses{
					SimpleResponses: []*dialogflowpb.Intent_Message_SimpleResponse{{TextToSpeech: "Here is the menu"}}}}},
			{Platform: aog, Message: &dialogflowpb.Intent_Message_BasicCard_{BasicCard: &dialogflowpb.Intent_Message_BasicCard{
				Title: "Main menu", Buttons: []*dialogflowpb.Intent_Message_BasicCard_Button{{Title: "Help", OpenUriAction: help}}}}},
			{Platform: aog, Message: &dialogflowpb.Intent_Message_Suggestions_{Suggestions: &dialogflowpb.Intent_Message_Suggestions{
				Suggestions: []*dialogflowpb.Intent_Message_Suggestion{{Title: "Balance"}, {Title: "Transfer"}}}}},
		},
		OutputContexts: []*dialogflowpb.Context{
			{Name: contexts + "menu", LifespanCount: 2, Parameters: mustStruct(t, map[string]any{"shown": "main"})},
			{Name: contexts + "awaiting_pin", LifespanCount: 3, Parameters: mustStruct(t, map[string]any{"tries": 0})},
			{Name: contexts + "transfer"},
		},
	}
	if !proto.Equal(menu, want) {
		t.Fatalf("menu answer:\n got %s\nwant %s", protojson.Format(menu), protojson.Format(want))
	}

	// Dialogflow sends the contexts back, one turn older: the guarded route reads and updates them.
	older := func(cs []*dialogflowpb.Context) []*dialogflowpb.Context {
		var kept []*dialogflowpb.Context
		for _, c := range cs {
			if c.GetLifespanCount() > 0 {
				kept = append(kept, &dialogflowpb.Context{Name: c.GetName(), LifespanCount: c.GetLifespanCount() - 1,
					Parameters: c.GetParameters()})
			}
		}
		return kept
	}
	pinRequest := func(id string, cs []*dialogflowpb.Context) *dialogflowpb.WebhookRequest {
		return &dialogflowpb.WebhookRequest{ResponseId: id, Session: session, QueryResult: &dialogflowpb.QueryResult{
			Intent: &dialogflowpb.Intent{DisplayName: "Balance PIN"}, LanguageCode: "en", OutputContexts: cs}}
	}
	pin := postES(t, s, pinRequest("pin-1", older(menu.GetOutputContexts())))
	if pin.GetFulfillmentText() != "PIN attempt 1, 2 turns left." || len(pin.GetOutputContexts()) != 1 ||
		pin.GetOutputContexts()[0].GetParameters().GetFields()["tries"].GetNumberValue() != 1 {
		t.Errorf("PIN answer with the awaiting_pin context: %s", protojson.Format(pin))
	}

	// Three tries later the guard no longer holds: the other route ends every context but the system's.
	spent := []*dialogflowpb.Context{
		{Name: contexts + "awaiting_pin", LifespanCount: 2, Parameters: mustStruct(t, map[string]any{"tries": 3})},
		{Name: contexts + "menu", LifespanCount: 1},
		{Name: contexts + "__system_counters__", LifespanCount: 1},
	}
	unexpected := postES(t, s, pinRequest("pin-2", spent))
	want = &dialogflowpb.WebhookResponse{FulfillmentText: "Say main menu first.",
		FulfillmentMessages: []*dialogflowpb.Intent_Message{{Message: &dialogflowpb.Intent_Message_Text_{
			Text: &dialogflowpb.Intent_Message_Text{Text: []string{"Say main menu first."}}}}},
		OutputContexts: []*dialogflowpb.Context{{Name: contexts + "awaiting_pin"}, {Name: contexts + "menu"}}}
	if !proto.Equal(unexpected, want) {
		t.Errorf("PIN answer after three tries:\n got %s\nwant %s", protojson.Format(unexpected), protojson.Format(want))
	}
}

// postES posts an ES request and decodes the answer strictly, as Dialogflow does.
func postES(t *testing.T, s *server, request *dialogflowpb.WebhookRequest) *dialogflowpb.WebhookResponse {
	t.Helper()
	body, err := protojson.Marshal(request)
	if err != nil {
		t.Fatal(err)
	}
	resp, content := s.post("/teller", body, jsonContent)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Fulfillment-Fallback") != "" {
		t.Fatalf("status %d, fallback %q: %s", resp.StatusCode, resp.Header.Get("Fulfillment-Fallback"), content)
	}
	answer := &dialogflowpb.WebhookResponse{}
	if err := strict.Unmarshal(content, answer); err != nil {
		t.Fatalf("Dialogflow would refuse the answer: %v\n%s", err, content)
	}
	return answer
}

func mustStruct(t *testing.T, fields map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(fields)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
