package auth_test

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stripe/stripe-go/v82/webhook"
	svix "github.com/svix/svix-webhooks/go"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
)

// The providers' own libraries sign; the checkers, on the real clock, must accept. Keys come from
// hmackey.Generate, so the generated format is checked against the libraries as well.

func interopKeys(t *testing.T, s fulfillmentv1alpha1.HMACScheme) (current, previous string) {
	t.Helper()
	a, err := hmackey.Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := hmackey.Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(a), string(b)
}

func interopCheck(t *testing.T, s fulfillmentv1alpha1.HMACScheme, keys []string, header http.Header, body []byte, reason string) {
	t.Helper()
	checker, err := auth.NewHMAC(&fulfillmentv1alpha1.HMACAuth{Scheme: s}, toKeys(keys...))
	if err != nil {
		t.Fatal(err)
	}
	expectReason(t, checker.Check(&auth.Request{Header: header, Body: body}), reason)
}

func TestHMACInteropStandardWebhooks(t *testing.T) {
	s := fulfillmentv1alpha1.HMACSchemeStandardWebhooks
	current, previous := interopKeys(t, s)
	body := []byte(`{"type":"order.created","data":{"id":42}}`)
	now := time.Now()
	sign := func(key string) string {
		wh, err := standardwebhooks.NewWebhook(key)
		if err != nil {
			t.Fatal(err)
		}
		signature, err := wh.Sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now, body)
		if err != nil {
			t.Fatal(err)
		}
		return signature
	}
	header := func(signature string) http.Header {
		return http.Header{
			standardwebhooks.HeaderWebhookID:        {"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"},
			standardwebhooks.HeaderWebhookTimestamp: {strconv.FormatInt(now.Unix(), 10)},
			standardwebhooks.HeaderWebhookSignature: {signature},
		}
	}
	// http.Header literals above hold the library's lower-case names; a server canonicalizes them.
	canonical := func(h http.Header) http.Header {
		out := http.Header{}
		for name, values := range h {
			for _, v := range values {
				out.Add(name, v)
			}
		}
		return out
	}
	interopCheck(t, s, []string{current}, canonical(header(sign(current))), body, "")
	interopCheck(t, s, []string{current, previous}, canonical(header(sign(previous))), body, "")
	interopCheck(t, s, []string{current}, canonical(header(sign(previous))), body, auth.ReasonInvalidSignature)
	// A sender in the middle of a rotation signs with both keys.
	both := canonical(header(sign(previous) + " " + sign(current)))
	interopCheck(t, s, []string{current}, both, body, "")
	interopCheck(t, s, []string{previous}, both, body, "")
	// The library's documented example key, without the whsec_ prefix.
	interopCheck(t, s, []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		canonical(header(sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))), body, "")

	// And the other way round: the library verifies what our generated key signs, so the format is shared.
	wh, err := standardwebhooks.NewWebhook(current)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, hmacSign(t, fulfillmentv1alpha1.HMACAuth{Scheme: s}, current, "msg_1", now.Unix(), body)); err != nil {
		t.Errorf("the library refused: %v", err)
	}
}

func TestHMACInteropSvix(t *testing.T) {
	s := fulfillmentv1alpha1.HMACSchemeStandardWebhooks
	current, previous := interopKeys(t, s)
	body := []byte(`{"type":"invoice.paid"}`)
	now := time.Now()
	sign := func(key string) string {
		wh, err := svix.NewWebhook(key)
		if err != nil {
			t.Fatal(err)
		}
		signature, err := wh.Sign("msg_svix_1", now, body)
		if err != nil {
			t.Fatal(err)
		}
		return signature
	}
	header := func(signature string) http.Header {
		h := http.Header{}
		h.Set("svix-id", "msg_svix_1")
		h.Set("svix-timestamp", strconv.FormatInt(now.Unix(), 10))
		h.Set("svix-signature", signature)
		return h
	}
	interopCheck(t, s, []string{current}, header(sign(current)), body, "")
	interopCheck(t, s, []string{current, previous}, header(sign(previous)), body, "")
	interopCheck(t, s, []string{current}, header(sign(previous)), body, auth.ReasonInvalidSignature)
	both := header(sign(previous) + " " + sign(current))
	interopCheck(t, s, []string{current}, both, body, "")
	interopCheck(t, s, []string{previous}, both, body, "")
	interopCheck(t, s, []string{current}, header(sign(current)), []byte(`{"type":"invoice.paid "}`), auth.ReasonInvalidSignature)

	wh, err := svix.NewWebhook(current)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, hmacSign(t, fulfillmentv1alpha1.HMACAuth{Scheme: s}, current, "msg_1", now.Unix(), body)); err != nil {
		t.Errorf("svix refused: %v", err)
	}
}

func TestHMACInteropStripe(t *testing.T) {
	s := fulfillmentv1alpha1.HMACSchemeStripe
	body := []byte(`{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}`)
	now := time.Now()
	// A Stripe-made secret (whsec_ + base62) and generated ones: both are used as-is.
	stripeSecret := "whsec_3kM1xZ9kQnM5m1bRvWcT0aYpLq8sUe2D"
	current, previous := interopKeys(t, s)
	header := func(value string) http.Header { return http.Header{"Stripe-Signature": {value}} }
	signed := func(secret string) *webhook.SignedPayload {
		return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: now})
	}
	interopCheck(t, s, []string{stripeSecret}, header(signed(stripeSecret).Header), body, "")
	interopCheck(t, s, []string{current}, header(signed(current).Header), body, "")
	interopCheck(t, s, []string{current, previous}, header(signed(previous).Header), body, "")
	interopCheck(t, s, []string{current}, header(signed(previous).Header), body, auth.ReasonInvalidSignature)
	// While a secret is rolled, Stripe sends one v1 per secret in the same header.
	rolled := "t=" + strconv.FormatInt(now.Unix(), 10) +
		",v1=" + hex.EncodeToString(webhook.ComputeSignature(now, body, previous)) +
		",v1=" + hex.EncodeToString(webhook.ComputeSignature(now, body, current))
	interopCheck(t, s, []string{current}, header(rolled), body, "")
	interopCheck(t, s, []string{previous}, header(rolled), body, "")
	interopCheck(t, s, []string{stripeSecret}, header(rolled), body, auth.ReasonInvalidSignature)
	// A header made with the old signing scheme only (v0) has no v1 to check.
	v0 := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: current, Timestamp: now, Scheme: "v0"})
	interopCheck(t, s, []string{current}, header(v0.Header), body, auth.ReasonMalformedSignature)
	// Stripe's library does not refuse future timestamps; this check does.
	future := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: current, Timestamp: now.Add(10 * time.Minute)})
	if err := webhook.ValidatePayload(body, future.Header, current); err != nil {
		t.Errorf("stripe-go refused a future timestamp (%v); the comment above is stale", err)
	}
	interopCheck(t, s, []string{current}, header(future.Header), body, auth.ReasonTimestampOutsideTolerance)
	old := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: current, Timestamp: now.Add(-6 * time.Minute)})
	interopCheck(t, s, []string{current}, header(old.Header), body, auth.ReasonTimestampOutsideTolerance)

	// The other way round: stripe-go validates what this side's test signer makes.
	h := hmacSign(t, fulfillmentv1alpha1.HMACAuth{Scheme: s}, current, "", now.Unix(), body)
	if err := webhook.ValidatePayload(body, h.Get("Stripe-Signature"), current); err != nil {
		t.Errorf("stripe-go refused: %v", err)
	}
}
