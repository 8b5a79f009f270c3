package es_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/dialogflow/apiv2/dialogflowpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/es"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

const contextPrefix = session + "/contexts/"

// richCard is a card as respond.go renders it: the second button's postback defaulted to its text.
var richCard = &model.Card{Title: "Main menu", Subtitle: "What next?", ImageURL: "https://example.com/menu.png",
	Buttons: []model.Button{{Text: "Website", Postback: "https://example.com"}, {Text: "Balance", Postback: "Balance"}}}

func TestEncodeRichMessagesAreAcceptedByDialogflow(t *testing.T) {
	req := decodeFixture(t)
	image := &model.Image{URL: "https://example.com/p.png", AccessibilityText: "a picture"}
	replies := &model.QuickReplies{Title: "Pick one", Replies: []string{"Balance", "Transfer"}}
	tests := map[string]struct {
		messages []model.Message
		want     []*dialogflowpb.Intent_Message
	}{
		"image": {
			messages: []model.Message{{Image: image}},
			want: []*dialogflowpb.Intent_Message{{Message: &dialogflowpb.Intent_Message_Image_{
				Image: &dialogflowpb.Intent_Message_Image{ImageUri: image.URL, AccessibilityText: "a picture"}}}},
		},
		"card": {
			messages: []model.Message{{Card: richCard}},
			want:     []*dialogflowpb.Intent_Message{cardMessage(dialogflowpb.Intent_Message_PLATFORM_UNSPECIFIED)},
		},
		"card for Facebook": {
			messages: []model.Message{{Card: richCard, Platform: "FACEBOOK"}},
			want:     []*dialogflowpb.Intent_Message{cardMessage(dialogflowpb.Intent_Message_FACEBOOK)},
		},
		"quick replies for Telegram": {
			messages: []model.Message{{QuickReplies: replies, Platform: "TELEGRAM"}},
			want: []*dialogflowpb.Intent_Message{{Platform: dialogflowpb.Intent_Message_TELEGRAM,
				Message: &dialogflowpb.Intent_Message_QuickReplies_{QuickReplies: &dialogflowpb.Intent_Message_QuickReplies{
					Title: "Pick one", QuickReplies: []string{"Balance", "Transfer"}}}}},
		},
		"text and payload for Slack, then the default text": {
			messages: []model.Message{{Text: "hi Slack", Payload: map[string]any{"blocks": []any{}}, Platform: "SLACK"},
				{Text: "hi"}},
			want: []*dialogflowpb.Intent_Message{
				withPlatform(textMessage("hi Slack"), dialogflowpb.Intent_Message_SLACK),
				withPlatform(payloadMessage(t, map[string]any{"blocks": []any{}}), dialogflowpb.Intent_Message_SLACK),
				textMessage("hi"),
			},
		},
		"every generic kind of one message, in order": {
			messages: []model.Message{{Text: "t", Image: image, Card: richCard, QuickReplies: replies,
				Payload: map[string]any{"p": 1}, Platform: "LINE"}},
			want: []*dialogflowpb.Intent_Message{
				withPlatform(textMessage("t"), dialogflowpb.Intent_Message_LINE),
				{Platform: dialogflowpb.Intent_Message_LINE, Message: &dialogflowpb.Intent_Message_Image_{
					Image: &dialogflowpb.Intent_Message_Image{ImageUri: image.URL, AccessibilityText: "a picture"}}},
				cardMessage(dialogflowpb.Intent_Message_LINE),
				{Platform: dialogflowpb.Intent_Message_LINE, Message: &dialogflowpb.Intent_Message_QuickReplies_{
					QuickReplies: &dialogflowpb.Intent_Message_QuickReplies{Title: "Pick one", QuickReplies: []string{"Balance", "Transfer"}}}},
				withPlatform(payloadMessage(t, map[string]any{"p": 1}), dialogflowpb.Intent_Message_LINE),
			},
		},
		"kinds ES has no place for are left out": {
			messages: []model.Message{{OutputAudioText: &model.AudioText{Text: "x"}}, {Text: "kept"},
				{Response: &model.ResponseTemplate{Name: "utter_x"}}},
			want: []*dialogflowpb.Intent_Message{textMessage("kept")},
		},
		"Actions on Google: text, image, card, quick replies": {
			messages: []model.Message{
				{Text: "Here is your menu", Platform: "ACTIONS_ON_GOOGLE"},
				{Image: image, Platform: "ACTIONS_ON_GOOGLE"},
				{Card: &model.Card{Title: "Main menu", Subtitle: "What next?", ImageURL: "https://example.com/menu.png",
					Buttons: []model.Button{{Text: "Website", Postback: "https://example.com/a?b=c"}}}, Platform: "ACTIONS_ON_GOOGLE"},
				{QuickReplies: replies, Platform: "ACTIONS_ON_GOOGLE"},
			},
			want: []*dialogflowpb.Intent_Message{
				aog(&dialogflowpb.Intent_Message_SimpleResponses_{SimpleResponses: &dialogflowpb.Intent_Message_SimpleResponses{
					SimpleResponses: []*dialogflowpb.Intent_Message_SimpleResponse{{TextToSpeech: "Here is your menu"}}}}),
				aog(&dialogflowpb.Intent_Message_BasicCard_{BasicCard: &dialogflowpb.Intent_Message_BasicCard{
					Image: &dialogflowpb.Intent_Message_Image{ImageUri: image.URL, AccessibilityText: "a picture"}}}),
				aog(&dialogflowpb.Intent_Message_BasicCard_{BasicCard: &dialogflowpb.Intent_Message_BasicCard{
					Title: "Main menu", Subtitle: "What next?",
					Image: &dialogflowpb.Intent_Message_Image{ImageUri: "https://example.com/menu.png"},
					Buttons: []*dialogflowpb.Intent_Message_BasicCard_Button{{Title: "Website",
						OpenUriAction: &dialogflowpb.Intent_Message_BasicCard_Button_OpenUriAction{Uri: "https://example.com/a?b=c"}}}}}),
				aog(&dialogflowpb.Intent_Message_Suggestions_{Suggestions: &dialogflowpb.Intent_Message_Suggestions{
					Suggestions: []*dialogflowpb.Intent_Message_Suggestion{{Title: "Balance"}, {Title: "Transfer"}}}}),
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body, err := req.Encode(&model.Answer{Text: "Main", Messages: tt.messages})
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			want := &dialogflowpb.WebhookResponse{FulfillmentText: "Main", FulfillmentMessages: tt.want}
			if got := decodeStrict(t, body); !proto.Equal(got, want) {
				t.Errorf("Encode:\n got %s\nwant %s", body, protojson.Format(want))
			}
		})
	}
}

func TestEncodeRefusesAnActionsOnGoogleCardButtonThatOpensNoURL(t *testing.T) {
	for _, postback := range []string{"Balance", "mailto:a@example.com", "https://", "/relative"} {
		_, err := decodeFixture(t).Encode(&model.Answer{Messages: []model.Message{{Platform: "ACTIONS_ON_GOOGLE",
			Card: &model.Card{Title: "c", Buttons: []model.Button{{Text: "Go", Postback: postback}}}}}})
		var encodeErr *dialect.EncodeError
		if !errors.As(err, &encodeErr) || !strings.Contains(encodeErr.Message, "messages[0].card.buttons[0]") ||
			!strings.Contains(encodeErr.Message, "quickReplies") {
			t.Errorf("postback %q: error %v, want an EncodeError naming the button and quickReplies", postback, err)
		}
	}
}

func TestEncodeContextsAreAcceptedByDialogflow(t *testing.T) {
	req := decodeWithContexts(t)
	tests := map[string]struct {
		answer *model.Answer
		want   []*dialogflowpb.Context
	}{
		"set, lower-cased, with parameters": {
			answer: &model.Answer{Contexts: []model.Context{
				{Name: "Menu", LifespanCount: 2, Parameters: map[string]any{"from": "welcome", "n": int64(1)}},
				{Name: "awaiting_pin", LifespanCount: 0},
			}},
			want: []*dialogflowpb.Context{
				{Name: contextPrefix + "menu", LifespanCount: 2, Parameters: mustStruct(t, map[string]any{"from": "welcome", "n": 1})},
				{Name: contextPrefix + "awaiting_pin"},
			},
		},
		"clear": {
			answer: &model.Answer{ClearContexts: []string{"Awaiting_PIN", "never-set"}},
			want:   []*dialogflowpb.Context{{Name: contextPrefix + "awaiting_pin"}, {Name: contextPrefix + "never-set"}},
		},
		"clear all but the session's and the system's, sorted": {
			answer: &model.Answer{ClearAllContexts: true},
			want: []*dialogflowpb.Context{
				{Name: contextPrefix + "awaiting_pin"}, {Name: contextPrefix + "menu"}, {Name: contextPrefix + "order-followup"},
			},
		},
		"a context set wins over its clear": {
			answer: &model.Answer{Contexts: []model.Context{{Name: "menu", LifespanCount: 3}},
				ClearContexts: []string{"MENU", "awaiting_pin"}, ClearAllContexts: true},
			want: []*dialogflowpb.Context{
				{Name: contextPrefix + "menu", LifespanCount: 3},
				{Name: contextPrefix + "awaiting_pin"},
				{Name: contextPrefix + "order-followup"},
			},
		},
		"session parameters come first and survive clear all": {
			answer: &model.Answer{Parameters: map[string]any{"tries": 2.0}, ClearAllContexts: true,
				Contexts: []model.Context{{Name: "awaiting_pin", LifespanCount: 1, Parameters: map[string]any{"tries": 2.0}}}},
			want: []*dialogflowpb.Context{
				{Name: contextPrefix + "session-vars", LifespanCount: 50,
					Parameters: mustStruct(t, map[string]any{"user": "ann", "tries": 2})},
				{Name: contextPrefix + "awaiting_pin", LifespanCount: 1, Parameters: mustStruct(t, map[string]any{"tries": 2})},
				{Name: contextPrefix + "menu"},
				{Name: contextPrefix + "order-followup"},
			},
		},
		"an explicit clear of the session context ends it": {
			answer: &model.Answer{ClearContexts: []string{"session-vars"}},
			want:   []*dialogflowpb.Context{{Name: contextPrefix + "session-vars"}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body, err := req.Encode(tt.answer)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			want := &dialogflowpb.WebhookResponse{OutputContexts: tt.want}
			if got := decodeStrict(t, body); !proto.Equal(got, want) {
				t.Errorf("Encode:\n got %s\nwant %s", body, protojson.Format(want))
			}
		})
	}
}

func TestEncodeRefusesContextsItCannotWrite(t *testing.T) {
	tests := map[string]struct {
		req         dialect.Decoded
		answer      *model.Answer
		wantMessage string
	}{
		"a route context named as the session context": {
			req:         decodeWithContexts(t),
			answer:      &model.Answer{Contexts: []model.Context{{Name: "Session-Vars", LifespanCount: 5}}},
			wantMessage: `the answer sets the context "Session-Vars", the endpoint's session context`,
		},
		"contexts without a session": {
			req:         es.Adopt(&model.Request{}),
			answer:      &model.Answer{ClearContexts: []string{"menu"}},
			wantMessage: "no session",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tt.req.Encode(tt.answer)
			var encodeErr *dialect.EncodeError
			if !errors.As(err, &encodeErr) || !strings.Contains(encodeErr.Message, tt.wantMessage) {
				t.Fatalf("error %v, want an EncodeError saying %q", err, tt.wantMessage)
			}
		})
	}
}

// TestContextsRoundTrip feeds the contexts of one answer back as Dialogflow does in the next request.
func TestContextsRoundTrip(t *testing.T) {
	first, err := es.New().Decode(dialect.Input{Method: http.MethodPost, Body: marshal(t, platformRequest(t, nil))})
	if err != nil {
		t.Fatal(err)
	}
	answer, err := first.Encode(&model.Answer{Contexts: []model.Context{
		{Name: "awaiting_pin", LifespanCount: 2, Parameters: map[string]any{"tries": int64(1)}}}})
	if err != nil {
		t.Fatal(err)
	}
	next := platformRequest(t, nil, decodeStrict(t, answer).GetOutputContexts()...)
	second, err := es.New().Decode(dialect.Input{Method: http.MethodPost, Body: marshal(t, next)})
	if err != nil {
		t.Fatal(err)
	}
	if got := evalCEL(t, second.Request(), `request.contexts.awaiting_pin.parameters.tries == 1.0 && `+
		`request.contexts.awaiting_pin.lifespanCount == 2`); got != true {
		t.Errorf("the context did not come back: %v", second.Request().Views().Contexts)
	}
}

func TestRequestContextsInCEL(t *testing.T) {
	req := decodeWithContexts(t).Request()
	tests := map[string]any{
		`request.contexts["awaiting_pin"].parameters.tries`:      3.0,
		`request.contexts["awaiting_pin"].lifespanCount`:         int64(4),
		`request.contexts.awaiting_pin.name`:                     "awaiting_pin",
		`request.contexts["order-followup"].parameters.order_id`: "12345",
		`request.contexts["session-vars"].parameters.user`:       "ann",
		`request.contexts.Menu.lifespanCount`:                    int64(0), // absent in the request
		`size(request.contexts.Menu.parameters)`:                 int64(0),
		`"__system_counters__" in request.contexts`:              true,
		`has(request.contexts.menu)`:                             false,
		`size(request.contexts)`:                                 int64(5),
	}
	for src, want := range tests {
		if got := evalCEL(t, req, src); got != want {
			t.Errorf("%s = %v (%T), want %v (%T)", src, got, got, want, want)
		}
	}
	if got := evalCEL(t, decodeFixture(t).Request(), `request.contexts["order-followup"].lifespanCount`); got != int64(2) {
		t.Errorf("fixture's order-followup lifespanCount = %v", got)
	}
	if got := evalCEL(t, &model.Request{}, `has(request.contexts)`); got != false {
		t.Errorf("a request without contexts has request.contexts: %v", got)
	}
}

// decodeWithContexts decodes a request carrying several contexts, as Dialogflow sends them: a route's, the
// session context, a system context, and one without lifespan or parameters (a Menu context Dialogflow would
// have lower-cased, to show ids are kept as sent).
func decodeWithContexts(t testing.TB) dialect.Decoded {
	t.Helper()
	request := platformRequest(t.(*testing.T), nil,
		&dialogflowpb.Context{Name: contextPrefix + "order-followup", LifespanCount: 1,
			Parameters: mustStruct(t, map[string]any{"order_id": "12345"})},
		&dialogflowpb.Context{Name: contextPrefix + "awaiting_pin", LifespanCount: 4,
			Parameters: mustStruct(t, map[string]any{"tries": 3})},
		&dialogflowpb.Context{Name: contextPrefix + "session-vars", LifespanCount: 40,
			Parameters: mustStruct(t, map[string]any{"user": "ann"})},
		&dialogflowpb.Context{Name: contextPrefix + "__system_counters__", LifespanCount: 1},
		&dialogflowpb.Context{Name: contextPrefix + "Menu"},
	)
	req, err := es.New().Decode(dialect.Input{Method: http.MethodPost, Body: marshal(t, request)})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func evalCEL(t *testing.T, req *model.Request, src string) any {
	t.Helper()
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	program, err := env.Compile(src)
	if err != nil {
		t.Fatalf("compile %s: %v", src, err)
	}
	got, err := program.Eval(context.Background(), &expr.Vars{Request: req})
	if err != nil {
		t.Fatalf("eval %s: %v", src, err)
	}
	return got
}

func cardMessage(platform dialogflowpb.Intent_Message_Platform) *dialogflowpb.Intent_Message {
	return &dialogflowpb.Intent_Message{Platform: platform, Message: &dialogflowpb.Intent_Message_Card_{
		Card: &dialogflowpb.Intent_Message_Card{Title: "Main menu", Subtitle: "What next?",
			ImageUri: "https://example.com/menu.png", Buttons: []*dialogflowpb.Intent_Message_Card_Button{
				{Text: "Website", Postback: "https://example.com"}, {Text: "Balance", Postback: "Balance"}}}}}
}

func withPlatform(m *dialogflowpb.Intent_Message, platform dialogflowpb.Intent_Message_Platform) *dialogflowpb.Intent_Message {
	m.Platform = platform
	return m
}

func aog(message any) *dialogflowpb.Intent_Message {
	m := &dialogflowpb.Intent_Message{Platform: dialogflowpb.Intent_Message_ACTIONS_ON_GOOGLE}
	switch message := message.(type) {
	case *dialogflowpb.Intent_Message_SimpleResponses_:
		m.Message = message
	case *dialogflowpb.Intent_Message_BasicCard_:
		m.Message = message
	case *dialogflowpb.Intent_Message_Suggestions_:
		m.Message = message
	}
	return m
}
