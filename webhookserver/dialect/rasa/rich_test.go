package rasa_test

import (
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/rasa"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Each message kind is the response rasa-sdk's dispatcher.utter_message writes for it.
func TestEncodeMessageKinds(t *testing.T) {
	tests := map[string]struct {
		message model.Message
		want    string
	}{
		"text":    {model.Message{Text: "hi"}, `{"text":"hi"}`},
		"payload": {model.Message{Payload: map[string]any{"k": "v"}}, `{"custom":{"k":"v"}}`},
		"image, without its alt text": {model.Message{Image: &model.Image{URL: "https://example.com/a.png", AccessibilityText: "a"}},
			`{"image":"https://example.com/a.png"}`},
		"card": {
			model.Message{Card: &model.Card{Title: "Gold", Subtitle: "12 EUR", ImageURL: "https://example.com/g.png",
				Buttons: []model.Button{{Text: "Buy", Postback: `/buy{"plan":"gold"}`}, {Text: "Later", Postback: "Later"}}}},
			`{"text":"Gold\n12 EUR","image":"https://example.com/g.png","buttons":[{"title":"Buy","payload":"/buy{\"plan\":\"gold\"}"},{"title":"Later","payload":"Later"}]}`,
		},
		"card with a title only": {model.Message{Card: &model.Card{Title: "Gold"}}, `{"text":"Gold"}`},
		"quick replies": {model.Message{QuickReplies: &model.QuickReplies{Title: "Size?", Replies: []string{"S", "M"}}},
			`{"text":"Size?","buttons":[{"title":"S","payload":"S"},{"title":"M","payload":"M"}]}`},
		"quick replies without a title": {model.Message{QuickReplies: &model.QuickReplies{Replies: []string{"yes"}}},
			`{"buttons":[{"title":"yes","payload":"yes"}]}`},
		"response template with variables": {
			model.Message{Response: &model.ResponseTemplate{Name: "utter_price",
				Variables: map[string]any{"plan": "gold", "price": 12.5}}},
			`{"plan":"gold","price":12.5,"response":"utter_price"}`,
		},
		"response template, a variable named as a response key dropped": {
			model.Message{Response: &model.ResponseTemplate{Name: "utter_x", Variables: map[string]any{"text": "t", "response": "r"}}},
			`{"response":"utter_x"}`,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body, err := rasa.Adopt(nil).Encode(&model.Answer{Messages: []model.Message{tt.message}})
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"events":[],"responses":[` + tt.want + `]}`; string(body) != want {
				t.Errorf("Encode:\n got %s\nwant %s", body, want)
			}
			checkSchema(t, body)
		})
	}
}

// Messages of kinds Rasa has no response for (Dialogflow CX's) are left out, between those it has.
func TestEncodeSkipsOtherDialectsMessages(t *testing.T) {
	body, err := rasa.Adopt(nil).Encode(&model.Answer{Messages: []model.Message{{Text: "a"},
		{PlayAudio: &model.PlayAudio{AudioURI: "gs://x"}}, {ConversationSuccess: &model.Metadata{}}, {Text: "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"events":[],"responses":[{"text":"a"},{"text":"b"}]}`; string(body) != want {
		t.Errorf("Encode:\n got %s\nwant %s", body, want)
	}
}

// Each event is the one rasa-sdk writes; restart and session_started come before the slots, which they would
// clear, and the other events after them, in the route's order.
func TestEncodeEvents(t *testing.T) {
	at := time.Date(2026, 12, 2, 23, 5, 0, 0, time.FixedZone("CET", 3600))
	tests := map[string]struct {
		events []model.Event
		want   string
	}{
		"followup": {[]model.Event{{Kind: model.EventFollowupAction, Name: "action_next"}},
			`{"event":"followup","timestamp":null,"name":"action_next"}`},
		"active loop": {[]model.Event{{Kind: model.EventActiveLoop, Name: "promo_form"}},
			`{"event":"active_loop","timestamp":null,"name":"promo_form"}`},
		"active loop stopped": {[]model.Event{{Kind: model.EventActiveLoop}},
			`{"event":"active_loop","timestamp":null,"name":null}`},
		"reminder": {
			[]model.Event{{Kind: model.EventReminder, Intent: "EXTERNAL_remind", Name: "r1", TriggerAt: at,
				Entities: map[string]any{"item": "milk"}, KillOnUserMessage: true}},
			`{"event":"reminder","timestamp":null,"intent":"EXTERNAL_remind","entities":{"item":"milk"},` +
				`"date_time":"2026-12-02T22:05:00+00:00","name":"r1","kill_on_user_msg":true}`,
		},
		"reminder without name or entities, kept on a user message": {
			[]model.Event{{Kind: model.EventReminder, Intent: "EXTERNAL_remind", TriggerAt: at.Add(123456 * time.Microsecond)}},
			`{"event":"reminder","timestamp":null,"intent":"EXTERNAL_remind","entities":null,` +
				`"date_time":"2026-12-02T22:05:00.123456+00:00","name":null,"kill_on_user_msg":false}`,
		},
		"cancel reminder by name": {[]model.Event{{Kind: model.EventCancelReminder, Name: "r1"}},
			`{"event":"cancel_reminder","timestamp":null,"name":"r1","intent":null}`},
		"cancel reminder by intent": {[]model.Event{{Kind: model.EventCancelReminder, Intent: "EXTERNAL_remind"}},
			`{"event":"cancel_reminder","timestamp":null,"name":null,"intent":"EXTERNAL_remind"}`},
		"order: resets, slots, then the rest in the route's order": {
			[]model.Event{{Kind: model.EventFollowupAction, Name: "action_a"}, {Kind: model.EventSessionStarted},
				{Kind: model.EventActiveLoop, Name: "f"}, {Kind: model.EventRestart}, {Kind: "unknown"},
				{Kind: model.EventFollowupAction}},
			`{"event":"session_started","timestamp":null},{"event":"restart","timestamp":null},` +
				`{"event":"slot","timestamp":null,"name":"plan","value":"gold"},` +
				`{"event":"followup","timestamp":null,"name":"action_a"},{"event":"active_loop","timestamp":null,"name":"f"}`,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			answer := &model.Answer{Events: tt.events}
			want := `{"events":[` + tt.want + `],"responses":[]}`
			if len(tt.events) > 1 {
				answer.Parameters = map[string]any{"plan": "gold"}
			}
			body, err := rasa.Adopt(nil).Encode(answer)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != want {
				t.Errorf("Encode:\n got %s\nwant %s", body, want)
			}
			checkSchema(t, body)
		})
	}
}

// A validate_<form> answer sets the slots it validates as rasa-sdk's FormValidationAction does.
func TestEncodeFormValidation(t *testing.T) {
	req := &model.Request{}
	req.SetViewsFrom(func() model.Views {
		return model.Views{SlotsToValidate: map[string]any{"promo_code": "BOGUS", "email": "a@example.com",
			"size": "m", "city": "Paris"}}
	})
	answer := &model.Answer{
		Text: "That code is not valid.",
		FormParameters: []model.FormParameter{
			{Name: "promo_code", Invalid: true},
			{Name: "email"},
			{Name: "size", Value: "M", HasValue: true},
			{Name: "city", Value: "ignored", HasValue: true},
			{Name: "not_validated", Invalid: true},
		},
		// A parameter names its slot outright, over the form parameter's verdict.
		Parameters: map[string]any{"city": "Lyon"},
	}
	body, err := rasa.Adopt(req).Encode(answer)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"events":[{"event":"slot","timestamp":null,"name":"city","value":"Lyon"},` +
		`{"event":"slot","timestamp":null,"name":"email","value":"a@example.com"},` +
		`{"event":"slot","timestamp":null,"name":"promo_code","value":null},` +
		`{"event":"slot","timestamp":null,"name":"size","value":"M"}],` +
		`"responses":[{"text":"That code is not valid."}]}`
	if string(body) != want {
		t.Errorf("Encode:\n got %s\nwant %s", body, want)
	}
	checkSchema(t, body)
}

// Without slots to validate (a call that is no form's validation), form parameters set nothing.
func TestEncodeFormParametersWithoutSlotsToValidate(t *testing.T) {
	body, err := rasa.Adopt(&model.Request{}).Encode(&model.Answer{
		FormParameters: []model.FormParameter{{Name: "promo_code", Invalid: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"events":[],"responses":[]}`; string(body) != want {
		t.Errorf("Encode = %s, want %s", body, want)
	}
}
