package auth

import (
	"crypto/sha256"
	"strings"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// Standard Webhooks header names, and the Svix names of the same headers.
const (
	standardWebhooksIDHeader        = "Webhook-Id"
	standardWebhooksTimestampHeader = "Webhook-Timestamp"
	standardWebhooksSignatureHeader = "Webhook-Signature"
	svixIDHeader                    = "Svix-Id"
	svixTimestampHeader             = "Svix-Timestamp"
	svixSignatureHeader             = "Svix-Signature"
)

// StandardWebhooks checks a Standard Webhooks signature (https://www.standardwebhooks.com), which Svix sends too:
//
//	webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek
//	webhook-timestamp: 1614265330
//	webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,<signature with another key>
//
// A v1 signature is the base64 HMAC-SHA256 of `id.timestamp.body`. The header holds space-separated signatures,
// one per key the sender signs with; versions other than v1 (v1a is Ed25519) are ignored. The svix-id,
// svix-timestamp and svix-signature headers are read when webhook-signature is absent; the two sets are never
// mixed.
type StandardWebhooks struct {
	keys *hmacKeySet
	opts hmacOptions
}

// NewStandardWebhooks returns a StandardWebhooks checker. A key is shared in the form `whsec_<base64>` (as
// hmackey.Generate makes it, and as Svix shows it); the HMAC key is the base64-decoded part after the prefix. A
// key without the prefix is decoded as base64 too.
func NewStandardWebhooks(keys [][]byte, opts ...HMACOption) (*StandardWebhooks, error) {
	o, err := newHMACOptions(opts)
	if err != nil {
		return nil, err
	}
	set, err := newHMACKeySet(fulfillmentv1alpha1.HMACSchemeStandardWebhooks, keys, sha256.New)
	if err != nil {
		return nil, err
	}
	return &StandardWebhooks{keys: set, opts: o}, nil
}

// Check implements Checker.
func (s *StandardWebhooks) Check(r *Request) *Failure {
	idHeader, timestampHeader, signatureHeader := standardWebhooksIDHeader, standardWebhooksTimestampHeader,
		standardWebhooksSignatureHeader
	if len(r.Header.Values(signatureHeader)) == 0 {
		idHeader, timestampHeader, signatureHeader = svixIDHeader, svixTimestampHeader, svixSignatureHeader
	}
	signature, failure := hmacRequiredHeader(r.Header, signatureHeader, hmacMaxHeaderBytes, ReasonMissingSignature, ReasonMalformedSignature)
	if failure != nil {
		return failure
	}
	// The id is signed with the body; without it there is nothing to verify.
	id, repeated := hmacHeader(r.Header, idHeader)
	if repeated || len(id) > hmacMaxMessageIDBytes {
		return hmacFailure(ReasonMalformedSignature)
	}
	if id == "" {
		return hmacFailure(ReasonMissingSignature)
	}
	timestamp, unix, failure := hmacTimestampHeader(r.Header, timestampHeader)
	if failure != nil {
		return failure
	}

	signatures := s.keys.newSignatures()
	entries := 0
	for rest := signature; rest != ""; {
		var entry string
		entry, rest, _ = strings.Cut(rest, " ")
		if entry == "" {
			continue // several spaces
		}
		if entries++; entries > hmacMaxSignatures {
			return hmacFailure(ReasonMalformedSignature)
		}
		version, value, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue // another version (v1a is asymmetric), as the reference libraries do
		}
		// An undecodable v1 value cannot match; the others may.
		signatures.addBase64(value)
	}
	if signatures.n == 0 {
		return hmacFailure(ReasonMalformedSignature)
	}
	if !s.opts.fresh(unix) {
		return hmacFailure(ReasonTimestampOutsideTolerance)
	}
	prefix := make([]byte, 0, len(id)+len(timestamp)+2)
	prefix = append(append(append(append(prefix, id...), '.'), timestamp...), '.')
	if !s.keys.verify(&signatures, prefix, r.Body) {
		return hmacFailure(ReasonInvalidSignature)
	}
	return nil
}
