package cx_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/cx"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// FuzzDecode checks that no body makes Decode panic or fail with anything but a *dialect.DecodeError, and that
// whatever decodes can be answered. More seeds are in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add(dialecttest.Fixture(f, "dialogflow-cx-request.json"))
	f.Add([]byte(`{"intentInfo":{"parameters":{"a":{"resolvedValue":null},"b":{}}},"transcript":"hi"}`))
	codec := cx.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		decoded, err := codec.Decode(dialect.Input{Method: http.MethodPost, Body: body})
		dialecttest.CheckFuzzError(t, err)
		if err != nil {
			return
		}
		req := decoded.Request()
		answer := &model.Answer{Text: req.Text, Parameters: req.Parameters, MergeBehavior: "Append"}
		if _, err := decoded.Encode(answer); err != nil {
			var encodeErr *dialect.EncodeError
			if !errors.As(err, &encodeErr) {
				t.Fatalf("Encode: want a *dialect.EncodeError, got %T: %v", err, err)
			}
		}
	})
}
