// Package hmackey is what the operator and the server agree on about HMAC keys: the Secret that holds an
// endpoint's keys and the names of its keys, the form a generated key takes for each scheme, and whether a spec
// and its keys are ones the server can verify signatures with. It is its own package so that the operator,
// which generates and checks keys, does not link the server's authentication (webhookserver/auth builds its
// checkers on this package).
package hmackey

import (
	"bytes"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// Keys of the Secret holding HMAC keys: the current key, and during a rotation the key before it.
const (
	SecretKey         = "secret"
	PreviousSecretKey = "previous"
)

// SecretName is the Secret holding an endpoint's HMAC keys: the one referenced, else the one the operator
// generates, <endpoint>-hmac. Its key `secret` is the current key and `previous` the one before it during a
// rotation's grace period.
func SecretName(endpointName string, spec *fulfillmentv1alpha1.HMACAuth) string {
	if spec.SecretRef != nil {
		return spec.SecretRef.Name
	}
	return endpointName + "-hmac"
}

// Keys returns the key set stored in an HMAC Secret's data: `secret` (current), then `previous` when present
// and not empty. Surrounding whitespace is left for Decode to trim.
func Keys(data map[string][]byte) [][]byte {
	keys := [][]byte{data[SecretKey]}
	if previous := bytes.TrimSpace(data[PreviousSecretKey]); len(previous) > 0 {
		keys = append(keys, data[PreviousSecretKey])
	}
	return keys
}
