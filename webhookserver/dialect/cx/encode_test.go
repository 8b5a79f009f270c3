package cx_test

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/dialogflow/cx/apiv3/cxpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/cx"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

const targetPage = "projects/demo-proj/locations/global/agents/ag-1/flows/00000000-0000-0000-0000-000000000000/pages/pg-2"

// TestEncodeIsAcceptedByDialogflow decodes every answer strictly with Dialogflow CX's own types, as the platform
// does: an unknown field or a wrong type fails the test.
func TestEncodeIsAcceptedByDialogflow(t *testing.T) {
	req := decodeFixture(t)
	tests := map[string]struct {
		answer *model.Answer
		want   *cxpb.WebhookResponse
	}{
		"empty answer": {
			answer: &model.Answer{},
			want:   &cxpb.WebhookResponse{},
		},
		"text becomes the one message": {
			answer: &model.Answer{Text: "Order 12345 has shipped."},
			want:   fulfillment(0, textMessage("Order 12345 has shipped.")),
		},
		"messages in order, text and payload split": {
			answer: &model.Answer{Text: "not sent: there are messages", MergeBehavior: "Append", Messages: []model.Message{
				{Text: "first"},
				{Payload: map[string]any{"richContent": []any{[]any{map[string]any{"type": "chips"}}}}},
				{Text: "both", Payload: map[string]any{"card": "c2"}},
			}},
			want: fulfillment(cxpb.WebhookResponse_FulfillmentResponse_APPEND,
				textMessage("first"),
				payloadMessage(t, map[string]any{"richContent": []any{[]any{map[string]any{"type": "chips"}}}}),
				textMessage("both"),
				payloadMessage(t, map[string]any{"card": "c2"})),
		},
		"live agent handoff after the text": {
			answer: &model.Answer{Text: "Connecting you.", LiveAgentHandoff: true},
			want: fulfillment(0, textMessage("Connecting you."), &cxpb.ResponseMessage{
				Message: &cxpb.ResponseMessage_LiveAgentHandoff_{LiveAgentHandoff: &cxpb.ResponseMessage_LiveAgentHandoff{}}}),
		},
		"replace with no messages clears the queued ones": {
			answer: &model.Answer{MergeBehavior: "Replace"},
			want:   fulfillment(cxpb.WebhookResponse_FulfillmentResponse_REPLACE),
		},
		"session parameters, null deletes": {
			answer: &model.Answer{Parameters: map[string]any{"order_status": "shipped", "temp": nil, "n": 1.5}},
			want: &cxpb.WebhookResponse{SessionInfo: &cxpb.SessionInfo{Parameters: map[string]*structpb.Value{
				"order_status": structpb.NewStringValue("shipped"), "temp": structpb.NewNullValue(),
				"n": structpb.NewNumberValue(1.5)}}},
		},
		"payload": {
			answer: &model.Answer{Payload: map[string]any{"trackingUrl": "https://example.com/t/12345?a=1&b=2"}},
			want:   &cxpb.WebhookResponse{Payload: mustStruct(t, map[string]any{"trackingUrl": "https://example.com/t/12345?a=1&b=2"})},
		},
		"target page": {
			answer: &model.Answer{TargetPage: targetPage},
			want:   &cxpb.WebhookResponse{Transition: &cxpb.WebhookResponse_TargetPage{TargetPage: targetPage}},
		},
		"target flow": {
			answer: &model.Answer{TargetFlow: "projects/demo-proj/locations/global/agents/ag-1/flows/f-2"},
			want: &cxpb.WebhookResponse{Transition: &cxpb.WebhookResponse_TargetFlow{
				TargetFlow: "projects/demo-proj/locations/global/agents/ag-1/flows/f-2"}},
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

// TestEncodeFixtureAnswer encodes the answer of the response fixture and compares it, as Dialogflow reads it,
// with the fixture.
func TestEncodeFixtureAnswer(t *testing.T) {
	body, err := decodeFixture(t).Encode(&model.Answer{
		Text:          "Order 12345 has shipped.",
		MergeBehavior: "Replace",
		Parameters:    map[string]any{"order_status": "shipped", "temp": nil},
		Payload:       map[string]any{"trackingUrl": "https://example.com/t/12345"},
		TargetPage:    targetPage,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := decodeStrict(t, dialecttest.Fixture(t, "dialogflow-cx-response.json"))
	if got := decodeStrict(t, body); !proto.Equal(got, want) {
		t.Errorf("Encode:\n got %s\nwant %s", body, protojson.Format(want))
	}
}

func TestEncodeRefusesWhatDialogflowWouldRefuse(t *testing.T) {
	tests := map[string]struct {
		answer      *model.Answer
		wantMessage string
	}{
		"over 64 KiB": {
			answer:      &model.Answer{Payload: map[string]any{"blob": strings.Repeat("x", 70000)}},
			wantMessage: "response is 70023 bytes, over Dialogflow's limit of 65536 bytes (64 KiB)",
		},
		"both targets": {
			answer:      &model.Answer{TargetPage: targetPage, TargetFlow: "f"},
			wantMessage: "the answer sets both a target page and a target flow; Dialogflow CX takes one of them",
		},
		"unknown merge behavior": {
			answer:      &model.Answer{Text: "x", MergeBehavior: "Prepend"},
			wantMessage: `unknown merge behavior "Prepend"; want Append or Replace`,
		},
		"a value JSON cannot hold": {
			answer:      &model.Answer{Parameters: map[string]any{"n": math.Inf(1)}},
			wantMessage: "cannot encode the answer as JSON: json: unsupported value: +Inf",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := decodeFixture(t).Encode(tt.answer)
			var encodeErr *dialect.EncodeError
			if !errors.As(err, &encodeErr) {
				t.Fatalf("want a *dialect.EncodeError, got %v", err)
			}
			if encodeErr.Message != tt.wantMessage {
				t.Errorf("error = %q, want %q", encodeErr.Message, tt.wantMessage)
			}
		})
	}
}

// TestSessionParametersRoundTrip gives the session parameters of one answer back as CX does in the next
// request, and checks what the route sees.
func TestSessionParametersRoundTrip(t *testing.T) {
	codec := cx.New()
	body, err := decodeFixture(t).Encode(&model.Answer{Parameters: map[string]any{"order_status": "shipped"}})
	if err != nil {
		t.Fatal(err)
	}
	next := platformRequest(t, func(r *cxpb.WebhookRequest) {
		r.SessionInfo.Parameters = decodeStrict(t, body).GetSessionInfo().GetParameters()
	})
	req, err := dialecttest.Decode(codec, dialect.Input{Method: http.MethodPost, Body: marshal(t, next)})
	if err != nil {
		t.Fatal(err)
	}
	if req.Parameters["order_status"] != "shipped" {
		t.Errorf("parameters did not survive the round trip: %v", req.Parameters)
	}
}

func decodeFixture(t testing.TB) dialect.Decoded {
	t.Helper()
	req, err := cx.New().Decode(dialect.Input{Method: http.MethodPost, Body: dialecttest.Fixture(t, "dialogflow-cx-request.json")})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func decodeStrict(t testing.TB, body []byte) *cxpb.WebhookResponse {
	t.Helper()
	var response cxpb.WebhookResponse
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(body, &response); err != nil {
		t.Fatalf("Dialogflow CX would refuse %s: %v", body, err)
	}
	return &response
}

func fulfillment(mergeBehavior cxpb.WebhookResponse_FulfillmentResponse_MergeBehavior, messages ...*cxpb.ResponseMessage) *cxpb.WebhookResponse {
	return &cxpb.WebhookResponse{FulfillmentResponse: &cxpb.WebhookResponse_FulfillmentResponse{
		Messages: messages, MergeBehavior: mergeBehavior}}
}

func textMessage(text string) *cxpb.ResponseMessage {
	return &cxpb.ResponseMessage{Message: &cxpb.ResponseMessage_Text_{Text: &cxpb.ResponseMessage_Text{Text: []string{text}}}}
}

func payloadMessage(t testing.TB, payload map[string]any) *cxpb.ResponseMessage {
	return &cxpb.ResponseMessage{Message: &cxpb.ResponseMessage_Payload{Payload: mustStruct(t, payload)}}
}
