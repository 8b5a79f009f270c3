package controllers

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
)

// Annotations of the generated HMAC Secret. Times are RFC 3339 in UTC, to the second.
const (
	// AnnotationKeyRotatedAt is when the current key was generated.
	AnnotationKeyRotatedAt = "fulfillment.dev/rotated-at"
	// AnnotationPreviousKeyExpiresAt is when the previous key stops being accepted; present only during the
	// grace period that follows a rotation.
	AnnotationPreviousKeyExpiresAt = "fulfillment.dev/previous-expires-at"
	// AnnotationRotateKey on a WebhookEndpoint asks for one rotation of its generated HMAC key now, whatever
	// the schedule: each distinct value (any token, e.g. a timestamp) rotates once.
	AnnotationRotateKey = "fulfillment.dev/rotate-key"
	// AnnotationRotateKeyHandled on the generated Secret is the last AnnotationRotateKey token acted on, so
	// that a token rotates once, also across operator restarts.
	AnnotationRotateKeyHandled = "fulfillment.dev/rotate-key-handled"
)

// DefaultKeyGracePeriod is the CRD's default of spec.auth.hmac.rotation.gracePeriod. It also bounds a previous
// key whose expiry annotation is missing or malformed when rotation is not configured.
const DefaultKeyGracePeriod = 24 * time.Hour

// minKeyCheck is the soonest DesiredHMACKeys asks to be called again, so that a deadline a fraction of a
// second away never makes the reconciler spin.
const minKeyCheck = time.Second

// ErrNoGeneratedKey is returned by DesiredHMACKeys for an endpoint whose HMAC key the operator does not
// generate (no spec.auth.hmac, or a secretRef).
var ErrNoGeneratedKey = errors.New("the endpoint has no generated HMAC key")

// KeyState is the desired generated HMAC Secret and when to look at it again.
type KeyState struct {
	// Data is the Secret's desired data: "secret" (current key) and "previous" (only during the grace
	// period). Nothing else: the operator owns the whole Secret.
	Data map[string][]byte
	// Annotations are AnnotationKeyRotatedAt, during the grace period AnnotationPreviousKeyExpiresAt, and
	// AnnotationRotateKeyHandled once a rotation was requested.
	Annotations map[string]string
	// Rotated is true when a new key was generated now: the first key or a rotation (Data holds "previous"
	// after a rotation with a grace period), for an event.
	Rotated bool
	// Requested is true when this rotation answers a new AnnotationRotateKey token (a scheduled rotation due at
	// the same time is the same rotation).
	Requested bool
	// Regenerated is true when the new key replaces one that was lost: the Secret exists without a key, or is
	// gone while the endpoint's status records an earlier key. There is no "previous": senders still signing
	// with the old key fail until they get the new one, which a person must know (a Warning).
	Regenerated bool
	// First is true when the new key is the endpoint's first.
	First bool
	// StrayKeys are the keys of the existing Secret that are neither "secret" nor "previous" (added by hand),
	// sorted: the operator owns the whole Secret and removes them.
	StrayKeys []string
	// RotatedAt is when the current key was generated, for status.lastKeyRotationTime.
	RotatedAt time.Time
	// NextCheck is when the reconciler must come back: the nearer of the next rotation and the end of the
	// grace period; 0 means never (no rotation configured and no previous key).
	NextCheck time.Duration
}

// GeneratesHMACKey tells whether the operator generates (and may rotate) the endpoint's HMAC key: HMAC without
// secretRef.
func GeneratesHMACKey(endpoint *fulfillmentv1alpha1.WebhookEndpoint) bool {
	h := endpoint.Spec.Auth.HMAC
	return h != nil && h.SecretRef == nil
}

// DesiredHMACKeys computes the generated HMAC Secret <endpoint>-hmac from the existing one (nil when it does
// not exist yet) at now. requested is the endpoint's AnnotationRotateKey token ("" when absent). generate makes
// a key (hmackey.Generate in production).
//
//   - No current key (no Secret, or no data "secret"): a new key is generated, rotated at now, without a
//     previous key. It is Regenerated when a key existed before (the Secret exists, or the status records a
//     rotation).
//   - Keys other than "secret" and "previous" are StrayKeys, never in Data.
//   - Without spec.auth.hmac.rotation the current key is kept forever.
//   - With rotation, once now reaches rotated-at + interval the current key becomes "previous", a new key
//     becomes "secret", and previous-expires-at is now + gracePeriod (with a zero grace period the previous
//     key is dropped at once). From previous-expires-at on, "previous" and its annotation are dropped.
//   - A missing or malformed rotated-at annotation, or one in the future, counts as now: the key is kept and
//     the clock starts again, never a rotation in a loop. A previous key whose expiry annotation is missing,
//     malformed or later than rotated-at + gracePeriod expires at rotated-at + gracePeriod.
//   - A requested token different from the Secret's AnnotationRotateKeyHandled rotates now exactly like a
//     scheduled rotation (which it also is when one is due: one rotation, not two) and becomes the handled
//     token. The first key answers a token present at creation: it is recorded, not rotated again. A token
//     equal to the handled one, or none, changes nothing; the handled token is kept.
//   - An existing current key is never replaced except by a rotation.
//
// Times are stored to the second. Errors come from generate, or ErrNoGeneratedKey.
func DesiredHMACKeys(endpoint *fulfillmentv1alpha1.WebhookEndpoint, existing *corev1.Secret, now time.Time, requested string,
	generate func(fulfillmentv1alpha1.HMACScheme) ([]byte, error)) (KeyState, error) {
	if !GeneratesHMACKey(endpoint) {
		return KeyState{}, fmt.Errorf("WebhookEndpoint %s/%s: %w", endpoint.Namespace, endpoint.Name, ErrNoGeneratedKey)
	}
	hmac := endpoint.Spec.Auth.HMAC
	newKey := func() ([]byte, error) {
		key, err := generate(hmac.Scheme)
		if err != nil {
			return nil, fmt.Errorf("generating an HMAC key for WebhookEndpoint %s/%s: %w", endpoint.Namespace, endpoint.Name, err)
		}
		if len(bytes.TrimSpace(key)) == 0 {
			return nil, fmt.Errorf("generating an HMAC key for WebhookEndpoint %s/%s: the generator returned an empty key",
				endpoint.Namespace, endpoint.Name)
		}
		return key, nil
	}
	// interval 0 means no rotation: the schema requires at least 1h, and 0 must never rotate on every call.
	var interval time.Duration
	grace := DefaultKeyGracePeriod
	if r := hmac.Rotation; r != nil {
		interval, grace = max(r.Interval.Duration, 0), max(r.GracePeriod.Duration, 0)
	}
	stamp := now.UTC().Truncate(time.Second)

	var data map[string][]byte
	var annotations map[string]string
	if existing != nil {
		data, annotations = existing.Data, existing.Annotations
	}
	current := bytes.Clone(data[hmackey.SecretKey])
	previous := bytes.Clone(data[hmackey.PreviousSecretKey])
	rotatedAt, ok := parseKeyTime(annotations[AnnotationKeyRotatedAt])
	if !ok || rotatedAt.After(now) {
		rotatedAt = stamp
	}
	previousExpiresAt, hasExpiry := parseKeyTime(annotations[AnnotationPreviousKeyExpiresAt])
	handled := annotations[AnnotationRotateKeyHandled]
	newRequest := requested != "" && requested != handled
	if newRequest {
		handled = requested
	}

	state := KeyState{}
	switch {
	case len(bytes.TrimSpace(current)) == 0:
		key, err := newKey()
		if err != nil {
			return KeyState{}, err
		}
		current, rotatedAt, state.Rotated = key, stamp, true
		state.Regenerated = existing != nil || endpoint.Status.LastKeyRotationTime != nil
		state.First = !state.Regenerated
	case newRequest || (interval > 0 && !now.Before(rotatedAt.Add(interval))):
		state.Requested = newRequest
		key, err := newKey()
		if err != nil {
			return KeyState{}, err
		}
		previous, current, rotatedAt, state.Rotated = current, key, stamp, true
		previousExpiresAt, hasExpiry = stamp.Add(grace), true
	}

	state.RotatedAt = rotatedAt
	state.Data = map[string][]byte{hmackey.SecretKey: current}
	state.Annotations = map[string]string{AnnotationKeyRotatedAt: rotatedAt.UTC().Format(time.RFC3339)}
	if handled != "" {
		state.Annotations[AnnotationRotateKeyHandled] = handled
	}
	if interval > 0 {
		state.NextCheck = rotatedAt.Add(interval).Sub(now)
	}
	if len(bytes.TrimSpace(previous)) > 0 {
		if limit := rotatedAt.Add(grace); !hasExpiry || previousExpiresAt.After(limit) {
			previousExpiresAt = limit
		}
		if now.Before(previousExpiresAt) {
			state.Data[hmackey.PreviousSecretKey] = previous
			state.Annotations[AnnotationPreviousKeyExpiresAt] = previousExpiresAt.UTC().Format(time.RFC3339)
			if untilExpiry := previousExpiresAt.Sub(now); state.NextCheck == 0 || untilExpiry < state.NextCheck {
				state.NextCheck = untilExpiry
			}
		}
	}
	for k := range data {
		if k != hmackey.SecretKey && k != hmackey.PreviousSecretKey {
			state.StrayKeys = append(state.StrayKeys, k)
		}
	}
	slices.Sort(state.StrayKeys)
	if state.NextCheck != 0 && state.NextCheck < minKeyCheck {
		state.NextCheck = minKeyCheck
	}
	return state, nil
}

// parseKeyTime reads a time annotation; false when it is missing or malformed.
func parseKeyTime(value string) (time.Time, bool) {
	if value == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// KeyEvent is the event announcing what DesiredHMACKeys did to the generated Secret secretName, or an empty
// reason when there is nothing to announce. It names the Secret, never a key. Only a lost key is a Warning:
// senders signing with it fail until a person gives them the new one.
func KeyEvent(state KeyState, secretName, requested string) (eventType, reason, note string) {
	previous := "the previous key is no longer accepted (grace period 0)"
	if expiresAt := state.Annotations[AnnotationPreviousKeyExpiresAt]; expiresAt != "" {
		previous = "the previous key stays valid until " + expiresAt
	}
	switch {
	case state.Regenerated:
		return corev1.EventTypeWarning, "KeyRegenerated", fmt.Sprintf("the HMAC key in Secret %s was lost (the Secret "+
			"was deleted or its key removed): generated a new one. The old key is gone, not kept as previous: senders "+
			"signing with it are refused until they use the new key from Secret %s", secretName, secretName)
	case state.First:
		return corev1.EventTypeNormal, "KeyGenerated", fmt.Sprintf("generated the HMAC key in Secret %s", secretName)
	case state.Requested:
		return corev1.EventTypeNormal, "KeyRotated", fmt.Sprintf("generated a new HMAC key in Secret %s as requested (%s: %q); %s",
			secretName, AnnotationRotateKey, requested, previous)
	case state.Rotated:
		return corev1.EventTypeNormal, "KeyRotated", fmt.Sprintf("generated a new HMAC key in Secret %s; %s", secretName, previous)
	}
	return "", "", ""
}
