package cx_test

import (
	"net/http"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/cx"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

func BenchmarkDecode(b *testing.B) {
	in := dialect.Input{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}},
		Body: dialecttest.Fixture(b, "dialogflow-cx-request.json")}
	codec := cx.New()
	b.ReportAllocs()
	b.SetBytes(int64(len(in.Body)))
	for b.Loop() {
		if _, err := codec.Decode(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	req := decodeFixture(b)
	answer := &model.Answer{
		Text:          "Order 12345 has shipped.",
		MergeBehavior: "Replace",
		Payload:       map[string]any{"trackingUrl": "https://example.com/t/12345"},
		Parameters:    map[string]any{"order_status": "shipped", "temp": nil},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := req.Encode(answer); err != nil {
			b.Fatal(err)
		}
	}
}
