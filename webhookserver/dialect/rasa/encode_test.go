package rasa_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/rasa"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

func TestEncodeFixtureAnswer(t *testing.T) {
	body, err := decodeFixture(t).Encode(&model.Answer{
		Text: "Order 12345 has shipped.", Parameters: map[string]any{"order_status": "shipped"}})
	if err != nil {
		t.Fatal(err)
	}
	checkSchema(t, body)
	if got, want := asJSON(t, body), asJSON(t, dialecttest.Fixture(t, "rasa-response.json")); !reflect.DeepEqual(got, want) {
		t.Errorf("Encode:\n got %s\nwant %v", body, want)
	}
}

func TestEncode(t *testing.T) {
	tests := map[string]struct {
		answer *model.Answer
		want   string
	}{
		"empty answer keeps both lists, as the SDK does": {
			answer: &model.Answer{},
			want:   `{"events":[],"responses":[]}`,
		},
		"slots sorted by name, null resets": {
			answer: &model.Answer{Parameters: map[string]any{"b": 1, "a": nil, "c": map[string]any{"x": true}}},
			want: `{"events":[{"event":"slot","timestamp":null,"name":"a","value":null},` +
				`{"event":"slot","timestamp":null,"name":"b","value":1},` +
				`{"event":"slot","timestamp":null,"name":"c","value":{"x":true}}],"responses":[]}`,
		},
		"messages instead of the text, then the payload": {
			answer: &model.Answer{Text: "not sent: there are messages", Payload: map[string]any{"kind": "map"},
				Messages: []model.Message{{Text: "one"}, {Payload: map[string]any{"buttons": []any{"y", "n"}}},
					{Text: "both", Payload: map[string]any{"k": "v"}}, {}}},
			want: `{"events":[],"responses":[{"text":"one"},{"custom":{"buttons":["y","n"]}},` +
				`{"text":"both","custom":{"k":"v"}},{"custom":{"kind":"map"}}]}`,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body, err := decodeFixture(t).Encode(tt.answer)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tt.want {
				t.Errorf("Encode:\n got %s\nwant %s", body, tt.want)
			}
			checkSchema(t, body)
		})
	}
}

func TestEncodeError(t *testing.T) {
	errorEncoder, ok := rasa.New().(dialect.ErrorEncoder)
	if !ok {
		t.Fatal("the Rasa codec does not implement dialect.ErrorEncoder")
	}
	tests := map[string]struct {
		req  *model.Request
		want string
	}{
		"unknown action":        {decodeFixture(t).Request(), `{"error":"no route for action_order_status","action_name":"action_order_status"}`},
		"request not decodable": {nil, `{"error":"no route for action_order_status","action_name":""}`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body := errorEncoder.EncodeError(tt.req, http.StatusNotFound, "not_found", "no route for action_order_status")
			if string(body) != tt.want {
				t.Errorf("EncodeError = %s, want %s", body, tt.want)
			}
		})
	}
}

func decodeFixture(t testing.TB) dialect.Decoded {
	t.Helper()
	req, err := rasa.New().Decode(dialect.Input{Method: http.MethodPost, Body: dialecttest.Fixture(t, "rasa-request.json")})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func asJSON(t *testing.T, body []byte) any {
	t.Helper()
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return value
}
