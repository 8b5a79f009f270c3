package auth

import (
	"crypto/sha256"
	"strings"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

const (
	slackTimestampHeader = "X-Slack-Request-Timestamp"
	slackSignatureHeader = "X-Slack-Signature"
	slackVersion         = "v0"
)

// Slack checks Slack's request signature, the hex HMAC-SHA256 of `v0:timestamp:body`:
//
//	X-Slack-Request-Timestamp: 1531420618
//	X-Slack-Signature: v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503
//
// The timestamp must be inside the replay window.
type Slack struct {
	keys *hmacKeySet
	opts hmacOptions
}

// NewSlack returns a Slack checker. A key is the app's signing secret, used as-is.
func NewSlack(keys [][]byte, opts ...HMACOption) (*Slack, error) {
	o, err := newHMACOptions(opts)
	if err != nil {
		return nil, err
	}
	set, err := newHMACKeySet(fulfillmentv1alpha1.HMACSchemeSlack, keys, sha256.New)
	if err != nil {
		return nil, err
	}
	return &Slack{keys: set, opts: o}, nil
}

// Check implements Checker.
func (s *Slack) Check(r *Request) *Failure {
	header, failure := hmacRequiredHeader(r.Header, slackSignatureHeader, 0, ReasonMissingSignature, ReasonMalformedSignature)
	if failure != nil {
		return failure
	}
	timestamp, unix, failure := hmacTimestampHeader(r.Header, slackTimestampHeader)
	if failure != nil {
		return failure
	}
	value, ok := strings.CutPrefix(header, slackVersion+"=")
	signatures := s.keys.newSignatures()
	if !ok || !signatures.addHex(value) {
		return hmacFailure(ReasonMalformedSignature)
	}
	if !s.opts.fresh(unix) {
		return hmacFailure(ReasonTimestampOutsideTolerance)
	}
	prefix := make([]byte, 0, len(slackVersion)+len(timestamp)+2)
	prefix = append(append(append(append(prefix, slackVersion...), ':'), timestamp...), ':')
	if !s.keys.verify(&signatures, prefix, r.Body) {
		return hmacFailure(ReasonInvalidSignature)
	}
	return nil
}
