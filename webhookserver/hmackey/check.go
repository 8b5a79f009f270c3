package hmackey

import (
	"bytes"
	"crypto/sha1" // only for legacy senders the user opts into; HMAC-SHA1 is not broken as SHA-1 collisions are
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// standardWebhooksKeyPrefix starts a shared Standard Webhooks key; the rest is the base64 key.
const standardWebhooksKeyPrefix = "whsec_"

// Algorithms and encodings of spec.auth.hmac.generic; the empty value is the default, as the CRD sets it.
const (
	algorithmSHA256 fulfillmentv1alpha1.HMACAlgorithm     = "SHA256"
	algorithmSHA512 fulfillmentv1alpha1.HMACAlgorithm     = "SHA512"
	algorithmSHA1   fulfillmentv1alpha1.HMACAlgorithm     = "SHA1"
	encodingHex     fulfillmentv1alpha1.SignatureEncoding = "Hex"
	encodingBase64  fulfillmentv1alpha1.SignatureEncoding = "Base64"
	// maxPrefixBytes is the CRD's limit on generic.prefix.
	maxPrefixBytes = 64
)

// Check refuses exactly what the server's checker (webhookserver/auth.NewHMAC) refuses: a spec it cannot
// verify with (CheckSpec) or keys it cannot read (Decode). The operator checks a Secret's keys with it before
// the server is given them. Errors say what is wrong with the format and never hold a key.
func Check(spec *fulfillmentv1alpha1.HMACAuth, keys [][]byte) error {
	if err := CheckSpec(spec); err != nil {
		return err
	}
	_, err := Decode(spec.Scheme, keys)
	return err
}

// CheckSpec refuses a spec.auth.hmac the server cannot verify signatures with: none, an unknown scheme, generic
// settings with another scheme or none with Generic, a tolerance that is not positive, or generic settings
// ParseGeneric refuses. The CRD refuses most of these already; the server also reads files written by hand.
func CheckSpec(spec *fulfillmentv1alpha1.HMACAuth) error {
	if spec == nil {
		return errors.New("hmac: no spec")
	}
	if spec.Generic != nil && spec.Scheme != fulfillmentv1alpha1.HMACSchemeGeneric {
		return fmt.Errorf("hmac.generic: only allowed with scheme Generic, not %s", spec.Scheme)
	}
	switch spec.Scheme {
	case fulfillmentv1alpha1.HMACSchemeStandardWebhooks, fulfillmentv1alpha1.HMACSchemeGitHub, fulfillmentv1alpha1.HMACSchemeStripe,
		fulfillmentv1alpha1.HMACSchemeSlack, fulfillmentv1alpha1.HMACSchemeShopify:
	case fulfillmentv1alpha1.HMACSchemeGeneric:
		if spec.Generic == nil {
			return errors.New("hmac.generic: required with scheme Generic")
		}
	default:
		return fmt.Errorf("hmac.scheme: unknown scheme %q", spec.Scheme)
	}
	if spec.Tolerance != nil {
		if err := CheckTolerance(spec.Tolerance.Duration); err != nil {
			return err
		}
	}
	if spec.Generic != nil {
		if _, err := ParseGeneric(spec.Generic); err != nil {
			return err
		}
	}
	return nil
}

// CheckTolerance refuses a replay window that is not positive: it would refuse every signed timestamp.
func CheckTolerance(tolerance time.Duration) error {
	if tolerance <= 0 {
		return fmt.Errorf("hmac: tolerance must be positive, got %s", tolerance)
	}
	return nil
}

// Decode turns keys as stored in a Secret (see Keys) into HMAC keys for scheme: trimmed (values of a Secret
// often end in a newline), a Standard Webhooks key decoded from its shared form, copied so that the caller may
// reuse its slices. The current key (the first) must not be empty; an empty later key is a cleared previous
// key and is skipped.
func Decode(scheme fulfillmentv1alpha1.HMACScheme, keys [][]byte) ([][]byte, error) {
	if len(keys) == 0 {
		return nil, errors.New("hmac: no key")
	}
	decoded := make([][]byte, 0, len(keys))
	for i, key := range keys {
		key = bytes.TrimSpace(key)
		if len(key) == 0 {
			if i == 0 {
				// An empty HMAC key is public: anybody could sign.
				return nil, errors.New("hmac: the current key is empty")
			}
			continue
		}
		if scheme != fulfillmentv1alpha1.HMACSchemeStandardWebhooks {
			decoded = append(decoded, bytes.Clone(key))
			continue
		}
		key, err := decodeStandardWebhooksKey(key)
		if err != nil {
			// err says what is wrong with the format and never holds the key.
			return nil, fmt.Errorf("hmac: key %d: %w", i, err)
		}
		if len(key) == 0 {
			return nil, fmt.Errorf("hmac: key %d: empty after decoding", i)
		}
		decoded = append(decoded, key)
	}
	return decoded, nil
}

// decodeStandardWebhooksKey reads a key shared in the form `whsec_<base64>` (as Generate makes it, and as Svix
// shows it): the HMAC key is the base64-decoded part after the prefix. A key without the prefix is decoded as
// base64 too.
func decodeStandardWebhooksKey(key []byte) ([]byte, error) {
	encoded := strings.TrimPrefix(string(key), standardWebhooksKeyPrefix)
	// Not Strict: the reference libraries accept any padding bits in a key, and they only pick the key bytes.
	decoded, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		// The decoder's error would point into the key; say only what the format should be.
		return nil, errors.New("a Standard Webhooks key is whsec_ followed by base64")
	}
	return decoded, nil
}

// Generic is spec.auth.hmac.generic, checked: where the signature is and how it is made.
type Generic struct {
	// Header carries the signature, after Prefix.
	Header, Prefix string
	// NewHash is the hash of the HMAC.
	NewHash func() hash.Hash
	// Base64 says the signature is standard base64 with padding; else it is hex, in either case.
	Base64 bool
}

// ParseGeneric checks spec.auth.hmac.generic, reporting every problem at once.
func ParseGeneric(spec *fulfillmentv1alpha1.GenericHMAC) (*Generic, error) {
	if spec == nil {
		return nil, errors.New("hmac.generic: required")
	}
	g := &Generic{Header: spec.Header, Prefix: spec.Prefix}
	var errs []error
	if !isHeaderName(spec.Header) {
		errs = append(errs, fmt.Errorf("hmac.generic.header: %q is not an HTTP header name", spec.Header))
	}
	switch spec.Algorithm {
	case algorithmSHA256, "":
		g.NewHash = sha256.New
	case algorithmSHA512:
		g.NewHash = sha512.New
	case algorithmSHA1:
		g.NewHash = sha1.New
	default:
		errs = append(errs, fmt.Errorf("hmac.generic.algorithm: %q is not one of SHA256, SHA512, SHA1", spec.Algorithm))
	}
	switch spec.Encoding {
	case encodingHex, "":
	case encodingBase64:
		g.Base64 = true
	default:
		errs = append(errs, fmt.Errorf("hmac.generic.encoding: %q is not one of Hex, Base64", spec.Encoding))
	}
	if len(spec.Prefix) > maxPrefixBytes || !isPrintableASCII(spec.Prefix) {
		errs = append(errs, fmt.Errorf("hmac.generic.prefix: at most %d printable ASCII characters", maxPrefixBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return g, nil
}

// isHeaderName reports whether s matches the CRD's pattern for a header name (an RFC 9110 token without `).
func isHeaderName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_|~", c) >= 0
}

// isPrintableASCII reports whether s has no control and no non-ASCII bytes: a prefix is compared with a header
// value, which holds neither.
func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
