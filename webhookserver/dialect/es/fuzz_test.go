package es_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/es"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// FuzzDecode checks that no body makes Decode panic or fail with anything but a *dialect.DecodeError, and that
// whatever decodes can be answered, clearing its contexts too, and shows its contexts to routes. More seeds are in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add(dialecttest.Fixture(f, "dialogflow-es-request.json"))
	f.Add([]byte(`{"session":"s","queryResult":{"outputContexts":[{"name":"s/contexts/session-vars","parameters":{"a":null}}]}}`))
	f.Add([]byte(`{"session":"s","queryResult":{"outputContexts":[{"name":"s/contexts/a","lifespanCount":1e300,` +
		`"parameters":{"t":1}},{"name":"s/contexts/","lifespanCount":"x"},{"name":"s/contexts/__x"},{"name":"s/contexts/%Z!"}]}}`))
	codec := es.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		decoded, err := codec.Decode(dialect.Input{Method: http.MethodPost, Body: body})
		dialecttest.CheckFuzzError(t, err)
		if err != nil {
			return
		}
		for id, context := range decoded.Request().Views().Contexts {
			if view, ok := context.(map[string]any); !ok || view["name"] != id || view["lifespanCount"].(int64) < 0 {
				t.Fatalf("request.contexts[%q] = %#v", id, context)
			}
		}
		answer := &model.Answer{Text: "ok", Parameters: map[string]any{"k": "v"},
			FollowupEvent: &model.FollowupEvent{Name: "E"}, ClearAllContexts: true,
			Contexts: []model.Context{{Name: "Menu", LifespanCount: 2}}}
		if _, err := decoded.Encode(answer); err != nil {
			var encodeErr *dialect.EncodeError
			if !errors.As(err, &encodeErr) {
				t.Fatalf("Encode: want a *dialect.EncodeError, got %T: %v", err, err)
			}
		}
	})
}
