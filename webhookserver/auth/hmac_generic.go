package auth

import (
	"crypto/sha1" // only for legacy senders the user opts into; HMAC-SHA1 is not broken as SHA-1 collisions are
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"strings"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// Algorithms and encodings of spec.auth.hmac.generic; the empty value is the default, as the CRD sets it.
const (
	hmacAlgorithmSHA256 fulfillmentv1alpha1.HMACAlgorithm     = "SHA256"
	hmacAlgorithmSHA512 fulfillmentv1alpha1.HMACAlgorithm     = "SHA512"
	hmacAlgorithmSHA1   fulfillmentv1alpha1.HMACAlgorithm     = "SHA1"
	hmacEncodingHex     fulfillmentv1alpha1.SignatureEncoding = "Hex"
	hmacEncodingBase64  fulfillmentv1alpha1.SignatureEncoding = "Base64"
	// hmacMaxPrefixBytes is the CRD's limit on generic.prefix.
	hmacMaxPrefixBytes = 64
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

// NewGenericHMAC validates the settings and returns a GenericHMAC checker. Keys are used as-is. Options are
// accepted for a uniform constructor and have no effect.
func NewGenericHMAC(spec *fulfillmentv1alpha1.GenericHMAC, keys [][]byte, opts ...HMACOption) (*GenericHMAC, error) {
	if _, err := newHMACOptions(opts); err != nil {
		return nil, err
	}
	if spec == nil {
		return nil, errors.New("hmac.generic: required")
	}
	g := &GenericHMAC{header: spec.Header, prefix: spec.Prefix}
	var errs []error
	var newHash func() hash.Hash
	if !hmacIsHeaderName(spec.Header) {
		errs = append(errs, fmt.Errorf("hmac.generic.header: %q is not an HTTP header name", spec.Header))
	}
	switch spec.Algorithm {
	case hmacAlgorithmSHA256, "":
		newHash = sha256.New
	case hmacAlgorithmSHA512:
		newHash = sha512.New
	case hmacAlgorithmSHA1:
		newHash = sha1.New
	default:
		errs = append(errs, fmt.Errorf("hmac.generic.algorithm: %q is not one of SHA256, SHA512, SHA1", spec.Algorithm))
	}
	switch spec.Encoding {
	case hmacEncodingHex, "":
	case hmacEncodingBase64:
		g.base64 = true
	default:
		errs = append(errs, fmt.Errorf("hmac.generic.encoding: %q is not one of Hex, Base64", spec.Encoding))
	}
	if len(spec.Prefix) > hmacMaxPrefixBytes || !hmacIsPrintableASCII(spec.Prefix) {
		errs = append(errs, fmt.Errorf("hmac.generic.prefix: at most %d printable ASCII characters", hmacMaxPrefixBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	set, err := newHMACKeySet(keys, newHash, nil)
	if err != nil {
		return nil, err
	}
	g.keys = set
	return g, nil
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

// hmacIsHeaderName reports whether s matches the CRD's pattern for a header name (an RFC 9110 token without `).
func hmacIsHeaderName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !hmacIsTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func hmacIsTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_|~", c) >= 0
}

// hmacIsPrintableASCII reports whether s has no control and no non-ASCII bytes: a prefix is compared with a
// header value, which holds neither.
func hmacIsPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
