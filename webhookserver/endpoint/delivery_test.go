package endpoint

import (
	"strings"
	"testing"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// An Async endpoint must not take its credential in a header that queued events keep.
func TestCheckCredentialHeaders(t *testing.T) {
	generic := func(header string) *fulfillmentv1alpha1.HMACAuth {
		return &fulfillmentv1alpha1.HMACAuth{Generic: &fulfillmentv1alpha1.GenericHMAC{Header: header}}
	}
	for name, tc := range map[string]struct {
		auth    fulfillmentv1alpha1.EndpointAuth
		refused string
	}{
		"unauthenticated":                     {fulfillmentv1alpha1.EndpointAuth{AllowUnauthenticated: true}, ""},
		"bearer in Authorization (default)":   {fulfillmentv1alpha1.EndpointAuth{Bearer: &fulfillmentv1alpha1.BearerAuth{}}, ""},
		"bearer in a header of its own":       {fulfillmentv1alpha1.EndpointAuth{Bearer: &fulfillmentv1alpha1.BearerAuth{Header: "X-Webhook-Token"}}, ""},
		"bearer in X-Request-Id":              {fulfillmentv1alpha1.EndpointAuth{Bearer: &fulfillmentv1alpha1.BearerAuth{Header: "x-request-id"}}, "spec.auth.bearer.header"},
		"generic HMAC in a header of its own": {fulfillmentv1alpha1.EndpointAuth{HMAC: generic("X-Signature")}, ""},
		"generic HMAC in User-Agent":          {fulfillmentv1alpha1.EndpointAuth{HMAC: generic("User-Agent")}, "spec.auth.hmac.generic.header"},
	} {
		t.Run(name, func(t *testing.T) {
			err := checkCredentialHeaders(tc.auth)
			switch {
			case tc.refused == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Errorf("checkCredentialHeaders = %v, want a refusal naming %s", err, tc.refused)
			}
		})
	}
}
