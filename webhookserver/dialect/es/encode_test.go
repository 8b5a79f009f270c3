package es_test

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/dialogflow/apiv2/dialogflowpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/es"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// TestEncodeIsAcceptedByDialogflow decodes every answer strictly with Dialogflow's own types, as the platform
// does: an unknown field or a wrong type fails the test.
func TestEncodeIsAcceptedByDialogflow(t *testing.T) {
	req := decodeFixture(t)
	tests := map[string]struct {
		answer *model.Answer
		want   *dialogflowpb.WebhookResponse
	}{
		"empty answer": {
			answer: &model.Answer{},
			want:   &dialogflowpb.WebhookResponse{},
		},
		"text becomes the one message": {
			answer: &model.Answer{Text: "Order 12345 has shipped."},
			want: &dialogflowpb.WebhookResponse{
				FulfillmentText:     "Order 12345 has shipped.",
				FulfillmentMessages: []*dialogflowpb.Intent_Message{textMessage("Order 12345 has shipped.")},
			},
		},
		"messages in order, text and payload split": {
			answer: &model.Answer{Text: "Main", Messages: []model.Message{
				{Text: "first"},
				{Payload: map[string]any{"card": "c1"}},
				{Text: "both", Payload: map[string]any{"card": "c2"}},
				{},
			}},
			want: &dialogflowpb.WebhookResponse{
				FulfillmentText: "Main",
				FulfillmentMessages: []*dialogflowpb.Intent_Message{
					textMessage("first"),
					payloadMessage(t, map[string]any{"card": "c1"}),
					textMessage("both"),
					payloadMessage(t, map[string]any{"card": "c2"}),
				},
			},
		},
		"payload": {
			answer: &model.Answer{Payload: map[string]any{"google": map[string]any{"expectUserResponse": false}, "n": 3}},
			want: &dialogflowpb.WebhookResponse{
				Payload: mustStruct(t, map[string]any{"google": map[string]any{"expectUserResponse": false}, "n": 3}),
			},
		},
		"session parameters keep the stored ones": {
			answer: &model.Answer{Parameters: map[string]any{"status": "shipped", "user": nil, "count": int64(2)}},
			want: &dialogflowpb.WebhookResponse{
				OutputContexts: []*dialogflowpb.Context{{
					Name:          session + "/contexts/session-vars",
					LifespanCount: 50,
					// "order_id" was stored by an earlier answer; "stale" was set to null then and is not carried.
					Parameters: mustStruct(t, map[string]any{"order_id": "12345", "status": "shipped", "user": nil, "count": 2}),
				}},
			},
		},
		"followup event in the request's language": {
			answer: &model.Answer{FollowupEvent: &model.FollowupEvent{Name: "ORDER_SHIPPED", Parameters: map[string]any{"id": "12345"}}},
			want: &dialogflowpb.WebhookResponse{FollowupEventInput: &dialogflowpb.EventInput{
				Name: "ORDER_SHIPPED", LanguageCode: "en", Parameters: mustStruct(t, map[string]any{"id": "12345"}),
			}},
		},
		"followup event in its own language": {
			answer: &model.Answer{FollowupEvent: &model.FollowupEvent{Name: "WELCOME", LanguageCode: "de"}},
			want:   &dialogflowpb.WebhookResponse{FollowupEventInput: &dialogflowpb.EventInput{Name: "WELCOME", LanguageCode: "de"}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body, err := req.Encode(tt.answer)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got := decodeStrict(t, body)
			if !proto.Equal(got, tt.want) {
				t.Errorf("Encode:\n got %s\nwant %s", body, protojson.Format(tt.want))
			}
		})
	}
}

// TestEncodeFixtureAnswer compares the parts of the response fixture an answer sets with what Encode writes. The
// fixture also names a "source" and a context of its own, which answers do not set.
func TestEncodeFixtureAnswer(t *testing.T) {
	body, err := decodeFixture(t).Encode(&model.Answer{
		Text:    "Order 12345 has shipped.",
		Payload: map[string]any{"custom": map[string]any{"trackingUrl": "https://example.com/t/12345"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := decodeStrict(t, dialecttest.Fixture(t, "dialogflow-es-response.json"))
	want.Source, want.OutputContexts = "", nil
	if got := decodeStrict(t, body); !proto.Equal(got, want) {
		t.Errorf("Encode:\n got %s\nwant %s", body, protojson.Format(want))
	}
}

func TestEncodeIsDeterministic(t *testing.T) {
	req := decodeFixture(t)
	answer := &model.Answer{Text: "t", Payload: map[string]any{"b": 1, "a": 2, "c": map[string]any{"z": 1, "y": 2}},
		Parameters: map[string]any{"p2": "x", "p1": "y"}}
	first, err := req.Encode(answer)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := req.Encode(answer)
		if err != nil || string(again) != string(first) {
			t.Fatalf("Encode changed its output:\n%s\n%s", first, again)
		}
	}
}

func TestEncodeRefusesWhatDialogflowWouldRefuse(t *testing.T) {
	req := decodeFixture(t)
	tests := map[string]struct {
		req         dialect.Decoded
		answer      *model.Answer
		wantMessage string
	}{
		"over 64 KiB": {
			req:         req,
			answer:      &model.Answer{Text: strings.Repeat("x", dialogflow.MaxResponseBytes)},
			wantMessage: "over Dialogflow's limit of 65536 bytes",
		},
		"session parameters without a session": {
			req:         es.Adopt(&model.Request{}),
			answer:      &model.Answer{Parameters: map[string]any{"a": "b"}},
			wantMessage: "no session",
		},
		"followup event without a name": {
			req:         req,
			answer:      &model.Answer{FollowupEvent: &model.FollowupEvent{LanguageCode: "en"}},
			wantMessage: "no name",
		},
		"a value JSON cannot hold": {
			req:         req,
			answer:      &model.Answer{Payload: map[string]any{"n": math.NaN()}},
			wantMessage: "cannot encode",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body, err := tt.req.Encode(tt.answer)
			var encodeErr *dialect.EncodeError
			if !errors.As(err, &encodeErr) {
				t.Fatalf("want a *dialect.EncodeError, got %v (body %d bytes)", err, len(body))
			}
			if !strings.Contains(encodeErr.Message, tt.wantMessage) {
				t.Errorf("error %q does not say %q", encodeErr.Message, tt.wantMessage)
			}
		})
	}
}

func TestEncodeStatesTheSizeOverTheLimit(t *testing.T) {
	// The text is written twice, as fulfillmentText and as the one message.
	_, err := es.Adopt(&model.Request{}).Encode(&model.Answer{Text: strings.Repeat("x", 40000)})
	const want = "response is 80069 bytes, over Dialogflow's limit of 65536 bytes (64 KiB)"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

// TestSessionParametersRoundTrip feeds the session context of one answer back as Dialogflow does in the next
// request, and checks that the parameters come back.
func TestSessionParametersRoundTrip(t *testing.T) {
	codec := es.New()
	first, err := codec.Decode(dialect.Input{Method: http.MethodPost,
		Body: marshal(t, platformRequest(t, map[string]any{"guests": 4}))})
	if err != nil {
		t.Fatal(err)
	}
	answer, err := first.Encode(&model.Answer{Text: "ok", Parameters: map[string]any{"table": "T7", "guests": 4}})
	if err != nil {
		t.Fatal(err)
	}
	next := platformRequest(t, map[string]any{"guests": ""}, decodeStrict(t, answer).GetOutputContexts()...)
	second, err := codec.Decode(dialect.Input{Method: http.MethodPost, Body: marshal(t, next)})
	if err != nil {
		t.Fatal(err)
	}
	if parameters := second.Request().Parameters; parameters["table"] != "T7" || parameters["guests"] != 4.0 {
		t.Errorf("parameters did not survive the round trip: %v", parameters)
	}
}

func TestEncodeWithoutRequestOrAnswer(t *testing.T) {
	body, err := es.Adopt(nil).Encode(nil)
	if err != nil || string(body) != "{}" {
		t.Fatalf("Encode(nil, nil) = %s, %v; want {}", body, err)
	}
}

// decodeFixture decodes the fixture request with a stored session context added, as an earlier answer left it.
func decodeFixture(t testing.TB) dialect.Decoded {
	t.Helper()
	var request dialogflowpb.WebhookRequest
	if err := protojson.Unmarshal(dialecttest.Fixture(t, "dialogflow-es-request.json"), &request); err != nil {
		t.Fatal(err)
	}
	request.QueryResult.OutputContexts = append(request.QueryResult.OutputContexts, &dialogflowpb.Context{
		Name: session + "/contexts/session-vars", LifespanCount: 40,
		Parameters: mustStruct(t, map[string]any{"order_id": "12345", "user": "ann", "stale": nil}),
	})
	req, err := es.New().Decode(dialect.Input{Method: http.MethodPost, Body: marshal(t, &request)})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func decodeStrict(t testing.TB, body []byte) *dialogflowpb.WebhookResponse {
	t.Helper()
	var response dialogflowpb.WebhookResponse
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(body, &response); err != nil {
		t.Fatalf("Dialogflow would refuse %s: %v", body, err)
	}
	return &response
}

func marshal(t testing.TB, message proto.Message) []byte {
	t.Helper()
	body, err := protojson.Marshal(message)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func textMessage(text string) *dialogflowpb.Intent_Message {
	return &dialogflowpb.Intent_Message{Message: &dialogflowpb.Intent_Message_Text_{
		Text: &dialogflowpb.Intent_Message_Text{Text: []string{text}}}}
}

func payloadMessage(t testing.TB, payload map[string]any) *dialogflowpb.Intent_Message {
	return &dialogflowpb.Intent_Message{Message: &dialogflowpb.Intent_Message_Payload{Payload: mustStruct(t, payload)}}
}
