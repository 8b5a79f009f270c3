package auth

import (
	"crypto/sha256"
	"strings"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

const (
	gitHubSignatureHeader = "X-Hub-Signature-256"
	gitHubSignaturePrefix = "sha256="
)

// GitHub checks GitHub's webhook signature, the hex HMAC-SHA256 of the raw body:
//
//	X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
//
// GitHub signs no timestamp, so there is no replay window: pair it with idempotency on X-GitHub-Delivery. The
// legacy SHA-1 X-Hub-Signature header is not read.
type GitHub struct {
	keys *hmacKeySet
}

// NewGitHub returns a GitHub checker. A key is the webhook secret as typed into GitHub, used as-is. Options are
// accepted for a uniform constructor and have no effect.
func NewGitHub(keys [][]byte, opts ...HMACOption) (*GitHub, error) {
	if _, err := newHMACOptions(opts); err != nil {
		return nil, err
	}
	set, err := newHMACKeySet(fulfillmentv1alpha1.HMACSchemeGitHub, keys, sha256.New)
	if err != nil {
		return nil, err
	}
	return &GitHub{keys: set}, nil
}

// Check implements Checker.
func (g *GitHub) Check(r *Request) *Failure {
	header, failure := hmacRequiredHeader(r.Header, gitHubSignatureHeader, 0, ReasonMissingSignature, ReasonMalformedSignature)
	if failure != nil {
		return failure
	}
	value, ok := strings.CutPrefix(header, gitHubSignaturePrefix)
	signatures := g.keys.newSignatures()
	if !ok || !signatures.addHex(value) {
		return hmacFailure(ReasonMalformedSignature)
	}
	if !g.keys.verify(&signatures, nil, r.Body) {
		return hmacFailure(ReasonInvalidSignature)
	}
	return nil
}
