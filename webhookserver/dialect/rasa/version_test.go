package rasa_test

import (
	"net/http"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/rasa"
)

// The version is the calling Rasa's, which routes select while an assistant moves to a new major version.
func TestDecodeVersion(t *testing.T) {
	in := dialect.Input{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}},
		Body: dialecttest.Fixture(t, "rasa-request.json")}
	req, err := dialecttest.Decode(rasa.New(), in)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if req.Version != "3.10.0" || req.Environment != "" {
		t.Errorf("version, environment = %q, %q, want \"3.10.0\", \"\"", req.Version, req.Environment)
	}
}
