package generic_test

import (
	"net/http"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/generic"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

func BenchmarkDecode(b *testing.B) {
	benchmarks := map[string]dialect.Input{
		"JSON": {Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}},
			Body: dialecttest.Fixture(b, "generic-event-request.json")},
		"form": {Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			Body: []byte("event=intent_matched&intent=GetAccountBalance&session.id=abc123&session.parameters.user_id=456&timestamp=2025-06-24T12%3A34%3A56Z")},
		"XML": {Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/xml"}},
			Body: []byte(`<webhook><event>intent_matched</event><intent>GetAccountBalance</intent><session><id>abc123</id><parameters><user_id>456</user_id></parameters></session><timestamp>2025-06-24T12:34:56Z</timestamp></webhook>`)},
	}
	codec := generic.New()
	for name, in := range benchmarks {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.Body)))
			for b.Loop() {
				if _, err := codec.Decode(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	answer := &model.Answer{
		Text:       "Your balance is 42.",
		Parameters: map[string]any{"balance": 42},
		Payload:    map[string]any{"currency": "EUR"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := generic.Adopt(&model.Request{}).Encode(answer); err != nil {
			b.Fatal(err)
		}
	}
}
