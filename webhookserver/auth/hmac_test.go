package auth_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmacsign"
)

// hmacVector is a signed request: a known answer from ../../../shared/fixtures/signature-vectors.md, an RFC
// test vector, or one signed in a test.
type hmacVector struct {
	spec    fulfillmentv1alpha1.HMACAuth
	key     string // as stored in the Secret and shared with the sender
	now     time.Time
	body    []byte
	headers []signedHeader
}

type signedHeader struct {
	name, value string
	// hexFrom is where a hex signature starts in value, -1 when there is none: from there on a letter's case
	// does not matter.
	hexFrom int
}

func (v hmacVector) checker(t testing.TB, keys ...string) auth.Checker {
	t.Helper()
	if len(keys) == 0 {
		keys = []string{v.key}
	}
	checker, err := auth.NewHMAC(&v.spec, toKeys(keys...), auth.WithHMACClock(fixedClock(v.now)))
	if err != nil {
		t.Fatalf("NewHMAC: %v", err)
	}
	return checker
}

func (v hmacVector) request() *auth.Request {
	header := http.Header{}
	for _, h := range v.headers {
		header.Add(h.name, h.value)
	}
	return &auth.Request{Header: header, Body: v.body}
}

func toKeys(keys ...string) [][]byte {
	out := make([][]byte, len(keys))
	for i, key := range keys {
		out[i] = []byte(key)
	}
	return out
}

func fixedClock(now time.Time) func() time.Time { return func() time.Time { return now } }

func scheme(s fulfillmentv1alpha1.HMACScheme) fulfillmentv1alpha1.HMACAuth {
	return fulfillmentv1alpha1.HMACAuth{Scheme: s}
}

func generic(header string, algorithm fulfillmentv1alpha1.HMACAlgorithm, encoding fulfillmentv1alpha1.SignatureEncoding,
	prefix string) fulfillmentv1alpha1.HMACAuth {
	return fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeGeneric, Generic: &fulfillmentv1alpha1.GenericHMAC{
		Header: header, Algorithm: algorithm, Encoding: encoding, Prefix: prefix}}
}

// knownAnswers are the vectors of signature-vectors.md (each checked there with the provider's library or docs),
// plus RFC 2202 and RFC 4231 test case 2 for the Generic algorithms. Their timestamps are old: the clock is
// injected.
func knownAnswers(t testing.TB) map[string]hmacVector {
	slackBody, err := os.ReadFile("testdata/hmac/slack-body.txt")
	if err != nil {
		t.Fatal(err)
	}
	rfc := []byte("what do ya want for nothing?")
	standard := []signedHeader{
		{"Webhook-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek", -1},
		{"Webhook-Timestamp", "1614265330", -1},
		{"Webhook-Signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", -1},
	}
	svix := make([]signedHeader, len(standard))
	for i, h := range standard {
		svix[i] = h
		svix[i].name = strings.Replace(h.name, "Webhook", "Svix", 1)
	}
	github := []signedHeader{{"X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", len("sha256=")}}
	shopify := []signedHeader{{"X-Shopify-Hmac-Sha256", "3JxXO8Lul52iD5+qb1FHtoXK8vDwPbXpi8eB+yETk5I=", -1}}
	return map[string]hmacVector{
		"StandardWebhooks": {
			spec: scheme(fulfillmentv1alpha1.HMACSchemeStandardWebhooks),
			key:  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", now: time.Unix(1614265330, 0),
			body: []byte(`{"test": 2432232314}`), headers: standard,
		},
		"StandardWebhooks svix headers": {
			spec: scheme(fulfillmentv1alpha1.HMACSchemeStandardWebhooks),
			key:  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", now: time.Unix(1614265330, 0),
			body: []byte(`{"test": 2432232314}`), headers: svix,
		},
		"StandardWebhooks key without prefix": {
			spec: scheme(fulfillmentv1alpha1.HMACSchemeStandardWebhooks),
			key:  "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", now: time.Unix(1614265330, 0),
			body: []byte(`{"test": 2432232314}`), headers: standard,
		},
		"GitHub": {
			spec: scheme(fulfillmentv1alpha1.HMACSchemeGitHub),
			key:  "It's a Secret to Everybody", body: []byte("Hello, World!"), headers: github,
		},
		"Stripe": {
			spec: scheme(fulfillmentv1alpha1.HMACSchemeStripe),
			key:  "whsec_test_secret", now: time.Unix(1700000000, 0),
			body: []byte(`{"id":"evt_test_1","object":"event","type":"ping"}`),
			headers: []signedHeader{{"Stripe-Signature",
				"t=1700000000,v1=7d904eb0d8668d689206011954fdb7bc76065907761e8eed35d51db2da9ed554", len("t=1700000000,v1=")}},
		},
		"Slack": {
			spec: scheme(fulfillmentv1alpha1.HMACSchemeSlack),
			key:  "8f742231b10e8888abcd99yyyzzz85a5", now: time.Unix(1531420618, 0), body: slackBody,
			headers: []signedHeader{
				{"X-Slack-Request-Timestamp", "1531420618", -1},
				{"X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", len("v0=")},
			},
		},
		"Shopify": {
			spec: scheme(fulfillmentv1alpha1.HMACSchemeShopify),
			key:  "shpss_test", body: []byte(`{"id":820982911946154508}`), headers: shopify,
		},
		"Generic as GitHub": {
			spec: generic("X-Hub-Signature-256", "SHA256", "Hex", "sha256="),
			key:  "It's a Secret to Everybody", body: []byte("Hello, World!"), headers: github,
		},
		"Generic as Shopify (defaults)": {
			spec: generic("X-Shopify-Hmac-Sha256", "", "Base64", ""),
			key:  "shpss_test", body: []byte(`{"id":820982911946154508}`), headers: shopify,
		},
		"Generic SHA512 Hex (RFC 4231)": {
			spec: generic("X-Signature", "SHA512", "Hex", ""), key: "Jefe", body: rfc,
			headers: []signedHeader{{"X-Signature", "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737", 0}},
		},
		"Generic SHA512 Base64 (RFC 4231)": {
			spec: generic("X-Signature", "SHA512", "Base64", ""), key: "Jefe", body: rfc,
			headers: []signedHeader{{"X-Signature", "Fkt6e/z4GeLjlfvnO1bgo4e9ZCIugx/WECcM1+olBVSXWL91wFqZSm0DT2X48Ob9yuqxo01Ka0tjbgcKOLznNw==", -1}},
		},
		"Generic SHA1 Hex (RFC 2202)": {
			spec: generic("X-Signature", "SHA1", "Hex", "sha1="), key: "Jefe", body: rfc,
			headers: []signedHeader{{"X-Signature", "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", len("sha1=")}},
		},
		"Generic SHA1 Base64 (RFC 2202)": {
			spec: generic("X-Signature", "SHA1", "Base64", "HMAC "), key: "Jefe", body: rfc,
			headers: []signedHeader{{"X-Signature", "HMAC 7/zfauXrL6LSdBbV8YTfnCWafHk=", -1}},
		},
	}
}

func TestHMACKnownAnswers(t *testing.T) {
	for name, v := range knownAnswers(t) {
		t.Run(name, func(t *testing.T) {
			if failure := v.checker(t).Check(v.request()); failure != nil {
				t.Fatalf("refused: %v", failure)
			}
			// Surrounding whitespace of a Secret value is not part of the key.
			if failure := v.checker(t, " \n"+v.key+"\r\n").Check(v.request()); failure != nil {
				t.Fatalf("refused with the key in whitespace: %v", failure)
			}
		})
	}
}

// TestHMACEveryBitFlipRefused changes every bit of every byte of the body, of each signed header (signature,
// timestamp, message id) and of the key, one at a time: each change must be refused. A key that no longer
// decodes (Standard Webhooks) is refused by the constructor, which counts as refused.
//
// One exception, asserted rather than skipped: in a hex signature, flipping 0x20 of a letter only changes its
// case, which is the same value (hex is read in either case, as GitHub's, Stripe's and Slack's libraries do), so
// that request must still pass.
func TestHMACEveryBitFlipRefused(t *testing.T) {
	for name, v := range knownAnswers(t) {
		t.Run(name, func(t *testing.T) {
			checker := v.checker(t)
			refused := func(what string, i int, bit byte, r *auth.Request) {
				t.Helper()
				if failure := checker.Check(r); failure == nil {
					t.Errorf("%s: byte %d bit %#02x: accepted", what, i, bit)
				} else if failure.Status != http.StatusUnauthorized || failure.Method != "hmac" {
					t.Errorf("%s: byte %d bit %#02x: got %+v", what, i, bit, failure)
				}
			}
			checks := 0
			for i := range v.body {
				for bit := byte(1); bit != 0; bit <<= 1 {
					r := v.request()
					r.Body = bytes.Clone(v.body)
					r.Body[i] ^= bit
					refused("body", i, bit, r)
					checks++
				}
			}
			for h, header := range v.headers {
				for i := range len(header.value) {
					for bit := byte(1); bit != 0; bit <<= 1 {
						changed := []byte(header.value)
						changed[i] ^= bit
						w := v
						w.headers = append([]signedHeader(nil), v.headers...)
						w.headers[h].value = string(changed)
						if header.hexFrom >= 0 && i >= header.hexFrom && bit == 0x20 && isHexLetter(header.value[i]) {
							if failure := checker.Check(w.request()); failure != nil {
								t.Errorf("%s: byte %d: the other case of a hex letter refused: %v", header.name, i, failure)
							}
							continue
						}
						refused(header.name, i, bit, w.request())
						checks++
					}
				}
			}
			for i := range len(v.key) {
				for bit := byte(1); bit != 0; bit <<= 1 {
					key := []byte(v.key)
					key[i] ^= bit
					changed, err := auth.NewHMAC(&v.spec, [][]byte{key}, auth.WithHMACClock(fixedClock(v.now)))
					checks++
					if err != nil {
						continue
					}
					if failure := changed.Check(v.request()); failure == nil {
						t.Errorf("key: byte %d bit %#02x: accepted", i, bit)
					}
				}
			}
			t.Logf("%d changes refused", checks)
		})
	}
}

func isHexLetter(c byte) bool { return 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func TestHMACReplayWindow(t *testing.T) {
	vectors := knownAnswers(t)
	minute := metav1.Duration{Duration: time.Minute}
	for _, name := range []string{"StandardWebhooks", "StandardWebhooks svix headers", "Stripe", "Slack"} {
		v := vectors[name]
		cases := map[string]struct {
			now       time.Time
			tolerance *metav1.Duration
			opts      []auth.HMACOption
			reason    string
		}{
			"5m old":                  {now: v.now.Add(5 * time.Minute)},
			"5m ahead":                {now: v.now.Add(-5 * time.Minute)},
			"5m1s old":                {now: v.now.Add(5*time.Minute + time.Second), reason: auth.ReasonTimestampOutsideTolerance},
			"5m1s ahead":              {now: v.now.Add(-5*time.Minute - time.Second), reason: auth.ReasonTimestampOutsideTolerance},
			"a year old":              {now: v.now.AddDate(1, 0, 0), reason: auth.ReasonTimestampOutsideTolerance},
			"a year ahead":            {now: v.now.AddDate(-1, 0, 0), reason: auth.ReasonTimestampOutsideTolerance},
			"real clock":              {now: time.Now(), reason: auth.ReasonTimestampOutsideTolerance},
			"spec 1m: 1m old":         {now: v.now.Add(time.Minute), tolerance: &minute},
			"spec 1m: 61s old":        {now: v.now.Add(61 * time.Second), tolerance: &minute, reason: auth.ReasonTimestampOutsideTolerance},
			"spec 1m: 61s ahead":      {now: v.now.Add(-61 * time.Second), tolerance: &minute, reason: auth.ReasonTimestampOutsideTolerance},
			"option overrides spec":   {now: v.now.Add(2 * time.Minute), tolerance: &minute, opts: []auth.HMACOption{auth.WithHMACTolerance(time.Hour)}},
			"option 10s: 11s old":     {now: v.now.Add(11 * time.Second), opts: []auth.HMACOption{auth.WithHMACTolerance(10 * time.Second)}, reason: auth.ReasonTimestampOutsideTolerance},
			"option 10s: 9.5s ahead":  {now: v.now.Add(-9500 * time.Millisecond), opts: []auth.HMACOption{auth.WithHMACTolerance(10 * time.Second)}},
			"option 10s: 10.5s ahead": {now: v.now.Add(-10500 * time.Millisecond), opts: []auth.HMACOption{auth.WithHMACTolerance(10 * time.Second)}, reason: auth.ReasonTimestampOutsideTolerance},
		}
		for caseName, tc := range cases {
			t.Run(name+"/"+caseName, func(t *testing.T) {
				spec := v.spec
				spec.Tolerance = tc.tolerance
				opts := append([]auth.HMACOption{auth.WithHMACClock(fixedClock(tc.now))}, tc.opts...)
				checker, err := auth.NewHMAC(&spec, toKeys(v.key), opts...)
				if err != nil {
					t.Fatal(err)
				}
				expectReason(t, checker.Check(v.request()), tc.reason)
			})
		}
	}
	// A replayed request with a fresh timestamp it was not signed with is refused by the signature.
	v := vectors["Slack"]
	v.now = time.Now()
	v.headers = append([]signedHeader(nil), v.headers...)
	v.headers[0].value = strconv.FormatInt(v.now.Unix(), 10)
	expectReason(t, v.checker(t).Check(v.request()), auth.ReasonInvalidSignature)
}

func expectReason(t *testing.T, failure *auth.Failure, reason string) {
	t.Helper()
	switch {
	case reason == "" && failure != nil:
		t.Errorf("refused: %v", failure)
	case reason != "" && failure == nil:
		t.Errorf("accepted, want %s", reason)
	case reason != "" && (failure.Reason != reason || failure.Status != http.StatusUnauthorized || failure.Method != "hmac"):
		t.Errorf("got %d %s %s, want 401 hmac %s", failure.Status, failure.Method, failure.Reason, reason)
	}
}

// hmacSign signs a request the way each scheme's sender does (hmacsign, written from the providers'
// documentation and independent of the checkers). key is the shared form (whsec_ base64 for Standard Webhooks).
func hmacSign(t testing.TB, spec fulfillmentv1alpha1.HMACAuth, key string, id string, timestamp int64,
	body []byte) http.Header {
	t.Helper()
	header, err := hmacsign.Sign(&spec, []byte(key), hmacsign.Message{ID: id, At: time.Unix(timestamp, 0), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return header
}

var allSchemes = map[string]fulfillmentv1alpha1.HMACAuth{
	"StandardWebhooks": scheme(fulfillmentv1alpha1.HMACSchemeStandardWebhooks),
	"GitHub":           scheme(fulfillmentv1alpha1.HMACSchemeGitHub),
	"Stripe":           scheme(fulfillmentv1alpha1.HMACSchemeStripe),
	"Slack":            scheme(fulfillmentv1alpha1.HMACSchemeSlack),
	"Shopify":          scheme(fulfillmentv1alpha1.HMACSchemeShopify),
	"Generic":          generic("X-Signature", "SHA512", "Base64", "sha512="),
}

func TestHMACKeyRotation(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"event":"order.created"}`)
	for name, spec := range allSchemes {
		t.Run(name, func(t *testing.T) {
			previous, err := hmackey.Generate(spec.Scheme)
			if err != nil {
				t.Fatal(err)
			}
			current, err := hmackey.Generate(spec.Scheme)
			if err != nil {
				t.Fatal(err)
			}
			check := func(keys [][]byte, header http.Header) *auth.Failure {
				checker, err := auth.NewHMAC(&spec, keys, auth.WithHMACClock(fixedClock(now)))
				if err != nil {
					t.Fatal(err)
				}
				return checker.Check(&auth.Request{Header: header, Body: body})
			}
			signedPrevious := hmacSign(t, spec, string(previous), "msg_1", now.Unix(), body)
			signedCurrent := hmacSign(t, spec, string(current), "msg_1", now.Unix(), body)
			// During the grace period both keys pass.
			grace := hmackey.Keys(map[string][]byte{"secret": append(current, '\n'), "previous": append(previous, '\n')})
			expectReason(t, check(grace, signedCurrent), "")
			expectReason(t, check(grace, signedPrevious), "")
			// Once the previous key is removed (or cleared) its signatures are refused.
			expectReason(t, check([][]byte{current}, signedPrevious), auth.ReasonInvalidSignature)
			expectReason(t, check(hmackey.Keys(map[string][]byte{"secret": current, "previous": []byte("\n")}), signedPrevious),
				auth.ReasonInvalidSignature)
			expectReason(t, check([][]byte{current}, signedCurrent), "")
			// And a key set without the current key refuses the current signatures.
			expectReason(t, check([][]byte{previous}, signedCurrent), auth.ReasonInvalidSignature)
		})
	}
}

// TestHMACSeveralSignatures: Standard Webhooks and Stripe senders sign with every active key during a rotation
// and send all signatures in one header; any may match, in any position, and other versions are ignored.
func TestHMACSeveralSignatures(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"event":"order.created"}`)
	oldKey, newKey, otherKey := "whsec_"+strings.Repeat("A", 43)+"=", "whsec_"+strings.Repeat("B", 43)+"=", "whsec_"+strings.Repeat("C", 43)+"="
	standard := scheme(fulfillmentv1alpha1.HMACSchemeStandardWebhooks)
	stripe := scheme(fulfillmentv1alpha1.HMACSchemeStripe)
	sw := func(key string) string {
		return hmacSign(t, standard, key, "msg_1", now.Unix(), body).Get("Webhook-Signature")
	}
	st := func(key string) string {
		_, v1, _ := strings.Cut(hmacSign(t, stripe, key, "", now.Unix(), body).Get("Stripe-Signature"), ",")
		return v1
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	v1a := "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="
	cases := map[string]struct {
		spec   fulfillmentv1alpha1.HMACAuth
		keys   []string
		header http.Header
		reason string
	}{
		"standard: old key, both signatures": {standard, []string{oldKey}, http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sw(oldKey) + " " + sw(newKey)}}, ""},
		"standard: new key, both signatures": {standard, []string{newKey}, http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sw(oldKey) + " " + sw(newKey)}}, ""},
		"standard: v1a and others ignored":   {standard, []string{newKey}, http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {v1a + " v2,abc junk " + sw(newKey)}}, ""},
		"standard: double spaces":            {standard, []string{newKey}, http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sw(oldKey) + "  " + sw(newKey)}}, ""},
		"standard: neither key":              {standard, []string{otherKey}, http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sw(oldKey) + " " + sw(newKey)}}, auth.ReasonInvalidSignature},
		"standard: only v1a":                 {standard, []string{newKey}, http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {v1a}}, auth.ReasonMalformedSignature},
		"standard: 16 signatures":            {standard, []string{newKey}, http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {strings.Repeat(sw(oldKey)+" ", 15) + sw(newKey)}}, ""},
		"standard: 17 signatures":            {standard, []string{newKey}, http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {strings.Repeat(sw(oldKey)+" ", 16) + sw(newKey)}}, auth.ReasonMalformedSignature},
		"stripe: old key, both signatures":   {stripe, []string{oldKey}, http.Header{"Stripe-Signature": {"t=" + ts + "," + st(oldKey) + "," + st(newKey)}}, ""},
		"stripe: new key, both signatures":   {stripe, []string{newKey}, http.Header{"Stripe-Signature": {"t=" + ts + "," + st(oldKey) + "," + st(newKey)}}, ""},
		"stripe: signatures before t, v0":    {stripe, []string{newKey}, http.Header{"Stripe-Signature": {st(oldKey) + ",v0=00ff," + st(newKey) + ",t=" + ts}}, ""},
		"stripe: neither key":                {stripe, []string{otherKey}, http.Header{"Stripe-Signature": {"t=" + ts + "," + st(oldKey) + "," + st(newKey)}}, auth.ReasonInvalidSignature},
		"stripe: undecodable v1 and a good":  {stripe, []string{newKey}, http.Header{"Stripe-Signature": {"t=" + ts + ",v1=zz," + st(newKey)}}, ""},
		"stripe: 16 signatures":              {stripe, []string{newKey}, http.Header{"Stripe-Signature": {"t=" + ts + strings.Repeat(","+st(oldKey), 15) + "," + st(newKey)}}, ""},
		"stripe: 17 signatures":              {stripe, []string{newKey}, http.Header{"Stripe-Signature": {"t=" + ts + strings.Repeat(","+st(oldKey), 16) + "," + st(newKey)}}, auth.ReasonMalformedSignature},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			checker, err := auth.NewHMAC(&tc.spec, toKeys(tc.keys...), auth.WithHMACClock(fixedClock(now)))
			if err != nil {
				t.Fatal(err)
			}
			expectReason(t, checker.Check(&auth.Request{Header: tc.header, Body: body}), tc.reason)
		})
	}
}

func TestHMACRefusals(t *testing.T) {
	vectors := knownAnswers(t)
	// with returns the vector's request with header name set to value ("" deletes it); several values repeat it.
	with := func(name string, changes ...string) *auth.Request {
		r := vectors[name].request()
		for i := 0; i+1 < len(changes); i += 2 {
			r.Header.Del(changes[i])
			for _, value := range strings.Split(changes[i+1], "\x00") {
				if value != "" {
					r.Header.Add(changes[i], value)
				}
			}
		}
		return r
	}
	sig := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	stripeSig := "v1=7d904eb0d8668d689206011954fdb7bc76065907761e8eed35d51db2da9ed554"
	slackSig := "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	cases := map[string]struct {
		vector string
		r      *auth.Request
		reason string
	}{
		"standard: no headers":                   {"StandardWebhooks", &auth.Request{Header: http.Header{}}, auth.ReasonMissingSignature},
		"standard: no id":                        {"StandardWebhooks", with("StandardWebhooks", "Webhook-Id", ""), auth.ReasonMissingSignature},
		"standard: no timestamp":                 {"StandardWebhooks", with("StandardWebhooks", "Webhook-Timestamp", ""), auth.ReasonMissingTimestamp},
		"standard: timestamp with sign":          {"StandardWebhooks", with("StandardWebhooks", "Webhook-Timestamp", "+1614265330"), auth.ReasonMalformedTimestamp},
		"standard: timestamp with space":         {"StandardWebhooks", with("StandardWebhooks", "Webhook-Timestamp", "1614265330 "), auth.ReasonMalformedTimestamp},
		"standard: timestamp in ms":              {"StandardWebhooks", with("StandardWebhooks", "Webhook-Timestamp", "1614265330000"), auth.ReasonTimestampOutsideTolerance},
		"standard: timestamp 19 digits":          {"StandardWebhooks", with("StandardWebhooks", "Webhook-Timestamp", "9999999999999999999"), auth.ReasonMalformedTimestamp},
		"standard: timestamp leading zero":       {"StandardWebhooks", with("StandardWebhooks", "Webhook-Timestamp", "01614265330"), auth.ReasonInvalidSignature},
		"standard: repeated timestamp":           {"StandardWebhooks", with("StandardWebhooks", "Webhook-Timestamp", "1614265330\x001614265330"), auth.ReasonMalformedTimestamp},
		"standard: repeated signature":           {"StandardWebhooks", with("StandardWebhooks", "Webhook-Signature", sig+"\x00"+sig), auth.ReasonMalformedSignature},
		"standard: repeated id":                  {"StandardWebhooks", with("StandardWebhooks", "Webhook-Id", "a\x00b"), auth.ReasonMalformedSignature},
		"standard: id too long":                  {"StandardWebhooks", with("StandardWebhooks", "Webhook-Id", strings.Repeat("m", 257)), auth.ReasonMalformedSignature},
		"standard: header too long":              {"StandardWebhooks", with("StandardWebhooks", "Webhook-Signature", strings.Repeat(" ", 4096)+sig), auth.ReasonMalformedSignature},
		"standard: no version":                   {"StandardWebhooks", with("StandardWebhooks", "Webhook-Signature", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), auth.ReasonMalformedSignature},
		"standard: unpadded":                     {"StandardWebhooks", with("StandardWebhooks", "Webhook-Signature", strings.TrimSuffix(sig, "=")), auth.ReasonMalformedSignature},
		"standard: url-safe alphabet":            {"StandardWebhooks", with("StandardWebhooks", "Webhook-Signature", strings.NewReplacer("+", "-", "/", "_").Replace(sig)), auth.ReasonMalformedSignature},
		"standard: non-zero padding bits":        {"StandardWebhooks", with("StandardWebhooks", "Webhook-Signature", strings.Replace(sig, "1OE=", "1OF=", 1)), auth.ReasonMalformedSignature},
		"standard: signature of the empty body":  {"StandardWebhooks", &auth.Request{Header: with("StandardWebhooks").Header}, auth.ReasonInvalidSignature},
		"standard: webhook and svix mixed":       {"StandardWebhooks", with("StandardWebhooks", "Webhook-Id", "", "Svix-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek"), auth.ReasonMissingSignature},
		"standard: svix when webhook-* is empty": {"StandardWebhooks", with("StandardWebhooks svix headers", "Webhook-Signature", "", "Webhook-Id", "x"), ""},
		"github: missing":                        {"GitHub", &auth.Request{Header: http.Header{"X-Hub-Signature": {"sha1=0000"}}}, auth.ReasonMissingSignature},
		"github: no prefix":                      {"GitHub", with("GitHub", "X-Hub-Signature-256", "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"), auth.ReasonMalformedSignature},
		"github: upper-case prefix":              {"GitHub", with("GitHub", "X-Hub-Signature-256", "SHA256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"), auth.ReasonMalformedSignature},
		"github: upper-case hex":                 {"GitHub", with("GitHub", "X-Hub-Signature-256", "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17"), ""},
		"github: truncated":                      {"GitHub", with("GitHub", "X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e"), auth.ReasonMalformedSignature},
		"github: trailing space":                 {"GitHub", with("GitHub", "X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17 "), auth.ReasonMalformedSignature},
		"stripe: missing":                        {"Stripe", &auth.Request{Header: http.Header{}}, auth.ReasonMissingSignature},
		"stripe: no timestamp":                   {"Stripe", with("Stripe", "Stripe-Signature", stripeSig), auth.ReasonMissingTimestamp},
		"stripe: two timestamps":                 {"Stripe", with("Stripe", "Stripe-Signature", "t=1700000000,t=1700000000,"+stripeSig), auth.ReasonMalformedTimestamp},
		"stripe: empty timestamp":                {"Stripe", with("Stripe", "Stripe-Signature", "t=,"+stripeSig), auth.ReasonMalformedTimestamp},
		"stripe: no v1":                          {"Stripe", with("Stripe", "Stripe-Signature", "t=1700000000,v0=7d904eb0d8668d689206011954fdb7bc76065907761e8eed35d51db2da9ed554"), auth.ReasonMalformedSignature},
		"stripe: entry without =":                {"Stripe", with("Stripe", "Stripe-Signature", "t=1700000000,"+stripeSig+",x"), auth.ReasonMalformedSignature},
		"stripe: spaces":                         {"Stripe", with("Stripe", "Stripe-Signature", "t=1700000000, "+stripeSig), auth.ReasonMalformedSignature},
		"stripe: too long":                       {"Stripe", with("Stripe", "Stripe-Signature", "t=1700000000,"+stripeSig+",x="+strings.Repeat("0", 4096)), auth.ReasonMalformedSignature},
		"slack: missing signature":               {"Slack", with("Slack", "X-Slack-Signature", ""), auth.ReasonMissingSignature},
		"slack: missing timestamp":               {"Slack", with("Slack", "X-Slack-Request-Timestamp", ""), auth.ReasonMissingTimestamp},
		"slack: malformed timestamp":             {"Slack", with("Slack", "X-Slack-Request-Timestamp", "-1531420618"), auth.ReasonMalformedTimestamp},
		"slack: wrong version":                   {"Slack", with("Slack", "X-Slack-Signature", strings.Replace(slackSig, "v0=", "v1=", 1)), auth.ReasonMalformedSignature},
		"slack: two signatures":                  {"Slack", with("Slack", "X-Slack-Signature", slackSig+","+slackSig), auth.ReasonMalformedSignature},
		"shopify: missing":                       {"Shopify", &auth.Request{Header: http.Header{}}, auth.ReasonMissingSignature},
		"shopify: hex":                           {"Shopify", with("Shopify", "X-Shopify-Hmac-Sha256", "dc9c573bc2ee979da20f9faa6f5147b685caf2f0f03db5e98bc781f9213939"), auth.ReasonMalformedSignature},
		"shopify: line break inside":             {"Shopify", with("Shopify", "X-Shopify-Hmac-Sha256", "3JxXO8Lul52iD5+qb1FHtoXK8vDw\nPbXpi8eB+yETk5I="), auth.ReasonMalformedSignature},
		"generic: wrong prefix":                  {"Generic SHA1 Hex (RFC 2202)", with("Generic SHA1 Hex (RFC 2202)", "X-Signature", "sha256=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"), auth.ReasonMalformedSignature},
		"generic: sha256 length for sha1":        {"Generic SHA1 Hex (RFC 2202)", with("Generic SHA1 Hex (RFC 2202)", "X-Signature", "sha1=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"), auth.ReasonMalformedSignature},
		"generic: upper-case hex":                {"Generic SHA512 Hex (RFC 4231)", with("Generic SHA512 Hex (RFC 4231)", "X-Signature", strings.ToUpper("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737")), ""},
		"generic: repeated":                      {"Generic SHA1 Hex (RFC 2202)", with("Generic SHA1 Hex (RFC 2202)", "X-Signature", "a\x00b"), auth.ReasonMalformedSignature},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			expectReason(t, vectors[tc.vector].checker(t).Check(tc.r), tc.reason)
		})
	}
}

// TestHMACFailureRevealsNothing: a refusal names a reason, never the key, the expected MAC or the received
// signature, and constructor errors never hold a key.
func TestHMACFailureRevealsNothing(t *testing.T) {
	for name, v := range knownAnswers(t) {
		t.Run(name, func(t *testing.T) {
			r := v.request()
			r.Body = append(bytes.Clone(v.body), '!')
			failure := v.checker(t).Check(r)
			if failure == nil {
				t.Fatal("accepted")
			}
			expectReason(t, failure, auth.ReasonInvalidSignature)
			text := fmt.Sprintf("%v %+v %#v", failure, failure, failure)
			secrets := []string{v.key}
			for _, h := range v.headers {
				secrets = append(secrets, h.value[max(h.hexFrom, 0):])
			}
			for _, secret := range secrets {
				if len(secret) > 8 && strings.Contains(text, secret) {
					t.Errorf("failure %q holds a secret", text)
				}
			}
			if !regexp.MustCompile(`^hmac authentication failed: [a-z_]+$`).MatchString(failure.Error()) {
				t.Errorf("unexpected failure text %q", failure.Error())
			}
		})
	}
	badKey := "whsec_not*base64*but*secret"
	_, err := auth.NewHMAC(&fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeStandardWebhooks},
		[][]byte{[]byte(badKey)})
	if err == nil || strings.Contains(err.Error(), "not*base64*but*secret") {
		t.Errorf("got %v", err)
	}
}

func TestNewHMAC(t *testing.T) {
	key := [][]byte{[]byte("k3y")}
	tolerance := func(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
	cases := map[string]struct {
		spec  *fulfillmentv1alpha1.HMACAuth
		keys  [][]byte
		opts  []auth.HMACOption
		want  any
		error string
	}{
		"StandardWebhooks":       {&fulfillmentv1alpha1.HMACAuth{Scheme: "StandardWebhooks"}, [][]byte{[]byte("whsec_azN5")}, nil, &auth.StandardWebhooks{}, ""},
		"GitHub":                 {&fulfillmentv1alpha1.HMACAuth{Scheme: "GitHub"}, key, nil, &auth.GitHub{}, ""},
		"Stripe":                 {&fulfillmentv1alpha1.HMACAuth{Scheme: "Stripe", Tolerance: tolerance(time.Hour)}, key, nil, &auth.Stripe{}, ""},
		"Slack":                  {&fulfillmentv1alpha1.HMACAuth{Scheme: "Slack"}, key, nil, &auth.Slack{}, ""},
		"Shopify":                {&fulfillmentv1alpha1.HMACAuth{Scheme: "Shopify"}, key, nil, &auth.Shopify{}, ""},
		"Generic":                {&fulfillmentv1alpha1.HMACAuth{Scheme: "Generic", Generic: &fulfillmentv1alpha1.GenericHMAC{Header: "X-Sig"}}, key, nil, &auth.GenericHMAC{}, ""},
		"no spec":                {nil, key, nil, nil, "no spec"},
		"unknown scheme":         {&fulfillmentv1alpha1.HMACAuth{Scheme: "Twilio"}, key, nil, nil, `unknown scheme "Twilio"`},
		"generic missing":        {&fulfillmentv1alpha1.HMACAuth{Scheme: "Generic"}, key, nil, nil, "required with scheme Generic"},
		"generic on GitHub":      {&fulfillmentv1alpha1.HMACAuth{Scheme: "GitHub", Generic: &fulfillmentv1alpha1.GenericHMAC{Header: "X-Sig"}}, key, nil, nil, "only allowed with scheme Generic"},
		"generic bad header":     {&fulfillmentv1alpha1.HMACAuth{Scheme: "Generic", Generic: &fulfillmentv1alpha1.GenericHMAC{Header: "X Sig"}}, key, nil, nil, "not an HTTP header name"},
		"generic empty header":   {&fulfillmentv1alpha1.HMACAuth{Scheme: "Generic", Generic: &fulfillmentv1alpha1.GenericHMAC{}}, key, nil, nil, "not an HTTP header name"},
		"generic bad algorithm":  {&fulfillmentv1alpha1.HMACAuth{Scheme: "Generic", Generic: &fulfillmentv1alpha1.GenericHMAC{Header: "X-Sig", Algorithm: "MD5"}}, key, nil, nil, `"MD5" is not one of SHA256, SHA512, SHA1`},
		"generic bad encoding":   {&fulfillmentv1alpha1.HMACAuth{Scheme: "Generic", Generic: &fulfillmentv1alpha1.GenericHMAC{Header: "X-Sig", Encoding: "Base32"}}, key, nil, nil, `"Base32" is not one of Hex, Base64`},
		"generic prefix control": {&fulfillmentv1alpha1.HMACAuth{Scheme: "Generic", Generic: &fulfillmentv1alpha1.GenericHMAC{Header: "X-Sig", Prefix: "a\nb"}}, key, nil, nil, "hmac.generic.prefix"},
		"generic prefix long":    {&fulfillmentv1alpha1.HMACAuth{Scheme: "Generic", Generic: &fulfillmentv1alpha1.GenericHMAC{Header: "X-Sig", Prefix: strings.Repeat("p", 65)}}, key, nil, nil, "hmac.generic.prefix"},
		"no key":                 {&fulfillmentv1alpha1.HMACAuth{Scheme: "GitHub"}, nil, nil, nil, "no key"},
		"empty current key":      {&fulfillmentv1alpha1.HMACAuth{Scheme: "GitHub"}, [][]byte{[]byte(" \n"), []byte("previous")}, nil, nil, "the current key is empty"},
		"standard key not b64":   {&fulfillmentv1alpha1.HMACAuth{Scheme: "StandardWebhooks"}, [][]byte{[]byte("whsec_azN5"), []byte("whsec_!!")}, nil, nil, "key 1: a Standard Webhooks key is whsec_ followed by base64"},
		"standard key empty b64": {&fulfillmentv1alpha1.HMACAuth{Scheme: "StandardWebhooks"}, [][]byte{[]byte("whsec_")}, nil, nil, "key 0: empty after decoding"},
		"zero tolerance":         {&fulfillmentv1alpha1.HMACAuth{Scheme: "Slack", Tolerance: tolerance(0)}, key, nil, nil, "tolerance must be positive"},
		"nil clock":              {&fulfillmentv1alpha1.HMACAuth{Scheme: "Slack"}, key, []auth.HMACOption{auth.WithHMACClock(nil)}, nil, "clock is nil"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			checker, err := auth.NewHMAC(tc.spec, tc.keys, tc.opts...)
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("got error %v, want %q", err, tc.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%T", checker) != fmt.Sprintf("%T", tc.want) {
				t.Fatalf("got %T, want %T", checker, tc.want)
			}
		})
	}
}

// TestHMACConcurrent: one checker serves every request of an endpoint, and reuses keyed MAC states between them;
// valid and invalid requests interleaved on many goroutines must each get their own answer (run with -race).
func TestHMACConcurrent(t *testing.T) {
	for name, v := range knownAnswers(t) {
		t.Run(name, func(t *testing.T) {
			other, err := hmackey.Generate(v.spec.Scheme)
			if err != nil {
				t.Fatal(err)
			}
			checker := v.checker(t, string(other), v.key) // the signature is made with the previous key
			done := make(chan error)
			for g := range 8 {
				go func() {
					var err error
					for i := range 200 {
						r := v.request()
						valid := (g+i)%2 == 0
						if !valid {
							r.Body = append(bytes.Clone(v.body), byte(i))
						}
						if failure := checker.Check(r); (failure == nil) != valid && err == nil {
							err = fmt.Errorf("goroutine %d request %d: valid %v, refused %v", g, i, valid, failure != nil)
						}
					}
					done <- err
				}()
			}
			for range 8 {
				if err := <-done; err != nil {
					t.Error(err)
				}
			}
		})
	}
}
