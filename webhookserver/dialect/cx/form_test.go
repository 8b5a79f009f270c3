package cx_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"cloud.google.com/go/dialogflow/cx/apiv3/cxpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/cx"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

const (
	promoFlow = "projects/demo-proj/locations/global/agents/ag-1/flows/f-checkout"
	promoPage = promoFlow + "/pages/p-promo"
)

// promoRequest is a request of a page whose form just collected promo_code, with a second parameter already
// filled, as Dialogflow CX sends it to a form validation webhook.
func promoRequest(t *testing.T, modify func(*cxpb.WebhookRequest)) dialect.Decoded {
	t.Helper()
	request := platformRequest(t, func(r *cxpb.WebhookRequest) {
		r.FulfillmentInfo.Tag = "validate-promo"
		r.PageInfo = &cxpb.PageInfo{CurrentPage: promoPage, DisplayName: "Promo", FormInfo: &cxpb.PageInfo_FormInfo{
			ParameterInfo: []*cxpb.PageInfo_FormInfo_ParameterInfo{
				{DisplayName: "promo_code", Required: true, State: cxpb.PageInfo_FormInfo_ParameterInfo_FILLED,
					Value: structpb.NewStringValue("spring10"), JustCollected: true},
				{DisplayName: "email", State: cxpb.PageInfo_FormInfo_ParameterInfo_FILLED,
					Value: structpb.NewStringValue("ann@example.com")},
			}}}
		r.SessionInfo.Parameters["promo_code"] = structpb.NewStringValue("spring10")
		r.SessionInfo.Parameters["size"] = structpb.NewStringValue("large")
		if modify != nil {
			modify(r)
		}
	})
	decoded, err := cx.New().Decode(dialect.Input{Method: http.MethodPost, Body: marshal(t, request)})
	if err != nil {
		t.Fatal(err)
	}
	return decoded
}

// TestEncodeFormParameters checks each verdict as Dialogflow CX reads it: INVALID and a null session parameter
// (CX re-prompts), FILLED with the route's value (in the session too), FILLED with the value the request has.
func TestEncodeFormParameters(t *testing.T) {
	tests := map[string]struct {
		verdict     model.FormParameter
		route       map[string]any
		wantInfo    *cxpb.PageInfo_FormInfo_ParameterInfo
		wantSession map[string]*structpb.Value
	}{
		"invalid": {
			verdict: model.FormParameter{Name: "promo_code", Invalid: true, Value: "SPRING10", HasValue: true},
			wantInfo: &cxpb.PageInfo_FormInfo_ParameterInfo{DisplayName: "promo_code", Required: true,
				State: cxpb.PageInfo_FormInfo_ParameterInfo_INVALID},
			wantSession: map[string]*structpb.Value{"promo_code": structpb.NewNullValue()},
		},
		"valid with a value": {
			verdict: model.FormParameter{Name: "promo_code", Value: "SPRING10", HasValue: true},
			wantInfo: &cxpb.PageInfo_FormInfo_ParameterInfo{DisplayName: "promo_code", Required: true,
				State: cxpb.PageInfo_FormInfo_ParameterInfo_FILLED, Value: structpb.NewStringValue("SPRING10")},
			wantSession: map[string]*structpb.Value{"promo_code": structpb.NewStringValue("SPRING10")},
		},
		"valid keeps the form's value": {
			verdict: model.FormParameter{Name: "email"},
			wantInfo: &cxpb.PageInfo_FormInfo_ParameterInfo{DisplayName: "email",
				State: cxpb.PageInfo_FormInfo_ParameterInfo_FILLED, Value: structpb.NewStringValue("ann@example.com")},
		},
		"valid keeps the session's value when the form has none": {
			verdict: model.FormParameter{Name: "size"},
			wantInfo: &cxpb.PageInfo_FormInfo_ParameterInfo{DisplayName: "size",
				State: cxpb.PageInfo_FormInfo_ParameterInfo_FILLED, Value: structpb.NewStringValue("large")},
		},
		"valid without any value is empty": {
			verdict: model.FormParameter{Name: "nowhere"},
			wantInfo: &cxpb.PageInfo_FormInfo_ParameterInfo{DisplayName: "nowhere",
				State: cxpb.PageInfo_FormInfo_ParameterInfo_EMPTY},
		},
		"the route's parameters win in the session": {
			verdict: model.FormParameter{Name: "promo_code", Invalid: true},
			route:   map[string]any{"promo_code": "WELCOME5", "attempts": 2.0},
			wantInfo: &cxpb.PageInfo_FormInfo_ParameterInfo{DisplayName: "promo_code", Required: true,
				State: cxpb.PageInfo_FormInfo_ParameterInfo_INVALID},
			wantSession: map[string]*structpb.Value{"promo_code": structpb.NewStringValue("WELCOME5"),
				"attempts": structpb.NewNumberValue(2)},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body, err := promoRequest(t, nil).Encode(&model.Answer{Text: "Checking your code.",
				FormParameters: []model.FormParameter{tt.verdict}, Parameters: tt.route})
			if err != nil {
				t.Fatal(err)
			}
			want := fulfillment(0, textMessage("Checking your code."))
			want.PageInfo = &cxpb.PageInfo{FormInfo: &cxpb.PageInfo_FormInfo{
				ParameterInfo: []*cxpb.PageInfo_FormInfo_ParameterInfo{tt.wantInfo}}}
			if tt.wantSession != nil {
				want.SessionInfo = &cxpb.SessionInfo{Parameters: tt.wantSession}
			}
			if got := decodeStrict(t, body); !proto.Equal(got, want) {
				t.Errorf("Encode:\n got %s\nwant %s", body, protojson.Format(want))
			}
		})
	}
}

// endInteraction moves the session to the END_SESSION page of the current page's flow.
func TestEncodeEndInteractionTargetsEndSession(t *testing.T) {
	body, err := promoRequest(t, nil).Encode(&model.Answer{Text: "Goodbye.", EndInteraction: true})
	if err != nil {
		t.Fatal(err)
	}
	want := fulfillment(0, textMessage("Goodbye."))
	want.Transition = &cxpb.WebhookResponse_TargetPage{TargetPage: promoFlow + "/pages/END_SESSION"}
	if got := decodeStrict(t, body); !proto.Equal(got, want) {
		t.Errorf("Encode:\n got %s\nwant %s", body, protojson.Format(want))
	}
}

func TestEncodeEndInteractionRefusals(t *testing.T) {
	tests := map[string]struct {
		req    dialect.Decoded
		answer *model.Answer
	}{
		"no current page": {promoRequest(t, func(r *cxpb.WebhookRequest) { r.PageInfo = nil }),
			&model.Answer{EndInteraction: true}},
		"a current page that is no page name": {promoRequest(t, func(r *cxpb.WebhookRequest) {
			r.PageInfo.CurrentPage = "projects/p/locations/l/agents/a/flows//pages/x"
		}), &model.Answer{EndInteraction: true}},
		"with a target page":     {promoRequest(t, nil), &model.Answer{EndInteraction: true, TargetPage: promoPage}},
		"with a target flow":     {promoRequest(t, nil), &model.Answer{EndInteraction: true, TargetFlow: promoFlow}},
		"a request made by hand": {cx.Adopt(nil), &model.Answer{EndInteraction: true}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tt.req.Encode(tt.answer)
			var encodeErr *dialect.EncodeError
			if !errors.As(err, &encodeErr) {
				t.Fatalf("want a *dialect.EncodeError, got %v", err)
			}
		})
	}
}

// A request made by hand answers from the pageInfo of its body.
func TestAdoptReadsPageInfoOfBody(t *testing.T) {
	req := &model.Request{}
	req.SetBody(map[string]any{"pageInfo": map[string]any{"currentPage": promoPage}})
	body, err := cx.Adopt(req).Encode(&model.Answer{EndInteraction: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeStrict(t, body).GetTargetPage(); got != promoFlow+"/pages/END_SESSION" {
		t.Errorf("targetPage = %q", got)
	}
}

// TestTelephonyTransferWithoutNumberIsRefused: a phoneNumber template that renders empty must not become a
// transfer to nowhere.
func TestTelephonyTransferWithoutNumberIsRefused(t *testing.T) {
	_, err := decodeFixture(t).Encode(&model.Answer{Messages: []model.Message{
		{TelephonyTransferCall: &model.TransferCall{}}}})
	var encodeErr *dialect.EncodeError
	if !errors.As(err, &encodeErr) {
		t.Fatalf("want a *dialect.EncodeError, got %v", err)
	}
}

// TestPageInfoInCEL: routes read the request's pageInfo as sent.
func TestPageInfoInCEL(t *testing.T) {
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		src  string
		req  dialect.Decoded
		want bool
	}{
		"just collected": {`request.pageInfo.formInfo.parameterInfo.exists(p, p.displayName == "promo_code" && p.justCollected)`,
			promoRequest(t, nil), true},
		"not just collected": {`request.pageInfo.formInfo.parameterInfo.exists(p, p.displayName == "email" && has(p.justCollected) && p.justCollected)`,
			promoRequest(t, nil), false},
		"current page": {`request.pageInfo.currentPage.endsWith("/pages/p-promo") && request.pageInfo.displayName == "Promo"`,
			promoRequest(t, nil), true},
		"no pageInfo": {`!has(request.pageInfo.currentPage)`,
			promoRequest(t, func(r *cxpb.WebhookRequest) { r.PageInfo = nil }), true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			program, err := env.Compile(tt.src, expr.WithBoolResult())
			if err != nil {
				t.Fatal(err)
			}
			got, err := program.EvalBool(context.Background(), &expr.Vars{Request: tt.req.Request()})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s = %v, want %v", tt.src, got, tt.want)
			}
		})
	}
}
