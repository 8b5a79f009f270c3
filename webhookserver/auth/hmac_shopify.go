package auth

import (
	"crypto/sha256"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

const shopifySignatureHeader = "X-Shopify-Hmac-Sha256"

// Shopify checks Shopify's webhook signature, the base64 HMAC-SHA256 of the raw body:
//
//	X-Shopify-Hmac-Sha256: 3JxXO8Lul52iD5+qb1FHtoXK8vDwPbXpi8eB+yETk5I=
//
// Shopify signs no timestamp, so there is no replay window: pair it with idempotency on X-Shopify-Webhook-Id.
type Shopify struct {
	keys *hmacKeySet
}

// NewShopify returns a Shopify checker. A key is the app's client secret (or the store's webhook signing key),
// used as-is. Options are accepted for a uniform constructor and have no effect.
func NewShopify(keys [][]byte, opts ...HMACOption) (*Shopify, error) {
	if _, err := newHMACOptions(opts); err != nil {
		return nil, err
	}
	set, err := newHMACKeySet(fulfillmentv1alpha1.HMACSchemeShopify, keys, sha256.New)
	if err != nil {
		return nil, err
	}
	return &Shopify{keys: set}, nil
}

// Check implements Checker.
func (s *Shopify) Check(r *Request) *Failure {
	header, failure := hmacRequiredHeader(r.Header, shopifySignatureHeader, 0, ReasonMissingSignature, ReasonMalformedSignature)
	if failure != nil {
		return failure
	}
	signatures := s.keys.newSignatures()
	if !signatures.addBase64(header) {
		return hmacFailure(ReasonMalformedSignature)
	}
	if !s.keys.verify(&signatures, nil, r.Body) {
		return hmacFailure(ReasonInvalidSignature)
	}
	return nil
}
