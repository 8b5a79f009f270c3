package es_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"cloud.google.com/go/dialogflow/apiv2/dialogflowpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/es"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
)

const session = "projects/demo-proj/agent/sessions/sess-123"

func TestDecodeFixture(t *testing.T) {
	body := dialecttest.Fixture(t, "dialogflow-es-request.json")
	header := http.Header{}
	header.Set("Content-Type", "application/json")
	header.Set("Authorization", "Basic c2VjcmV0")

	req, err := dialecttest.Decode(es.New(), dialect.Input{Method: http.MethodPost, Header: header, Body: body})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := dialecttest.Request{
		Dialect:      es.Name,
		Intent:       "order.status",
		Action:       "order.status",
		Text:         "where is my order 12345",
		LanguageCode: "en",
		Session:      session,
		DeliveryID:   "8d1d2f6e-1b7a-4c1e-9a55-000000000001",
		// The fixture's only context is not the session context, so parameters are the intent's.
		Parameters: map[string]any{"order_id": "12345"},
		Headers:    map[string]string{"content-type": "application/json"},
	}
	var wantBody map[string]any
	if err := json.Unmarshal(body, &wantBody); err != nil {
		t.Fatal(err)
	}
	if got := req.Body(); !reflect.DeepEqual(got, wantBody) || got["originalDetectIntentRequest"] == nil {
		t.Errorf("Body:\n got %#v\nwant %#v", got, wantBody)
	}
	if got := dialecttest.Fields(req); !reflect.DeepEqual(got, want) {
		t.Errorf("Decode:\n got %#v\nwant %#v", got, want)
	}
}

// TestDecodePlatformRequest decodes requests built with Dialogflow's own Go types, as the platform sends them.
func TestDecodePlatformRequest(t *testing.T) {
	tests := map[string]struct {
		request        *dialogflowpb.WebhookRequest
		wantParameters map[string]any
	}{
		"intent parameters over the session context": {
			request: platformRequest(t,
				map[string]any{"guests": 4, "date": "", "areas": []any{}, "nested": map[string]any{"a": true}},
				sessionContext(t, map[string]any{"date": "2025-06-24", "user": "ann", "guests": 2, "areas": []any{"patio"}})),
			wantParameters: map[string]any{
				"guests": 4.0, "user": "ann", "nested": map[string]any{"a": true},
				// ES sends "" and [] for parameters the user did not give: the stored values stay.
				"date": "2025-06-24", "areas": []any{"patio"},
			},
		},
		"unfilled intent parameter without a stored value": {
			request:        platformRequest(t, map[string]any{"date": ""}),
			wantParameters: map[string]any{"date": ""},
		},
		"session context among others": {
			request: platformRequest(t, nil,
				&dialogflowpb.Context{Name: session + "/contexts/order-followup", LifespanCount: 2,
					Parameters: mustStruct(t, map[string]any{"user": "other context"})},
				sessionContext(t, map[string]any{"user": "ann", "temp": nil})),
			wantParameters: map[string]any{"user": "ann", "temp": nil},
		},
		"no parameters anywhere": {
			request:        platformRequest(t, nil),
			wantParameters: nil,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body, err := protojson.Marshal(tt.request)
			if err != nil {
				t.Fatal(err)
			}
			req, err := dialecttest.Decode(es.New(), dialect.Input{Method: http.MethodPost, Body: body})
			if err != nil {
				t.Fatalf("Decode(%s): %v", body, err)
			}
			if req.Intent != "table.book" || req.Action != "table.book" || req.Text != "a table for 4" ||
				req.LanguageCode != "en-US" || req.Session != session || req.DeliveryID != "resp-1" {
				t.Errorf("Decode fields: %+v", req)
			}
			if !reflect.DeepEqual(req.Parameters, tt.wantParameters) {
				t.Errorf("Parameters:\n got %#v\nwant %#v", req.Parameters, tt.wantParameters)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	tests := map[string]struct {
		body      string
		wantField string
	}{
		"empty body":                    {``, ""},
		"blank body":                    {" \n\t", ""},
		"truncated":                     {`{"responseId":`, ""},
		"trailing data":                 {`{} {}`, ""},
		"array body":                    {`[{"responseId":"x"}]`, ""},
		"number out of range":           {`{"queryResult":{"parameters":{"n":1e400}}}`, ""},
		"responseId number":             {`{"responseId":42}`, "responseId"},
		"session boolean":               {`{"session":true}`, "session"},
		"queryResult string":            {`{"queryResult":"x"}`, "queryResult"},
		"queryText array":               {`{"queryResult":{"queryText":["a"]}}`, "queryResult.queryText"},
		"action boolean":                {`{"queryResult":{"languageCode":null,"action":false}}`, "queryResult.action"},
		"intent display name number":    {`{"queryResult":{"intent":{"displayName":3}}}`, "queryResult.intent.displayName"},
		"intent array":                  {`{"queryResult":{"intent":[]}}`, "queryResult.intent"},
		"parameters array":              {`{"queryResult":{"parameters":[]}}`, "queryResult.parameters"},
		"output contexts object":        {`{"queryResult":{"outputContexts":{}}}`, "queryResult.outputContexts"},
		"output context string":         {`{"queryResult":{"outputContexts":[{"name":"a"},"x"]}}`, "queryResult.outputContexts[1]"},
		"output context name number":    {`{"queryResult":{"outputContexts":[{"name":7}]}}`, "queryResult.outputContexts[0].name"},
		"session context parameters":    {`{"queryResult":{"outputContexts":[{"name":"s/contexts/session-vars","parameters":"x"}]}}`, "queryResult.outputContexts[0].parameters"},
		"later context name after ours": {`{"queryResult":{"outputContexts":[{"name":"s/contexts/session-vars"},{"name":{}}]}}`, "queryResult.outputContexts[1].name"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := dialecttest.Decode(es.New(), dialect.Input{Method: http.MethodPost, Body: []byte(tt.body)})
			if req != nil {
				t.Errorf("Decode returned a request with an error: %+v", req)
			}
			dialecttest.WantDecodeError(t, err, tt.wantField)
		})
	}
}

func TestDecodeErrorSaysExpectedAndFound(t *testing.T) {
	_, err := dialecttest.Decode(es.New(), dialect.Input{Body: []byte(`{"queryResult":{"intent":{"displayName":3}}}`)})
	const want = "queryResult.intent.displayName: expected a string, found a number"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func platformRequest(t *testing.T, parameters map[string]any, contexts ...*dialogflowpb.Context) *dialogflowpb.WebhookRequest {
	t.Helper()
	var parametersStruct *structpb.Struct
	if parameters != nil {
		parametersStruct = mustStruct(t, parameters)
	}
	return &dialogflowpb.WebhookRequest{
		ResponseId: "resp-1",
		Session:    session,
		QueryResult: &dialogflowpb.QueryResult{
			QueryText:                 "a table for 4",
			LanguageCode:              "en-US",
			Action:                    "table.book",
			Parameters:                parametersStruct,
			AllRequiredParamsPresent:  true,
			OutputContexts:            contexts,
			Intent:                    &dialogflowpb.Intent{Name: "projects/demo-proj/agent/intents/i-1", DisplayName: "table.book"},
			IntentDetectionConfidence: 0.87,
		},
		OriginalDetectIntentRequest: &dialogflowpb.OriginalDetectIntentRequest{
			Source:  "google",
			Payload: mustStruct(t, map[string]any{"user": map[string]any{"locale": "en-US"}}),
		},
	}
}

func sessionContext(t *testing.T, parameters map[string]any) *dialogflowpb.Context {
	t.Helper()
	return &dialogflowpb.Context{Name: session + "/contexts/" + es.SessionContextID, LifespanCount: 49,
		Parameters: mustStruct(t, parameters)}
}

func mustStruct(t testing.TB, fields map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(fields)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
