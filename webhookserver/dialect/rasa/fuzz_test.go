package rasa_test

import (
	"net/http"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/rasa"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// FuzzDecode checks that no body makes Decode panic or fail with anything but a *dialect.DecodeError, and that
// whatever decodes can be answered. More seeds are in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add(dialecttest.Fixture(f, "rasa-request.json"))
	f.Add([]byte(`{"next_action":"a","tracker":{"latest_message":{"entities":[{"entity":"e","value":[1]}]}}}`))
	codec := rasa.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		decoded, err := codec.Decode(dialect.Input{Method: http.MethodPost, Body: body})
		dialecttest.CheckFuzzError(t, err)
		if err != nil {
			return
		}
		req := decoded.Request()
		if req.Action == "" {
			t.Fatal("decoded a request without next_action")
		}
		// Decoded values can always be written back as slots, and validated ones too.
		var validated []model.FormParameter
		for name := range req.Views().SlotsToValidate {
			validated = append(validated, model.FormParameter{Name: name})
		}
		if _, err := decoded.Encode(&model.Answer{Text: req.Text, Parameters: req.Parameters, FormParameters: validated}); err != nil {
			t.Fatalf("Encode: %v", err)
		}
	})
}
