package generic_test

import (
	"net/http"
	"testing"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/generic"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
)

func TestDecodeEnvironmentAndVersion(t *testing.T) {
	signedByStripe := generic.FromSettings(dialect.Settings{SignedBy: string(fulfillmentv1alpha1.HMACSchemeStripe)})
	tests := map[string]struct {
		codec                    dialect.Codec
		body                     string
		header                   http.Header
		wantEnvironment, wantVer string
	}{
		"Stripe test event": {
			codec: generic.New(), body: `{"id":"evt_1","object":"event","type":"invoice.paid","livemode":false,"api_version":"2024-06-20"}`,
			wantEnvironment: "test", wantVer: "2024-06-20",
		},
		"Stripe live event": {
			codec: generic.New(), body: `{"id":"evt_1","object":"event","type":"invoice.paid","livemode":true,"api_version":"2023-10-16"}`,
			wantEnvironment: "live", wantVer: "2023-10-16",
		},
		"livemode of another format": {
			codec: generic.New(), body: `{"event":"e","livemode":false}`,
		},
		"livemode not a boolean": {
			codec: generic.New(), body: `{"object":"event","type":"t","livemode":"false"}`,
		},
		"body version": {
			codec: generic.New(), body: `{"event":"order.created","version":"2"}`, wantVer: "2",
		},
		"api_version first": {
			codec: generic.New(), body: `{"event":"e","version":"1","api_version":"2"}`, wantVer: "2",
		},
		"version not a string": {
			codec: generic.New(), body: `{"event":"e","version":2}`,
		},
		// No supported scheme signs a version header: believing one would let anyone pick another version's route.
		"unsigned header on an unsigned endpoint": {
			codec: generic.New(), body: `{"event":"e","version":"1"}`,
			header: http.Header{"Webhook-Version": {"2"}, "X-Api-Version": {"2"}}, wantVer: "1",
		},
		"unsigned header on a signed endpoint": {
			codec: signedByStripe, body: `{"object":"event","type":"t","livemode":true,"api_version":"2024-06-20"}`,
			header: http.Header{"Webhook-Version": {"1999-01-01"}, "X-Api-Version": {"1999-01-01"}}, wantEnvironment: "live", wantVer: "2024-06-20",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			header := http.Header{"Content-Type": {"application/json"}}
			for k, v := range tc.header {
				header[k] = v
			}
			req, err := dialecttest.Decode(tc.codec, dialect.Input{Method: http.MethodPost, Header: header, Body: []byte(tc.body)})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if req.Environment != tc.wantEnvironment || req.Version != tc.wantVer {
				t.Errorf("environment, version = %q, %q, want %q, %q", req.Environment, req.Version, tc.wantEnvironment, tc.wantVer)
			}
		})
	}
}
