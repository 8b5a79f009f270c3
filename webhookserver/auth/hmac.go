package auth

// HMAC signatures of the request body. Each scheme has its own file (hmac_standardwebhooks.go, hmac_github.go,
// hmac_stripe.go, hmac_slack.go, hmac_shopify.go, hmac_generic.go); this file holds what they share: the key set
// (rotation), the clock and replay window, the constant-time comparison, defensive header reading and the reason
// codes. Unexported names start with hmac (or the scheme's name) because other methods share the package.

import (
	"crypto/hmac"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"net/http"
	"sync"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
)

// DefaultHMACTolerance is the replay window of the schemes that sign a timestamp, as in spec.auth.hmac.tolerance.
const DefaultHMACTolerance = 5 * time.Minute

// Reasons of an HMAC Failure. None of them carries the key, the expected MAC or the received signature.
const (
	// ReasonMissingSignature: no signature header (or, for Standard Webhooks, no message id).
	ReasonMissingSignature = "missing_signature"
	// ReasonMalformedSignature: the signature header cannot be read: wrong prefix or encoding, no signature of a
	// supported version, too long, too many signatures, or a repeated header.
	ReasonMalformedSignature = "malformed_signature"
	// ReasonMissingTimestamp: a scheme that signs a timestamp got none.
	ReasonMissingTimestamp = "missing_timestamp"
	// ReasonMalformedTimestamp: the timestamp is not a Unix time in seconds.
	ReasonMalformedTimestamp = "malformed_timestamp"
	// ReasonTimestampOutsideTolerance: the timestamp is older, or further in the future, than the replay window.
	ReasonTimestampOutsideTolerance = "timestamp_outside_tolerance"
	// ReasonInvalidSignature: well-formed, but no signature matches any key.
	ReasonInvalidSignature = "invalid_signature"
)

// Bounds on what a request may make the check parse and compute. Real senders stay far below them: Standard
// Webhooks and Stripe send one signature per active key, that is one or two.
const (
	// hmacMaxSignatures is how many signatures one header may carry.
	hmacMaxSignatures = 16
	// hmacMaxHeaderBytes bounds a signature header: 16 Stripe entries (`v1=` + 64 hex) with as many `v0=`, or 16
	// base64 SHA-512 values, fit with room to spare.
	hmacMaxHeaderBytes = 4096
	// hmacMaxTimestampDigits keeps a timestamp inside int64 without overflow checks.
	hmacMaxTimestampDigits = 18
	// hmacMaxMessageIDBytes bounds the Standard Webhooks message id, which is signed with the body.
	hmacMaxMessageIDBytes = 256
)

// HMACOption configures an HMAC checker.
type HMACOption func(*hmacOptions)

type hmacOptions struct {
	now       func() time.Time
	tolerance time.Duration
}

// WithHMACClock sets the clock the replay window is measured with (time.Now by default). Tests inject a fixed
// time to verify recorded signatures.
func WithHMACClock(now func() time.Time) HMACOption {
	return func(o *hmacOptions) { o.now = now }
}

// WithHMACTolerance sets the replay window (DefaultHMACTolerance by default): a signed timestamp older than
// now-tolerance or newer than now+tolerance is refused. Schemes without a timestamp ignore it.
func WithHMACTolerance(tolerance time.Duration) HMACOption {
	return func(o *hmacOptions) { o.tolerance = tolerance }
}

func newHMACOptions(opts []HMACOption) (hmacOptions, error) {
	o := hmacOptions{now: time.Now, tolerance: DefaultHMACTolerance}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		return o, errors.New("hmac: the clock is nil")
	}
	return o, hmackey.CheckTolerance(o.tolerance)
}

// fresh reports whether a signed Unix time is inside the replay window around now, on both sides: a timestamp
// from the future would otherwise let a captured request be replayed for longer.
func (o *hmacOptions) fresh(unix int64) bool {
	age := o.now().Sub(time.Unix(unix, 0)) // saturates instead of overflowing
	return age <= o.tolerance && age >= -o.tolerance
}

// NewHMAC returns the checker of spec.auth.hmac for the given keys: the current key first, then previous keys
// still in their grace period (hmackey.Keys). A signature made with any of them passes. The tolerance of the
// spec applies unless an option sets another one; opts come last so that tests can inject a clock. It refuses
// what hmackey.Check refuses, which the operator checks keys with.
func NewHMAC(spec *fulfillmentv1alpha1.HMACAuth, keys [][]byte, opts ...HMACOption) (Checker, error) {
	if err := hmackey.CheckSpec(spec); err != nil {
		return nil, err
	}
	if spec.Tolerance != nil {
		opts = append([]HMACOption{WithHMACTolerance(spec.Tolerance.Duration)}, opts...)
	}
	switch spec.Scheme {
	case fulfillmentv1alpha1.HMACSchemeStandardWebhooks:
		return NewStandardWebhooks(keys, opts...)
	case fulfillmentv1alpha1.HMACSchemeGitHub:
		return NewGitHub(keys, opts...)
	case fulfillmentv1alpha1.HMACSchemeStripe:
		return NewStripe(keys, opts...)
	case fulfillmentv1alpha1.HMACSchemeSlack:
		return NewSlack(keys, opts...)
	case fulfillmentv1alpha1.HMACSchemeShopify:
		return NewShopify(keys, opts...)
	default: // Generic: CheckSpec refuses every other scheme
		return NewGenericHMAC(spec.Generic, keys, opts...)
	}
}

// hmacKeySet is the keys a signature may be made with, current first, and the hash of the scheme.
type hmacKeySet struct {
	size int // of the MAC
	keys []*hmacKey
}

// hmacKey keeps keyed HMAC states for reuse across requests: hmac.New hashes the key into the inner and outer
// pads, and Reset restores that state without allocating or hashing the key again.
type hmacKey struct {
	macs sync.Pool
}

// newHMACKeySet reads the keys as stored in a Secret (hmackey.Decode) for scheme, whose MAC newHash makes.
func newHMACKeySet(scheme fulfillmentv1alpha1.HMACScheme, keys [][]byte, newHash func() hash.Hash) (*hmacKeySet, error) {
	decoded, err := hmackey.Decode(scheme, keys)
	if err != nil {
		return nil, err
	}
	set := &hmacKeySet{size: newHash().Size()}
	for _, key := range decoded {
		set.keys = append(set.keys, &hmacKey{macs: sync.Pool{New: func() any { return hmac.New(newHash, key) }}})
	}
	return set, nil
}

// verify reports whether any of the signatures is the HMAC of prefix followed by body under any key.
//
// The MAC of every key is computed and every pair is compared with subtle.ConstantTimeCompare, with no early exit:
// the time depends only on the number of keys and signatures, which the sender knows anyway, and never on which
// key or signature matched or how much of it. Every signature has the MAC's length (hmacSignatures makes sure),
// so the comparison never stops at a length mismatch either.
func (set *hmacKeySet) verify(signatures *hmacSignatures, prefix, body []byte) bool {
	var sum [sha512.Size]byte
	match := 0
	for _, key := range set.keys {
		mac := key.macs.Get().(hash.Hash)
		mac.Reset()
		mac.Write(prefix)
		mac.Write(body)
		expected := mac.Sum(sum[:0])
		key.macs.Put(mac)
		for i := range signatures.n {
			match |= subtle.ConstantTimeCompare(signatures.at(i), expected)
		}
	}
	return match == 1
}

// hmacSignatures holds the decoded signatures of one request, all of the MAC's size, without allocating.
type hmacSignatures struct {
	size, n int
	buf     [hmacMaxSignatures * sha512.Size]byte
}

func (set *hmacKeySet) newSignatures() hmacSignatures { return hmacSignatures{size: set.size} }

func (s *hmacSignatures) at(i int) []byte { return s.buf[i*s.size : (i+1)*s.size] }

// addHex adds a hex signature (either case); false when it is not one of the MAC's size, or there is no room.
func (s *hmacSignatures) addHex(value string) bool {
	if s.n == hmacMaxSignatures || !hmacDecodeHex(s.at(s.n), value) {
		return false
	}
	s.n++
	return true
}

// addBase64 adds a standard base64 signature; false when it is not one of the MAC's size, or there is no room.
func (s *hmacSignatures) addBase64(value string) bool {
	if s.n == hmacMaxSignatures || !hmacDecodeBase64(s.at(s.n), value) {
		return false
	}
	s.n++
	return true
}

// hmacHeader returns the value of a request header; "" when absent. A repeated header is ambiguous (a proxy in
// front and this check could read different copies), so repeated reports it and the caller refuses the request.
func hmacHeader(header http.Header, name string) (value string, repeated bool) {
	values := header.Values(name)
	switch len(values) {
	case 0:
		return "", false
	case 1:
		return values[0], false
	default:
		return "", true
	}
}

// hmacRequiredHeader reads a header the signature needs: a missing one gives the missing reason; one sent more
// than once, or longer than maxBytes (0: no bound), the malformed reason.
func hmacRequiredHeader(header http.Header, name string, maxBytes int, missing, malformed string) (string, *Failure) {
	value, repeated := hmacHeader(header, name)
	if repeated || (maxBytes > 0 && len(value) > maxBytes) {
		return "", hmacFailure(malformed)
	}
	if value == "" {
		return "", hmacFailure(missing)
	}
	return value, nil
}

// hmacTimestampHeader reads and parses the signed timestamp header. It returns the text too: the MAC covers
// the header exactly as sent.
func hmacTimestampHeader(header http.Header, name string) (string, int64, *Failure) {
	value, failure := hmacRequiredHeader(header, name, 0, ReasonMissingTimestamp, ReasonMalformedTimestamp)
	if failure != nil {
		return "", 0, failure
	}
	unix, ok := hmacParseTimestamp(value)
	if !ok {
		return "", 0, hmacFailure(ReasonMalformedTimestamp)
	}
	return value, unix, nil
}

// hmacParseTimestamp parses a Unix time in seconds written as 1 to 18 ASCII digits: no sign, no space, no
// fraction. The schemes sign the header text itself, so a lax parser would only turn a refusal into a later one.
func hmacParseTimestamp(s string) (int64, bool) {
	if len(s) == 0 || len(s) > hmacMaxTimestampDigits {
		return 0, false
	}
	var unix int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		unix = unix*10 + int64(c-'0')
	}
	return unix, true
}

// hmacDecodeHex decodes a hex signature (either case) of exactly len(dst) bytes into dst.
func hmacDecodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		high, ok1 := hmacHexDigit(s[2*i])
		low, ok2 := hmacHexDigit(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = high<<4 | low
	}
	return true
}

func hmacHexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// hmacBase64 is standard padded base64 that refuses non-zero padding bits: without Strict, several strings
// decode to the same MAC, so a changed signature could still pass.
var hmacBase64 = base64.StdEncoding.Strict()

// hmacDecodeBase64 decodes a standard base64 signature of exactly len(dst) bytes into dst. The length check
// also refuses CR and LF, which the decoder would otherwise skip.
func hmacDecodeBase64(dst []byte, s string) bool {
	if len(s) != hmacBase64.EncodedLen(len(dst)) {
		return false
	}
	var src [88]byte // a base64 SHA-512; copied so that decoding a string does not allocate
	var buf [66]byte
	n, err := hmacBase64.Decode(buf[:], src[:copy(src[:], s)])
	if err != nil || n != len(dst) {
		return false
	}
	copy(dst, buf[:n])
	return true
}

func hmacFailure(reason string) *Failure {
	return &Failure{Status: http.StatusUnauthorized, Method: "hmac", Reason: reason}
}
