package auth_test

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
)

// The operator checks a Secret's HMAC keys with hmackey.Check before the server reads them: a key it passes
// must never make the server refuse the configuration, and a key it refuses must be one the server refuses.
func TestHMACKeyCheckAgreesWithTheServer(t *testing.T) {
	scheme := func(s fulfillmentv1alpha1.HMACScheme) *fulfillmentv1alpha1.HMACAuth {
		return &fulfillmentv1alpha1.HMACAuth{Scheme: s}
	}
	generic := func(g fulfillmentv1alpha1.GenericHMAC) *fulfillmentv1alpha1.HMACAuth {
		return &fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeGeneric, Generic: &g}
	}
	cases := map[string]struct {
		spec  *fulfillmentv1alpha1.HMACAuth
		keys  []string
		valid bool
	}{
		"a generated Standard Webhooks key": {scheme(fulfillmentv1alpha1.HMACSchemeStandardWebhooks),
			[]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"}, true},
		"a Standard Webhooks key without its prefix": {scheme(fulfillmentv1alpha1.HMACSchemeStandardWebhooks),
			[]string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, true},
		"a Standard Webhooks key that is not base64": {scheme(fulfillmentv1alpha1.HMACSchemeStandardWebhooks),
			[]string{"whsec_not base64!"}, false},
		"a Standard Webhooks key empty after its prefix": {scheme(fulfillmentv1alpha1.HMACSchemeStandardWebhooks),
			[]string{"whsec_"}, false},
		"a bad previous key": {scheme(fulfillmentv1alpha1.HMACSchemeStandardWebhooks),
			[]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_%%"}, false},
		"a cleared previous key":   {scheme(fulfillmentv1alpha1.HMACSchemeGitHub), []string{"s3cret", " \n"}, true},
		"an empty current key":     {scheme(fulfillmentv1alpha1.HMACSchemeGitHub), []string{" \n"}, false},
		"no key":                   {scheme(fulfillmentv1alpha1.HMACSchemeSlack), nil, false},
		"any Stripe secret":        {scheme(fulfillmentv1alpha1.HMACSchemeStripe), []string{"whsec_anything at all"}, true},
		"an unknown scheme":        {scheme("Twilio"), []string{"s3cret"}, false},
		"Generic without settings": {scheme(fulfillmentv1alpha1.HMACSchemeGeneric), []string{"s3cret"}, false},
		"generic settings with another scheme": {&fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeGitHub,
			Generic: &fulfillmentv1alpha1.GenericHMAC{Header: "X-Signature"}}, []string{"s3cret"}, false},
		"a zero tolerance": {&fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeSlack,
			Tolerance: &metav1.Duration{}}, []string{"s3cret"}, false},
		"a tolerance": {&fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeSlack,
			Tolerance: &metav1.Duration{Duration: time.Minute}}, []string{"s3cret"}, true},
		"Generic":                   {generic(fulfillmentv1alpha1.GenericHMAC{Header: "X-Signature", Prefix: "sha1="}), []string{"s3cret"}, true},
		"Generic with a bad header": {generic(fulfillmentv1alpha1.GenericHMAC{Header: "X Signature"}), []string{"s3cret"}, false},
		"Generic with a non-ASCII prefix": {generic(fulfillmentv1alpha1.GenericHMAC{Header: "X-Signature", Prefix: "sí="}),
			[]string{"s3cret"}, false},
		"Generic with an unknown algorithm": {generic(fulfillmentv1alpha1.GenericHMAC{Header: "X-Signature", Algorithm: "MD5"}),
			[]string{"s3cret"}, false},
		"Generic with an unknown encoding": {generic(fulfillmentv1alpha1.GenericHMAC{Header: "X-Signature", Encoding: "Base32"}),
			[]string{"s3cret"}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			keys := toKeys(tc.keys...)
			_, serverErr := auth.NewHMAC(tc.spec, keys)
			checkErr := hmackey.Check(tc.spec, keys)
			if (serverErr == nil) != tc.valid || (checkErr == nil) != tc.valid {
				t.Fatalf("the server says %v, hmackey.Check says %v; want valid %v", serverErr, checkErr, tc.valid)
			}
			if serverErr != nil && serverErr.Error() != checkErr.Error() {
				t.Errorf("the server says %q, hmackey.Check says %q", serverErr, checkErr)
			}
		})
	}
}
