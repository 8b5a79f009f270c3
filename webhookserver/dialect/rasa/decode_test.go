package rasa_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/rasa"
)

func TestDecodeFixture(t *testing.T) {
	body := dialecttest.Fixture(t, "rasa-request.json")
	req, err := dialecttest.Decode(rasa.New(), dialect.Input{Method: http.MethodPost,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: body})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := dialecttest.Request{
		Dialect:    rasa.Name,
		Action:     "action_order_status",
		Intent:     "order_status",
		Text:       "where is my order 12345",
		Session:    "user-42",
		DeliveryID: "user-42/1700000000/action_order_status",
		// The order_id entity has a slot of its name, so the slot's value is the parameter.
		Parameters: map[string]any{"order_id": "12345"},
		Headers:    map[string]string{"content-type": "application/json"},
	}
	var wantBody map[string]any
	if err := json.Unmarshal(body, &wantBody); err != nil {
		t.Fatal(err)
	}
	if got := req.Body(); !reflect.DeepEqual(got, wantBody) || got["domain"] == nil {
		t.Errorf("Body:\n got %#v\nwant %#v", got, wantBody)
	}
	if got := dialecttest.Fields(req); !reflect.DeepEqual(got, want) {
		t.Errorf("Decode:\n got %#v\nwant %#v", got, want)
	}
}

func TestDecodeParametersAndDeliveryID(t *testing.T) {
	tests := map[string]struct {
		body           string
		wantParameters map[string]any
		wantDeliveryID string
		wantSession    string
	}{
		"slots win, even unset; first entity of a name": {
			body: `{"next_action":"a","sender_id":"u1","tracker":{"slots":{"city":null,"n":2},
				"latest_message":{"entities":[{"entity":"city","value":"Paris"},{"entity":"day","value":"mon"},
				{"entity":"day","value":"tue"},{"value":"nameless"}]},"latest_event_time":1700000000.123456}}`,
			wantParameters: map[string]any{"city": nil, "n": 2.0, "day": "mon"},
			wantDeliveryID: "u1/1700000000.123456/a",
			wantSession:    "u1",
		},
		"tracker sender when the top-level one is missing": {
			body:           `{"next_action":"a","tracker":{"sender_id":"u2","latest_event_time":17}}`,
			wantDeliveryID: "u2/17/a",
			wantSession:    "u2",
		},
		"another action on the same tracker is another delivery": {
			body:           `{"next_action":"b","tracker":{"sender_id":"u2","latest_event_time":17}}`,
			wantDeliveryID: "u2/17/b",
			wantSession:    "u2",
		},
		"no event time, no delivery id": {
			body:        `{"next_action":"a","sender_id":"u3","tracker":{"slots":{}}}`,
			wantSession: "u3",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := dialecttest.Decode(rasa.New(), dialect.Input{Method: http.MethodPost, Body: []byte(tt.body)})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(req.Parameters, tt.wantParameters) {
				t.Errorf("Parameters = %#v, want %#v", req.Parameters, tt.wantParameters)
			}
			if req.DeliveryID != tt.wantDeliveryID || req.Session != tt.wantSession {
				t.Errorf("DeliveryID, Session = %q, %q; want %q, %q", req.DeliveryID, req.Session, tt.wantDeliveryID, tt.wantSession)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	tests := map[string]struct {
		body      string
		wantField string
	}{
		"empty body":                  {``, ""},
		"truncated":                   {`{"next_action":"a","tracker":{`, ""},
		"array body":                  {`[]`, ""},
		"no next_action":              {`{"sender_id":"u","tracker":{}}`, "next_action"},
		"empty next_action":           {`{"next_action":""}`, "next_action"},
		"null next_action":            {`{"next_action":null}`, "next_action"},
		"next_action number":          {`{"next_action":1}`, "next_action"},
		"sender_id number":            {`{"next_action":"a","sender_id":42}`, "sender_id"},
		"tracker string":              {`{"next_action":"a","tracker":"t"}`, "tracker"},
		"slots array":                 {`{"next_action":"a","tracker":{"slots":[]}}`, "tracker.slots"},
		"latest message string":       {`{"next_action":"a","tracker":{"latest_message":"hi"}}`, "tracker.latest_message"},
		"text number":                 {`{"next_action":"a","tracker":{"latest_message":{"text":1}}}`, "tracker.latest_message.text"},
		"intent string":               {`{"next_action":"a","tracker":{"latest_message":{"intent":"greet"}}}`, "tracker.latest_message.intent"},
		"intent name boolean":         {`{"next_action":"a","tracker":{"latest_message":{"intent":{"name":true}}}}`, "tracker.latest_message.intent.name"},
		"entities object":             {`{"next_action":"a","tracker":{"latest_message":{"entities":{}}}}`, "tracker.latest_message.entities"},
		"entity not object":           {`{"next_action":"a","tracker":{"latest_message":{"entities":[{"entity":"e"},3]}}}`, "tracker.latest_message.entities[1]"},
		"entity name number":          {`{"next_action":"a","tracker":{"latest_message":{"entities":[{"entity":9}]}}}`, "tracker.latest_message.entities[0].entity"},
		"event time string":           {`{"next_action":"a","tracker":{"latest_event_time":"now"}}`, "tracker.latest_event_time"},
		"tracker sender id object":    {`{"next_action":"a","tracker":{"sender_id":{}}}`, "tracker.sender_id"},
		"wrong type before no action": {`{"tracker":{"slots":1}}`, "tracker.slots"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := dialecttest.Decode(rasa.New(), dialect.Input{Method: http.MethodPost, Body: []byte(tt.body)})
			if req != nil {
				t.Errorf("Decode returned a request with an error: %+v", req)
			}
			dialecttest.WantDecodeError(t, err, tt.wantField)
		})
	}
}

// The slots to validate are those the slot events ending tracker.events set, as rasa-sdk's
// Tracker.slots_to_validate reads them: Rasa's form appends its candidates after its own action event.
func TestDecodeSlotsToValidate(t *testing.T) {
	const user = `{"event":"user","text":"SPRING10"}`
	const form = `{"event":"action","name":"promo_form"}`
	tests := map[string]struct {
		events string
		want   map[string]any
	}{
		"the candidates after the form's action": {
			events: user + `,{"event":"slot","name":"promo_code","value":"OLD"},` + form +
				`,{"event":"slot","name":"promo_code","value":"SPRING10"},{"event":"slot","name":"email","value":null}`,
			want: map[string]any{"promo_code": "SPRING10", "email": nil},
		},
		"a slot set twice: the later wins": {
			events: user + `,{"event":"slot","name":"size","value":"s"},{"event":"slot","name":"size","value":"m"}`,
			want:   map[string]any{"size": "m"},
		},
		"no user event: every slot event": {
			events: `{"event":"slot","name":"a","value":1},{"event":"slot","name":"b","value":[2]}`,
			want:   map[string]any{"a": 1.0, "b": []any{2.0}},
		},
		"events ending with another event: none": {
			events: `{"event":"slot","name":"a","value":1},` + form,
		},
		"a slot event without a name ends the run": {
			events: `{"event":"slot","name":"a","value":1},{"event":"slot","value":2},{"event":"slot","name":"c","value":3}`,
			want:   map[string]any{"c": 3.0},
		},
		"events not objects": {events: `1,"slot",null`},
		"no events":          {events: ``},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body := `{"next_action":"validate_promo_form","sender_id":"u","tracker":{"events":[` + tt.events + `]}}`
			req, err := rasa.New().Decode(dialect.Input{Method: http.MethodPost, Body: []byte(body)})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := req.Request().Views().SlotsToValidate; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SlotsToValidate = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// A long conversation is read from its end, and only so far.
func TestDecodeSlotsToValidateBounded(t *testing.T) {
	var events strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&events, `{"event":"slot","name":"s%d","value":%d},`, i, i)
	}
	body := `{"next_action":"validate_f","tracker":{"events":[` + strings.TrimSuffix(events.String(), ",") + `]}}`
	req, err := rasa.New().Decode(dialect.Input{Method: http.MethodPost, Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	slots := req.Request().Views().SlotsToValidate
	if len(slots) != 256 || slots["s999"] != 999.0 || slots["s744"] != 744.0 || slots["s743"] != nil {
		t.Errorf("SlotsToValidate has %d slots, s999 = %v, s744 = %v, s743 = %v", len(slots), slots["s999"], slots["s744"], slots["s743"])
	}
}
