package hmackey

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// keyEntropy is the number of random bytes in a generated key: as many as the SHA-256 block of HMAC can use
// without hashing the key first, and what Standard Webhooks recommends at most for its 24-64 byte keys.
const keyEntropy = 32

// Generate returns a new random key for scheme, in the form it is stored in the Secret (key `secret`) and
// shared with senders; Decode reads this form back:
//
//   - StandardWebhooks: `whsec_` followed by the standard base64 of 32 random bytes (as Svix and the Standard
//     Webhooks libraries expect); the HMAC key is the 32 decoded bytes.
//   - GitHub, Stripe, Slack, Shopify, Generic: 64 lowercase hex characters encoding 32 random bytes; the HMAC key
//     is the 64 characters themselves, as those senders use their secret as-is. Stripe, Slack and Shopify make
//     their own secrets, which the user stores instead; a generated key serves senders that sign in their format
//     with a secret given to them, as GitHub does.
//
// The key comes from crypto/rand.
func Generate(scheme fulfillmentv1alpha1.HMACScheme) ([]byte, error) {
	var random [keyEntropy]byte
	switch scheme {
	case fulfillmentv1alpha1.HMACSchemeStandardWebhooks:
		if _, err := rand.Read(random[:]); err != nil {
			return nil, fmt.Errorf("hmac: generating a key: %w", err)
		}
		return base64.StdEncoding.AppendEncode([]byte(standardWebhooksKeyPrefix), random[:]), nil
	case fulfillmentv1alpha1.HMACSchemeGitHub, fulfillmentv1alpha1.HMACSchemeStripe, fulfillmentv1alpha1.HMACSchemeSlack,
		fulfillmentv1alpha1.HMACSchemeShopify, fulfillmentv1alpha1.HMACSchemeGeneric:
		if _, err := rand.Read(random[:]); err != nil {
			return nil, fmt.Errorf("hmac: generating a key: %w", err)
		}
		return hex.AppendEncode(nil, random[:]), nil
	default:
		return nil, fmt.Errorf("hmac: unknown scheme %q", scheme)
	}
}
