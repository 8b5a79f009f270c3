// Package hmacsign signs a request body the way each HMAC scheme's sender does, for webhookserver send and for
// tests. It follows the providers' documentation and shares no code with the checkers in webhookserver/auth, so
// that a test signing with it and verifying with them checks one against the other.
package hmacsign

import (
	"crypto/hmac"
	"crypto/sha1" // for legacy senders spec.auth.hmac.generic opts into
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
)

// Headers of the schemes, as their senders spell them.
const (
	StandardWebhooksID        = "Webhook-Id"
	StandardWebhooksTimestamp = "Webhook-Timestamp"
	StandardWebhooksSignature = "Webhook-Signature"
	GitHubSignature           = "X-Hub-Signature-256"
	StripeSignature           = "Stripe-Signature"
	SlackTimestamp            = "X-Slack-Request-Timestamp"
	SlackSignature            = "X-Slack-Signature"
	ShopifySignature          = "X-Shopify-Hmac-Sha256"
)

// Message is what one signature covers besides the body: the time it is made at (schemes with a replay window
// sign it) and, for Standard Webhooks, the message id.
type Message struct {
	ID   string
	At   time.Time
	Body []byte
}

// Sign returns the headers that sign msg under spec with key, the key as stored in the endpoint's HMAC Secret
// (its `secret`: whsec_ base64 for Standard Webhooks, used as-is by the other schemes; surrounding whitespace is
// trimmed). Errors never hold the key.
func Sign(spec *fulfillmentv1alpha1.HMACAuth, key []byte, msg Message) (http.Header, error) {
	if err := hmackey.CheckSpec(spec); err != nil {
		return nil, err
	}
	decoded, err := hmackey.Decode(spec.Scheme, [][]byte{key})
	if err != nil {
		return nil, err
	}
	secret := decoded[0]
	ts := strconv.FormatInt(msg.At.Unix(), 10)
	body := string(msg.Body)
	header := http.Header{}
	switch spec.Scheme {
	case fulfillmentv1alpha1.HMACSchemeStandardWebhooks:
		if msg.ID == "" {
			return nil, errors.New("hmac: Standard Webhooks signs a message id: give one")
		}
		header.Set(StandardWebhooksID, msg.ID)
		header.Set(StandardWebhooksTimestamp, ts)
		header.Set(StandardWebhooksSignature, "v1,"+base64.StdEncoding.EncodeToString(mac(sha256.New, secret, msg.ID, ".", ts, ".", body)))
	case fulfillmentv1alpha1.HMACSchemeGitHub:
		header.Set(GitHubSignature, "sha256="+hex.EncodeToString(mac(sha256.New, secret, body)))
	case fulfillmentv1alpha1.HMACSchemeStripe:
		header.Set(StripeSignature, "t="+ts+",v1="+hex.EncodeToString(mac(sha256.New, secret, ts, ".", body)))
	case fulfillmentv1alpha1.HMACSchemeSlack:
		header.Set(SlackTimestamp, ts)
		header.Set(SlackSignature, "v0="+hex.EncodeToString(mac(sha256.New, secret, "v0:", ts, ":", body)))
	case fulfillmentv1alpha1.HMACSchemeShopify:
		header.Set(ShopifySignature, base64.StdEncoding.EncodeToString(mac(sha256.New, secret, body)))
	case fulfillmentv1alpha1.HMACSchemeGeneric:
		// CheckSpec made sure of the header, the algorithm and the encoding.
		sum := mac(genericHashes[spec.Generic.Algorithm], secret, body)
		encoded := hex.EncodeToString(sum)
		if spec.Generic.Encoding == "Base64" {
			encoded = base64.StdEncoding.EncodeToString(sum)
		}
		header.Set(spec.Generic.Header, spec.Generic.Prefix+encoded)
	default:
		return nil, fmt.Errorf("hmac: unknown scheme %q", spec.Scheme)
	}
	return header, nil
}

func mac(newHash func() hash.Hash, key []byte, parts ...string) []byte {
	m := hmac.New(newHash, key)
	for _, part := range parts {
		m.Write([]byte(part))
	}
	return m.Sum(nil)
}

// genericHashes are the hashes spec.auth.hmac.generic.algorithm names; "" is the CRD's default.
var genericHashes = map[fulfillmentv1alpha1.HMACAlgorithm]func() hash.Hash{
	"": sha256.New, "SHA256": sha256.New, "SHA512": sha512.New, "SHA1": sha1.New,
}
