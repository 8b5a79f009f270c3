package auth_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
)

// The fuzz targets feed arbitrary signature, timestamp and message id headers and bodies to each scheme. Seeds
// live in testdata/fuzz/FuzzHMAC<Scheme>/ (signed known answers and their near misses); run one target with
//
//	go test ./webhookserver/auth -run '^$' -fuzz '^FuzzHMACStripe$' -fuzztime 15s
//
// Properties:
//   - Check never panics and refuses with 401, method hmac and one of the documented reasons;
//   - nothing verifies under a key drawn at random when the process starts, which no input can know;
//   - the same body (and message id) signed with that key does verify, so the first property is not vacuous.

var hmacReasons = map[string]bool{
	auth.ReasonMissingSignature: true, auth.ReasonMalformedSignature: true, auth.ReasonMissingTimestamp: true,
	auth.ReasonMalformedTimestamp: true, auth.ReasonTimestampOutsideTolerance: true, auth.ReasonInvalidSignature: true,
}

// fuzzKey returns a fresh random key in the scheme's shared form.
func fuzzKey(f *testing.F, s fulfillmentv1alpha1.HMACScheme) string {
	key, err := hmackey.Generate(s)
	if err != nil {
		f.Fatal(err)
	}
	return string(key)
}

// fuzzHMAC runs the properties for spec. headers maps the fuzzed signature, timestamp and id to the request's
// headers. now is the clock: the seeds' timestamps are near it, so fuzzing reaches the MAC comparison.
func fuzzHMAC(f *testing.F, spec fulfillmentv1alpha1.HMACAuth, now time.Time,
	headers func(signature, timestamp, id string) http.Header) {
	key := fuzzKey(f, spec.Scheme)
	checker, err := auth.NewHMAC(&spec, [][]byte{[]byte(key)}, auth.WithHMACClock(fixedClock(now)))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, signature, timestamp, id string, body []byte) {
		failure := checker.Check(&auth.Request{Header: headers(signature, timestamp, id), Body: body})
		if failure == nil {
			t.Fatal("verified without the key")
		}
		if failure.Status != http.StatusUnauthorized || failure.Method != "hmac" || !hmacReasons[failure.Reason] {
			t.Fatalf("unexpected failure %+v", failure)
		}
		if spec.Scheme == fulfillmentv1alpha1.HMACSchemeStandardWebhooks && (id == "" || len(id) > 256) {
			return // no valid request carries this id
		}
		signed := hmacSign(t, spec, key, id, now.Unix(), body)
		if failure := checker.Check(&auth.Request{Header: signed, Body: body}); failure != nil {
			t.Fatalf("refused what the key signed: %v", failure)
		}
	})
}

func FuzzHMACStandardWebhooks(f *testing.F) {
	fuzzHMAC(f, scheme(fulfillmentv1alpha1.HMACSchemeStandardWebhooks), time.Unix(1614265330, 0),
		func(signature, timestamp, id string) http.Header {
			return http.Header{"Webhook-Signature": {signature}, "Webhook-Timestamp": {timestamp}, "Webhook-Id": {id}}
		})
}

func FuzzHMACGitHub(f *testing.F) {
	fuzzHMAC(f, scheme(fulfillmentv1alpha1.HMACSchemeGitHub), time.Unix(1614265330, 0),
		func(signature, _, _ string) http.Header { return http.Header{"X-Hub-Signature-256": {signature}} })
}

func FuzzHMACStripe(f *testing.F) {
	fuzzHMAC(f, scheme(fulfillmentv1alpha1.HMACSchemeStripe), time.Unix(1700000000, 0),
		func(signature, _, _ string) http.Header { return http.Header{"Stripe-Signature": {signature}} })
}

func FuzzHMACSlack(f *testing.F) {
	fuzzHMAC(f, scheme(fulfillmentv1alpha1.HMACSchemeSlack), time.Unix(1531420618, 0),
		func(signature, timestamp, _ string) http.Header {
			return http.Header{"X-Slack-Signature": {signature}, "X-Slack-Request-Timestamp": {timestamp}}
		})
}

func FuzzHMACShopify(f *testing.F) {
	fuzzHMAC(f, scheme(fulfillmentv1alpha1.HMACSchemeShopify), time.Unix(1614265330, 0),
		func(signature, _, _ string) http.Header { return http.Header{"X-Shopify-Hmac-Sha256": {signature}} })
}

// FuzzHMACGeneric fuzzes two settings at once: hex with a prefix, and base64 SHA-512; the fuzzed id goes to the
// second one's header.
func FuzzHMACGeneric(f *testing.F) {
	hexSpec := generic("X-Signature", "SHA256", "Hex", "sha256=")
	b64Spec := generic("X-Signature-512", "SHA512", "Base64", "")
	var random [32]byte
	if _, err := rand.Read(random[:]); err != nil {
		f.Fatal(err)
	}
	key := hex.EncodeToString(random[:])
	hexChecker, err1 := auth.NewHMAC(&hexSpec, [][]byte{[]byte(key)})
	b64Checker, err2 := auth.NewHMAC(&b64Spec, [][]byte{[]byte(key)})
	if err1 != nil || err2 != nil {
		f.Fatal(err1, err2)
	}
	f.Fuzz(func(t *testing.T, signature, _, other string, body []byte) {
		header := http.Header{"X-Signature": {signature}, "X-Signature-512": {other}}
		for _, checker := range []auth.Checker{hexChecker, b64Checker} {
			failure := checker.Check(&auth.Request{Header: header, Body: body})
			if failure == nil {
				t.Fatal("verified without the key")
			}
			if failure.Status != http.StatusUnauthorized || failure.Method != "hmac" || !hmacReasons[failure.Reason] {
				t.Fatalf("unexpected failure %+v", failure)
			}
		}
		for spec, checker := range map[*fulfillmentv1alpha1.HMACAuth]auth.Checker{&hexSpec: hexChecker, &b64Spec: b64Checker} {
			signed := hmacSign(t, *spec, key, "", 0, body)
			if failure := checker.Check(&auth.Request{Header: signed, Body: body}); failure != nil {
				t.Fatalf("refused what the key signed: %v", failure)
			}
		}
	})
}
