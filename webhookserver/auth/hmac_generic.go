package auth

import (
	"strings"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
)

// GenericHMAC checks an HMAC of the raw body in a header of the user's choice, for senders that sign like GitHub
// or Shopify under other names:
//
//	X-Signature: sha256=<hex>      (header X-Signature, algorithm SHA256, encoding Hex, prefix "sha256=")
//
// Hex is read in either case; Base64 is standard base64 with padding. There is no timestamp, so no replay window.
type GenericHMAC struct {
	header string
	prefix string
	base64 bool
	keys   *hmacKeySet
}

// NewGenericHMAC validates the settings (hmackey.ParseGeneric) and returns a GenericHMAC checker. Keys are used
// as-is. Options are accepted for a uniform constructor and have no effect.
func NewGenericHMAC(spec *fulfillmentv1alpha1.GenericHMAC, keys [][]byte, opts ...HMACOption) (*GenericHMAC, error) {
	if _, err := newHMACOptions(opts); err != nil {
		return nil, err
	}
	settings, err := hmackey.ParseGeneric(spec)
	if err != nil {
		return nil, err
	}
	set, err := newHMACKeySet(fulfillmentv1alpha1.HMACSchemeGeneric, keys, settings.NewHash)
	if err != nil {
		return nil, err
	}
	return &GenericHMAC{header: settings.Header, prefix: settings.Prefix, base64: settings.Base64, keys: set}, nil
}

// Check implements Checker.
func (g *GenericHMAC) Check(r *Request) *Failure {
	header, failure := hmacRequiredHeader(r.Header, g.header, 0, ReasonMissingSignature, ReasonMalformedSignature)
	if failure != nil {
		return failure
	}
	value, ok := strings.CutPrefix(header, g.prefix)
	signatures := g.keys.newSignatures()
	if ok {
		if g.base64 {
			ok = signatures.addBase64(value)
		} else {
			ok = signatures.addHex(value)
		}
	}
	if !ok {
		return hmacFailure(ReasonMalformedSignature)
	}
	if !g.keys.verify(&signatures, nil, r.Body) {
		return hmacFailure(ReasonInvalidSignature)
	}
	return nil
}
