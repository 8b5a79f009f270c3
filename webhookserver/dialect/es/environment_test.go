package es_test

import (
	"net/http"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/es"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
)

// The environment is the session's: a session in an environment names it, the console's test agent none.
func TestDecodeEnvironment(t *testing.T) {
	tests := map[string]struct{ session, want string }{
		"draft":       {"projects/p/agent/sessions/s1", "draft"},
		"environment": {"projects/p/agent/environments/production/users/-/sessions/s1", "production"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			body := `{"responseId":"r","session":"` + tc.session + `","queryResult":{"intent":{"displayName":"i"}}}`
			in := dialect.Input{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
			req, err := dialecttest.Decode(es.New(), in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if req.Environment != tc.want || req.Version != es.V2 {
				t.Errorf("environment, version = %q, %q, want %q, %q", req.Environment, req.Version, tc.want, es.V2)
			}
		})
	}
}
