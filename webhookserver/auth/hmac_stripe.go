package auth

import (
	"crypto/sha256"
	"strings"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

const stripeSignatureHeader = "Stripe-Signature"

// Stripe checks Stripe's webhook signature, the hex HMAC-SHA256 of `timestamp.body`:
//
//	Stripe-Signature: t=1700000000,v1=7d904eb0d8668d689206011954fdb7bc76065907761e8eed35d51db2da9ed554
//
// While a secret is rolled Stripe sends one v1 per secret; any may match. Other entries (v0, which Stripe sends
// in test mode) are ignored. The timestamp must be inside the replay window; unlike Stripe's own library, a
// timestamp from the future is refused too.
type Stripe struct {
	keys *hmacKeySet
	opts hmacOptions
}

// NewStripe returns a Stripe checker. A key is the endpoint's signing secret as Stripe shows it (`whsec_...`),
// used as-is: unlike Standard Webhooks, Stripe does not decode the part after the prefix.
func NewStripe(keys [][]byte, opts ...HMACOption) (*Stripe, error) {
	o, err := newHMACOptions(opts)
	if err != nil {
		return nil, err
	}
	set, err := newHMACKeySet(fulfillmentv1alpha1.HMACSchemeStripe, keys, sha256.New)
	if err != nil {
		return nil, err
	}
	return &Stripe{keys: set, opts: o}, nil
}

// Check implements Checker.
func (s *Stripe) Check(r *Request) *Failure {
	header, failure := hmacRequiredHeader(r.Header, stripeSignatureHeader, hmacMaxHeaderBytes, ReasonMissingSignature, ReasonMalformedSignature)
	if failure != nil {
		return failure
	}

	signatures := s.keys.newSignatures()
	var timestamp string
	timestamps, v1s := 0, 0
	for rest := header; rest != ""; {
		var entry string
		entry, rest, _ = strings.Cut(rest, ",")
		key, value, ok := strings.Cut(entry, "=")
		if !ok {
			return hmacFailure(ReasonMalformedSignature) // as Stripe's library: every entry is key=value
		}
		switch key {
		case "t":
			timestamp = value
			timestamps++
		case "v1":
			if v1s++; v1s > hmacMaxSignatures {
				return hmacFailure(ReasonMalformedSignature)
			}
			// An undecodable v1 cannot match; the others may.
			signatures.addHex(value)
		}
	}
	switch {
	case timestamps == 0:
		return hmacFailure(ReasonMissingTimestamp)
	case timestamps > 1:
		return hmacFailure(ReasonMalformedTimestamp)
	}
	unix, ok := hmacParseTimestamp(timestamp)
	if !ok {
		return hmacFailure(ReasonMalformedTimestamp)
	}
	if signatures.n == 0 {
		return hmacFailure(ReasonMalformedSignature)
	}
	if !s.opts.fresh(unix) {
		return hmacFailure(ReasonTimestampOutsideTolerance)
	}
	prefix := make([]byte, 0, len(timestamp)+1)
	prefix = append(append(prefix, timestamp...), '.')
	if !s.keys.verify(&signatures, prefix, r.Body) {
		return hmacFailure(ReasonInvalidSignature)
	}
	return nil
}
