package cx_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"cloud.google.com/go/dialogflow/cx/apiv3/cxpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/cx"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
)

const session = "projects/demo-proj/locations/global/agents/ag-1/sessions/sess-123"

func TestDecodeFixture(t *testing.T) {
	header := http.Header{}
	header.Set("Authorization", "Bearer id-token")
	header.Set("X-Request-Source", "cx")
	body := dialecttest.Fixture(t, "dialogflow-cx-request.json")
	req, err := dialecttest.Decode(cx.New(), dialect.Input{Method: http.MethodPost, Header: header,
		Query: map[string][]string{"bot": {"support", "ignored"}},
		Body:  body})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := dialecttest.Request{
		Dialect:      cx.Name,
		Intent:       "order.status",
		Tag:          "order-status",
		Text:         "where is my order 12345",
		LanguageCode: "en",
		Session:      session,
		DeliveryID:   "3f0c5d2e-0000-0000-0000-000000000002/order-status",
		Parameters:   map[string]any{"order_id": "12345"},
		Headers:      map[string]string{"x-request-source": "cx"},
		Query:        map[string]string{"bot": "support"},
	}
	var wantBody map[string]any
	if err := json.Unmarshal(body, &wantBody); err != nil {
		t.Fatal(err)
	}
	if got := req.Body(); !reflect.DeepEqual(got, wantBody) || got["pageInfo"] == nil {
		t.Errorf("Body:\n got %#v\nwant %#v", got, wantBody)
	}
	if got := dialecttest.Fields(req); !reflect.DeepEqual(got, want) {
		t.Errorf("Decode:\n got %#v\nwant %#v", got, want)
	}
}

// TestDecodePlatformRequest decodes requests built with Dialogflow CX's own Go types, as the platform sends them.
func TestDecodePlatformRequest(t *testing.T) {
	tests := map[string]struct {
		request *cxpb.WebhookRequest
		want    dialecttest.Request
	}{
		"typed text, resolved intent parameters over session ones": {
			request: platformRequest(t, func(r *cxpb.WebhookRequest) {
				r.Query = &cxpb.WebhookRequest_Text{Text: "two large pizzas"}
				r.IntentInfo.Parameters = map[string]*cxpb.WebhookRequest_IntentInfo_IntentParameterValue{
					"size":  {OriginalValue: "large", ResolvedValue: structpb.NewStringValue("L")},
					"count": {OriginalValue: "two", ResolvedValue: structpb.NewNumberValue(2)},
					"topping": {OriginalValue: "cheese", ResolvedValue: structpb.NewListValue(&structpb.ListValue{
						Values: []*structpb.Value{structpb.NewStringValue("cheese")}})},
					"unresolved": {OriginalValue: "something"},
				}
			}),
			want: dialecttest.Request{Text: "two large pizzas", Parameters: map[string]any{
				"size": "L", "count": 2.0, "topping": []any{"cheese"}, "unresolved": "kept", "user": "ann"}},
		},
		"voice transcript": {
			request: platformRequest(t, func(r *cxpb.WebhookRequest) {
				r.Query = &cxpb.WebhookRequest_Transcript{Transcript: "two large pizzas"}
			}),
			want: dialecttest.Request{Text: "two large pizzas", Parameters: map[string]any{"unresolved": "kept", "user": "ann"}},
		},
		"triggering event, no tag": {
			request: platformRequest(t, func(r *cxpb.WebhookRequest) {
				r.Query = &cxpb.WebhookRequest_TriggerEvent{TriggerEvent: "sys.no-match-default"}
				r.FulfillmentInfo = nil
				r.SessionInfo.Parameters = nil
			}),
			want: dialecttest.Request{Event: "sys.no-match-default", DeliveryID: "resp-1"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := dialecttest.Decode(cx.New(), dialect.Input{Method: http.MethodPost, Body: marshal(t, tt.request)})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := tt.want
			want.Dialect, want.Intent, want.LanguageCode, want.Session = cx.Name, "order.pizza", "en-GB", session
			if tt.request.GetFulfillmentInfo() != nil {
				want.Tag, want.DeliveryID = "pizza", "resp-1/pizza"
			}
			if got := dialecttest.Fields(req); !reflect.DeepEqual(got, want) {
				t.Errorf("Decode:\n got %#v\nwant %#v", got, want)
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
		"not JSON":                      {`detectIntentResponseId=1`, ""},
		"truncated":                     {`{"sessionInfo":{"parameters":{`, ""},
		"string body":                   {`"hello"`, ""},
		"null body":                     {`null`, ""},
		"response id number":            {`{"detectIntentResponseId":1}`, "detectIntentResponseId"},
		"intent info array":             {`{"intentInfo":[]}`, "intentInfo"},
		"intent display name object":    {`{"intentInfo":{"displayName":{}}}`, "intentInfo.displayName"},
		"intent parameters string":      {`{"intentInfo":{"parameters":"order_id"}}`, "intentInfo.parameters"},
		"intent parameter not object":   {`{"intentInfo":{"parameters":{"order_id":"12345"}}}`, "intentInfo.parameters.order_id"},
		"session not string":            {`{"sessionInfo":{"session":["s"]}}`, "sessionInfo.session"},
		"session parameters array":      {`{"sessionInfo":{"parameters":[1]}}`, "sessionInfo.parameters"},
		"tag number":                    {`{"fulfillmentInfo":{"tag":5}}`, "fulfillmentInfo.tag"},
		"fulfillment info string":       {`{"fulfillmentInfo":"tag"}`, "fulfillmentInfo"},
		"text boolean":                  {`{"text":true}`, "text"},
		"transcript number":             {`{"transcript":1}`, "transcript"},
		"trigger event array":           {`{"triggerEvent":[]}`, "triggerEvent"},
		"language code number":          {`{"languageCode":42}`, "languageCode"},
		"invalid literal deep in value": {`{"payload":{"a":[tru]}}`, ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := dialecttest.Decode(cx.New(), dialect.Input{Method: http.MethodPost, Body: []byte(tt.body)})
			if req != nil {
				t.Errorf("Decode returned a request with an error: %+v", req)
			}
			dialecttest.WantDecodeError(t, err, tt.wantField)
		})
	}
}

func platformRequest(t *testing.T, modify func(*cxpb.WebhookRequest)) *cxpb.WebhookRequest {
	t.Helper()
	request := &cxpb.WebhookRequest{
		DetectIntentResponseId: "resp-1",
		LanguageCode:           "en-GB",
		FulfillmentInfo:        &cxpb.WebhookRequest_FulfillmentInfo{Tag: "pizza"},
		IntentInfo: &cxpb.WebhookRequest_IntentInfo{
			LastMatchedIntent: "projects/demo-proj/locations/global/agents/ag-1/intents/in-2",
			DisplayName:       "order.pizza",
			Confidence:        0.8,
		},
		PageInfo: &cxpb.PageInfo{CurrentPage: "projects/demo-proj/locations/global/agents/ag-1/flows/f/pages/p",
			DisplayName: "Order"},
		SessionInfo: &cxpb.SessionInfo{Session: session,
			Parameters: map[string]*structpb.Value{"user": structpb.NewStringValue("ann"),
				"unresolved": structpb.NewStringValue("kept")}},
		Payload: mustStruct(t, map[string]any{"channel": "web"}),
	}
	modify(request)
	return request
}

func mustStruct(t testing.TB, fields map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(fields)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func marshal(t testing.TB, message proto.Message) []byte {
	t.Helper()
	body, err := protojson.Marshal(message)
	if err != nil {
		t.Fatal(err)
	}
	return body
}
