package es

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
)

var writeStrings = []string{"", "Order 12345 has shipped.", "<b>&</b>", "\u2028\n\"\\", "\xff", "é 😀"}

// writeValues are parameter and payload values: ones the Writer writes and ones it leaves to encoding/json.
var writeValues = []any{
	nil, "shipped", 1.5, 1e21, 42, true, []any{"a", 2.0, nil}, map[string]any{"z": 1.0, "a": map[string]any{}},
	map[string]any(nil), []any(nil), map[string]string{"typed": "map"}, float32(0.1),
}

// randomResponse is a response with each field set or not, from choices.
func randomResponse(rng *rand.Rand) webhookResponse {
	text := func() string { return writeStrings[rng.IntN(len(writeStrings))] }
	values := func() map[string]any {
		if rng.IntN(3) == 0 {
			return nil
		}
		m := map[string]any{}
		for range rng.IntN(4) {
			m[text()] = writeValues[rng.IntN(len(writeValues))]
		}
		return m
	}
	r := webhookResponse{FulfillmentText: text(), Payload: values()}
	for range rng.IntN(4) {
		r.FulfillmentMessages = append(r.FulfillmentMessages, randomMessage(rng, text, values))
	}
	for range rng.IntN(3) {
		r.OutputContexts = append(r.OutputContexts,
			outputContext{Name: text(), LifespanCount: rng.IntN(100) - 50, Parameters: values()})
	}
	if rng.IntN(2) == 0 {
		r.FollowupEventInput = &eventInput{Name: text(), Parameters: values(), LanguageCode: text()}
	}
	return r
}

// randomMessage is a message with each kind set or not (several at once, which Encode never writes, to cover
// each kind's writing against the others').
func randomMessage(rng *rand.Rand, text func() string, values func() map[string]any) intentMessage {
	set := func() bool { return rng.IntN(3) == 0 }
	texts := func() []string {
		if set() {
			return nil
		}
		list := []string{}
		for range rng.IntN(3) {
			list = append(list, text())
		}
		return list
	}
	m := intentMessage{Payload: values(), Platform: text()}
	if set() {
		m.Text = dialogflow.Text{Text: [1]string{text()}}
	}
	if set() {
		m.Image = &image{ImageURI: text(), AccessibilityText: text()}
	}
	if set() {
		m.QuickReplies = &quickReplies{Title: text(), QuickReplies: texts()}
	}
	if set() {
		m.Card = &card{Title: text(), Subtitle: text(), ImageURI: text()}
		for range rng.IntN(3) {
			m.Card.Buttons = append(m.Card.Buttons, cardButton{Text: text(), Postback: text()})
		}
	}
	if set() {
		m.SimpleResponses = &simpleResponses{}
		for range rng.IntN(3) {
			m.SimpleResponses.SimpleResponses = append(m.SimpleResponses.SimpleResponses, simpleResponse{text()})
		}
	}
	if set() {
		m.BasicCard = &basicCard{Title: text(), Subtitle: text()}
		if set() {
			m.BasicCard.Image = &image{ImageURI: text()}
		}
		for range rng.IntN(3) {
			m.BasicCard.Buttons = append(m.BasicCard.Buttons, basicCardButton{text(), openURIAction{text()}})
		}
	}
	if set() {
		m.Suggestions = &suggestions{}
		for _, title := range texts() {
			m.Suggestions.Suggestions = append(m.Suggestions.Suggestions, suggestion{title})
		}
	}
	return m
}

// TestWriteJSONMatchesEncodingJSON: wire.Marshal writes a response as json.Marshal does, through WriteJSON or
// (for values WriteJSON leaves to it) encoding/json.
func TestWriteJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	written := 0
	for range 5000 {
		if checkWriteJSON(t, randomResponse(rng)) {
			written++
		}
	}
	if written < 1000 {
		t.Errorf("WriteJSON wrote only %d of 5000 responses", written)
	}
	checkWriteJSON(t, webhookResponse{})
	checkWriteJSON(t, webhookResponse{FulfillmentMessages: []intentMessage{{}}, OutputContexts: []outputContext{{}},
		FollowupEventInput: &eventInput{}})
	checkWriteJSON(t, webhookResponse{FulfillmentMessages: []intentMessage{{Image: &image{}, QuickReplies: &quickReplies{},
		Card: &card{}, SimpleResponses: &simpleResponses{}, BasicCard: &basicCard{Image: &image{}},
		Suggestions: &suggestions{}}}})
}

// FuzzWriteJSON builds a response from the input (its strings and JSON values) and checks wire.Marshal against
// json.Marshal.
func FuzzWriteJSON(f *testing.F) {
	f.Add("Order 12345 has shipped.", []byte(`{"trackingUrl":"https://example.com/t/12345"}`), 5, uint8(0xff))
	f.Add("<\u2028>", []byte(`{"a":[1e21,1e-7,null,true,{"\u00e9":""}]}`), -1, uint8(0))
	f.Fuzz(func(t *testing.T, text string, payload []byte, lifespan int, set uint8) {
		var values map[string]any
		_ = json.Unmarshal(payload, &values)
		var r webhookResponse
		if set&1 != 0 {
			r.FulfillmentText = text
		}
		if set&2 != 0 {
			r.FulfillmentMessages = []intentMessage{{Text: dialogflow.Text{Text: [1]string{text}}}, {Payload: values},
				{Card: &card{Title: text, Buttons: []cardButton{{Text: text, Postback: text}}}, Platform: text},
				{QuickReplies: &quickReplies{Title: text, QuickReplies: []string{text}}},
				{BasicCard: &basicCard{Title: text, Image: &image{ImageURI: text},
					Buttons: []basicCardButton{{text, openURIAction{text}}}}},
				{SimpleResponses: &simpleResponses{[]simpleResponse{{text}}}, Suggestions: &suggestions{[]suggestion{{text}}}}}
		}
		if set&4 != 0 {
			r.Payload = values
		}
		if set&8 != 0 {
			r.OutputContexts = []outputContext{{Name: text, LifespanCount: lifespan, Parameters: values}}
		}
		if set&16 != 0 {
			r.FollowupEventInput = &eventInput{Name: text, Parameters: values, LanguageCode: text}
		}
		if !checkWriteJSON(t, r) {
			t.Fatalf("WriteJSON left %#v, all JSON values, to encoding/json", r)
		}
	})
}

// checkWriteJSON checks wire.Marshal and WriteJSON against json.Marshal, and says whether WriteJSON wrote r.
func checkWriteJSON(t *testing.T, r webhookResponse) bool {
	t.Helper()
	got, err := wire.Marshal(r)
	want, jsonErr := json.Marshal(r)
	if err != nil || jsonErr != nil {
		t.Fatalf("wire.Marshal error %v, json.Marshal error %v, for %#v", err, jsonErr, r)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("wire.Marshal(%#v) =\n%s\njson.Marshal:\n%s", r, got, want)
	}
	written, ok := wire.WriteJSON(r)
	if ok && !bytes.Equal(written, want) {
		t.Fatalf("WriteJSON(%#v) =\n%s\njson.Marshal:\n%s", r, written, want)
	}
	return ok
}
