package hmacsign_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmacsign"
)

func spec(scheme fulfillmentv1alpha1.HMACScheme) *fulfillmentv1alpha1.HMACAuth {
	return &fulfillmentv1alpha1.HMACAuth{Scheme: scheme}
}

func generic(header, algorithm, encoding, prefix string) *fulfillmentv1alpha1.HMACAuth {
	return &fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeGeneric, Generic: &fulfillmentv1alpha1.GenericHMAC{
		Header: header, Algorithm: fulfillmentv1alpha1.HMACAlgorithm(algorithm),
		Encoding: fulfillmentv1alpha1.SignatureEncoding(encoding), Prefix: prefix}}
}

// TestSignKnownAnswers signs the providers' published examples and compares every header with theirs.
func TestSignKnownAnswers(t *testing.T) {
	slackBody, err := os.ReadFile(filepath.Join("..", "dialect", "testdata", "slack-body.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		spec *fulfillmentv1alpha1.HMACAuth
		key  string
		msg  hmacsign.Message
		want http.Header
	}{
		"Standard Webhooks": {spec(fulfillmentv1alpha1.HMACSchemeStandardWebhooks), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			hmacsign.Message{ID: "msg_p5jXN8AQM9LWM0D4loKWxJek", At: time.Unix(1614265330, 0), Body: []byte(`{"test": 2432232314}`)},
			http.Header{"Webhook-Id": {"msg_p5jXN8AQM9LWM0D4loKWxJek"}, "Webhook-Timestamp": {"1614265330"},
				"Webhook-Signature": {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}}},
		"GitHub": {spec(fulfillmentv1alpha1.HMACSchemeGitHub), "It's a Secret to Everybody",
			hmacsign.Message{Body: []byte("Hello, World!")},
			http.Header{"X-Hub-Signature-256": {"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}}},
		"Stripe": {spec(fulfillmentv1alpha1.HMACSchemeStripe), "whsec_test_secret",
			hmacsign.Message{At: time.Unix(1700000000, 0), Body: []byte(`{"id":"evt_test_1","object":"event","type":"ping"}`)},
			http.Header{"Stripe-Signature": {"t=1700000000,v1=7d904eb0d8668d689206011954fdb7bc76065907761e8eed35d51db2da9ed554"}}},
		"Slack": {spec(fulfillmentv1alpha1.HMACSchemeSlack), "8f742231b10e8888abcd99yyyzzz85a5",
			hmacsign.Message{At: time.Unix(1531420618, 0), Body: slackBody},
			http.Header{"X-Slack-Request-Timestamp": {"1531420618"},
				"X-Slack-Signature": {"v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"}}},
		"Shopify": {spec(fulfillmentv1alpha1.HMACSchemeShopify), "shpss_test",
			hmacsign.Message{Body: []byte(`{"id":820982911946154508}`)},
			http.Header{"X-Shopify-Hmac-Sha256": {"3JxXO8Lul52iD5+qb1FHtoXK8vDwPbXpi8eB+yETk5I="}}},
		// The GitHub example again, as a Generic setting that signs like GitHub.
		"Generic like GitHub": {generic("X-Signature", "SHA256", "Hex", "sha256="), "It's a Secret to Everybody",
			hmacsign.Message{Body: []byte("Hello, World!")},
			http.Header{"X-Signature": {"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			// A Secret's value often ends in a newline; the key is the same.
			got, err := hmacsign.Sign(tc.spec, []byte(tc.key+"\n"), tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Errorf("headers %v, want %v", got, tc.want)
			}
			for name := range tc.want {
				if got.Get(name) != tc.want.Get(name) {
					t.Errorf("%s: %q, want %q", name, got.Get(name), tc.want.Get(name))
				}
			}
		})
	}
}

// TestSignVerifiesWithTheServer signs with a fresh key and the time now, as webhookserver send does, and
// verifies with the server's own checker; the same request with the body changed or signed by another key fails.
func TestSignVerifiesWithTheServer(t *testing.T) {
	specs := map[string]*fulfillmentv1alpha1.HMACAuth{
		"StandardWebhooks":          spec(fulfillmentv1alpha1.HMACSchemeStandardWebhooks),
		"GitHub":                    spec(fulfillmentv1alpha1.HMACSchemeGitHub),
		"Stripe":                    spec(fulfillmentv1alpha1.HMACSchemeStripe),
		"Slack":                     spec(fulfillmentv1alpha1.HMACSchemeSlack),
		"Shopify":                   spec(fulfillmentv1alpha1.HMACSchemeShopify),
		"Generic SHA256 hex":        generic("X-Signature", "SHA256", "Hex", "sha256="),
		"Generic SHA512 base64":     generic("X-Sig-512", "SHA512", "Base64", ""),
		"Generic SHA1 hex":          generic("X-Legacy-Signature", "SHA1", "Hex", "sha1="),
		"Generic default algorithm": generic("X-Signature", "", "", ""),
	}
	body := []byte(`{"event":"order.created","data":{"id":"o-1"}}`)
	for name, s := range specs {
		t.Run(name, func(t *testing.T) {
			key, err := hmackey.Generate(s.Scheme)
			if err != nil {
				t.Fatal(err)
			}
			other, err := hmackey.Generate(s.Scheme)
			if err != nil {
				t.Fatal(err)
			}
			checker, err := auth.NewHMAC(s, [][]byte{key})
			if err != nil {
				t.Fatal(err)
			}
			msg := hmacsign.Message{ID: "msg_send_1", At: time.Now(), Body: body}
			header, err := hmacsign.Sign(s, key, msg)
			if err != nil {
				t.Fatal(err)
			}
			if failure := checker.Check(&auth.Request{Header: header, Body: body}); failure != nil {
				t.Fatalf("the server refused the signature: %v", failure)
			}
			changed := append([]byte(nil), body...)
			changed[2] = 'E'
			if failure := checker.Check(&auth.Request{Header: header, Body: changed}); failure == nil || failure.Reason != auth.ReasonInvalidSignature {
				t.Errorf("a changed body: %v, want %s", failure, auth.ReasonInvalidSignature)
			}
			byOther, err := hmacsign.Sign(s, other, msg)
			if err != nil {
				t.Fatal(err)
			}
			if failure := checker.Check(&auth.Request{Header: byOther, Body: body}); failure == nil {
				t.Error("a signature by another key passed")
			}
		})
	}
}

// TestSignRefuses: what cannot be signed is said, and never with the key.
func TestSignRefuses(t *testing.T) {
	const key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	for name, tc := range map[string]struct {
		spec *fulfillmentv1alpha1.HMACAuth
		key  string
		id   string
		want string
	}{
		"no message id":          {spec(fulfillmentv1alpha1.HMACSchemeStandardWebhooks), key, "", "message id"},
		"key not whsec_ base64":  {spec(fulfillmentv1alpha1.HMACSchemeStandardWebhooks), "whsec_not*base64", "m", "whsec_"},
		"empty key":              {spec(fulfillmentv1alpha1.HMACSchemeGitHub), " \n", "", "empty"},
		"unknown scheme":         {spec("Acme"), key, "", "Acme"},
		"generic without header": {&fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeGeneric}, key, "", "generic"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := hmacsign.Sign(tc.spec, []byte(tc.key), hmacsign.Message{ID: tc.id, At: time.Now()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "MfKQ9r8") || strings.Contains(err.Error(), "not*base64") {
				t.Errorf("the error holds the key: %v", err)
			}
		})
	}
}
