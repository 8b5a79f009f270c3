package generic_test

import (
	"errors"
	"math"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/generic"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

func TestEncode(t *testing.T) {
	tests := map[string]struct {
		answer *model.Answer
		want   string
	}{
		"nil answer":   {nil, `{}`},
		"empty answer": {&model.Answer{}, `{}`},
		"text only":    {&model.Answer{Text: "Balance: 42 €"}, `{"fulfillmentText":"Balance: 42 €"}`},
		"everything, in a fixed order": {
			answer: &model.Answer{
				Text:       "done",
				Parameters: map[string]any{"b": 2, "a": nil},
				Payload:    map[string]any{"url": "https://example.com/?a=1&b=2"},
				Messages:   []model.Message{{Text: "one"}, {}, {Text: "two", Payload: map[string]any{"k": []any{1, "x"}}}},
				// Dialogflow-only parts are not part of the Generic answer.
				FollowupEvent: &model.FollowupEvent{Name: "E"}, TargetPage: "p", MergeBehavior: "Replace",
			},
			want: `{"fulfillmentText":"done","parameters":{"a":null,"b":2},"payload":{"url":"https://example.com/?a=1\u0026b=2"},` +
				`"messages":[{"text":"one"},{"text":"two","payload":{"k":[1,"x"]}}]}`,
		},
		"rich messages as objects; kinds of other dialects left out": {
			answer: &model.Answer{Messages: []model.Message{
				{Image: &model.Image{URL: "https://example.com/a.png", AccessibilityText: "a parcel"}},
				{Card: &model.Card{Title: "Gold", Subtitle: "12 EUR", ImageURL: "https://example.com/g.png",
					Buttons: []model.Button{{Text: "Buy", Postback: "buy gold"}}}},
				{Card: &model.Card{Title: "Bare"}},
				{QuickReplies: &model.QuickReplies{Title: "Size?", Replies: []string{"S", "M"}}},
				{QuickReplies: &model.QuickReplies{Replies: []string{"yes"}}},
				{Image: &model.Image{URL: "https://example.com/b.png"}},
				{PlayAudio: &model.PlayAudio{AudioURI: "gs://a"}},
				{Response: &model.ResponseTemplate{Name: "utter_x"}},
			}},
			want: `{"messages":[{"image":{"url":"https://example.com/a.png","accessibilityText":"a parcel"}},` +
				`{"card":{"title":"Gold","subtitle":"12 EUR","imageURL":"https://example.com/g.png","buttons":[{"text":"Buy","postback":"buy gold"}]}},` +
				`{"card":{"title":"Bare"}},{"quickReplies":{"title":"Size?","replies":["S","M"]}},{"quickReplies":{"replies":["yes"]}},` +
				`{"image":{"url":"https://example.com/b.png"}}]}`,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body, err := generic.Adopt(&model.Request{}).Encode(tt.answer)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tt.want {
				t.Errorf("Encode:\n got %s\nwant %s", body, tt.want)
			}
		})
	}
}

func TestEncodeRefusesWhatJSONCannotHold(t *testing.T) {
	_, err := generic.Adopt(nil).Encode(&model.Answer{Payload: map[string]any{"n": math.NaN()}})
	var encodeErr *dialect.EncodeError
	if !errors.As(err, &encodeErr) {
		t.Fatalf("want a *dialect.EncodeError, got %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	codec := generic.New()
	req, err := codec.Decode(post("application/json", `{"event":"e","session":{"id":"s","parameters":{"n":1,"list":[true]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, err := req.Encode(&model.Answer{Parameters: req.Request().Parameters})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"parameters":{"list":[true],"n":1}}`; string(body) != want {
		t.Errorf("Encode = %s, want %s", body, want)
	}
}
