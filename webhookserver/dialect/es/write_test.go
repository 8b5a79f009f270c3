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
	for range rng.IntN(3) {
		r.FulfillmentMessages = append(r.FulfillmentMessages,
			dialogflow.Message{Text: dialogflow.Text{Text: [1]string{text()}}, Payload: values()})
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
	checkWriteJSON(t, webhookResponse{FulfillmentMessages: []dialogflow.Message{{}}, OutputContexts: []outputContext{{}},
		FollowupEventInput: &eventInput{}})
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
			r.FulfillmentMessages = []dialogflow.Message{{Text: dialogflow.Text{Text: [1]string{text}}}, {Payload: values}}
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
