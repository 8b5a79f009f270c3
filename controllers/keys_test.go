package controllers

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
)

// keysNow is the fixed clock of the key tests.
var keysNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func keyTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// keysEndpoint is a Generic endpoint whose GitHub HMAC key the operator generates, without rotation.
func keysEndpoint(modify ...func(*fulfillmentv1alpha1.WebhookEndpoint)) *fulfillmentv1alpha1.WebhookEndpoint {
	return endpointFixture(append([]func(*fulfillmentv1alpha1.WebhookEndpoint){func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Dialect = fulfillmentv1alpha1.DialectGeneric
		e.Spec.Auth.HMAC = &fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeGitHub}
	}}, modify...)...)
}

func withRotation(interval, grace time.Duration) func(*fulfillmentv1alpha1.WebhookEndpoint) {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Auth.HMAC.Rotation = &fulfillmentv1alpha1.KeyRotation{
			Interval: metav1.Duration{Duration: interval}, GracePeriod: metav1.Duration{Duration: grace}}
	}
}

// hmacSecret is an existing generated Secret; annotations alternate name and value.
func hmacSecret(data map[string]string, annotations ...string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bank-hmac", Namespace: "bots"}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	if len(annotations) > 0 {
		s.Annotations = map[string]string{}
		for i := 0; i+1 < len(annotations); i += 2 {
			s.Annotations[annotations[i]] = annotations[i+1]
		}
	}
	return s
}

// sequentialKeys generates "new-1", "new-2", ... and records the schemes asked for.
type sequentialKeys struct {
	n       int
	schemes []fulfillmentv1alpha1.HMACScheme
}

func (g *sequentialKeys) generate(scheme fulfillmentv1alpha1.HMACScheme) ([]byte, error) {
	g.n++
	g.schemes = append(g.schemes, scheme)
	return fmt.Appendf(nil, "new-%d", g.n), nil
}

func TestDesiredHMACKeys(t *testing.T) {
	const day = 24 * time.Hour
	monthly := withRotation(30*day, day)
	tests := map[string]struct {
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		existing *corev1.Secret
		now      time.Time
		// requested is the endpoint's fulfillment.dev/rotate-key token.
		requested string
		// want is the expected state; its Data and Annotations are compared as strings.
		wantData        map[string]string
		wantAnnotations map[string]string
		wantRotated     bool
		wantRequested   bool
		wantRotatedAt   time.Time
		wantNextCheck   time.Duration
	}{
		"the first key, without rotation": {
			endpoint:        keysEndpoint(),
			wantData:        map[string]string{"secret": "new-1"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow)},
			wantRotated:     true,
			wantRotatedAt:   keysNow,
		},
		"the first key, with rotation": {
			endpoint:        keysEndpoint(monthly),
			wantData:        map[string]string{"secret": "new-1"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow)},
			wantRotated:     true,
			wantRotatedAt:   keysNow,
			wantNextCheck:   30 * day,
		},
		"a Secret without the key gets one, and loses unknown data": {
			endpoint:        keysEndpoint(),
			existing:        hmacSecret(map[string]string{"secret": "  ", "note": "x"}),
			wantData:        map[string]string{"secret": "new-1"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow)},
			wantRotated:     true,
			wantRotatedAt:   keysNow,
		},
		"without rotation the key is kept forever": {
			endpoint:        keysEndpoint(),
			existing:        hmacSecret(map[string]string{"secret": "old"}, AnnotationKeyRotatedAt, keyTime(keysNow.AddDate(-3, 0, 0))),
			wantData:        map[string]string{"secret": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow.AddDate(-3, 0, 0))},
			wantRotatedAt:   keysNow.AddDate(-3, 0, 0),
		},
		"before the interval the key is kept": {
			endpoint:        keysEndpoint(monthly),
			existing:        hmacSecret(map[string]string{"secret": "old"}, AnnotationKeyRotatedAt, keyTime(keysNow.Add(-10*day))),
			wantData:        map[string]string{"secret": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow.Add(-10 * day))},
			wantRotatedAt:   keysNow.Add(-10 * day),
			wantNextCheck:   20 * day,
		},
		"at the interval the key rotates": {
			endpoint: keysEndpoint(monthly),
			existing: hmacSecret(map[string]string{"secret": "old"}, AnnotationKeyRotatedAt, keyTime(keysNow.Add(-30*day))),
			wantData: map[string]string{"secret": "new-1", "previous": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow),
				AnnotationPreviousKeyExpiresAt: keyTime(keysNow.Add(day))},
			wantRotated:   true,
			wantRotatedAt: keysNow,
			wantNextCheck: day,
		},
		"long overdue (operator down): one rotation, the old previous key is replaced": {
			endpoint: keysEndpoint(monthly),
			existing: hmacSecret(map[string]string{"secret": "old", "previous": "older"},
				AnnotationKeyRotatedAt, keyTime(keysNow.Add(-90*day)), AnnotationPreviousKeyExpiresAt, keyTime(keysNow.Add(-89*day))),
			wantData: map[string]string{"secret": "new-1", "previous": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow),
				AnnotationPreviousKeyExpiresAt: keyTime(keysNow.Add(day))},
			wantRotated:   true,
			wantRotatedAt: keysNow,
			wantNextCheck: day,
		},
		"during the grace period both keys stay": {
			endpoint: keysEndpoint(monthly),
			existing: hmacSecret(map[string]string{"secret": "cur", "previous": "old"},
				AnnotationKeyRotatedAt, keyTime(keysNow.Add(-6*time.Hour)), AnnotationPreviousKeyExpiresAt, keyTime(keysNow.Add(18*time.Hour))),
			wantData: map[string]string{"secret": "cur", "previous": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow.Add(-6 * time.Hour)),
				AnnotationPreviousKeyExpiresAt: keyTime(keysNow.Add(18 * time.Hour))},
			wantRotatedAt: keysNow.Add(-6 * time.Hour),
			wantNextCheck: 18 * time.Hour,
		},
		"at the end of the grace period the previous key goes": {
			endpoint: keysEndpoint(monthly),
			existing: hmacSecret(map[string]string{"secret": "cur", "previous": "old"},
				AnnotationKeyRotatedAt, keyTime(keysNow.Add(-day)), AnnotationPreviousKeyExpiresAt, keyTime(keysNow)),
			wantData:        map[string]string{"secret": "cur"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow.Add(-day))},
			wantRotatedAt:   keysNow.Add(-day),
			wantNextCheck:   29 * day,
		},
		"a previous key without an expiry expires rotated-at + grace": {
			endpoint: keysEndpoint(monthly),
			existing: hmacSecret(map[string]string{"secret": "cur", "previous": "old"},
				AnnotationKeyRotatedAt, keyTime(keysNow.Add(-2*time.Hour)), AnnotationPreviousKeyExpiresAt, "tomorrow"),
			wantData: map[string]string{"secret": "cur", "previous": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow.Add(-2 * time.Hour)),
				AnnotationPreviousKeyExpiresAt: keyTime(keysNow.Add(22 * time.Hour))},
			wantRotatedAt: keysNow.Add(-2 * time.Hour),
			wantNextCheck: 22 * time.Hour,
		},
		"an expiry past rotated-at + grace is cut back": {
			endpoint: keysEndpoint(monthly),
			existing: hmacSecret(map[string]string{"secret": "cur", "previous": "old"},
				AnnotationKeyRotatedAt, keyTime(keysNow.Add(-2*time.Hour)), AnnotationPreviousKeyExpiresAt, keyTime(keysNow.AddDate(1, 0, 0))),
			wantData: map[string]string{"secret": "cur", "previous": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow.Add(-2 * time.Hour)),
				AnnotationPreviousKeyExpiresAt: keyTime(keysNow.Add(22 * time.Hour))},
			wantRotatedAt: keysNow.Add(-2 * time.Hour),
			wantNextCheck: 22 * time.Hour,
		},
		"a missing rotated-at counts as now: no rotation": {
			endpoint:        keysEndpoint(monthly),
			existing:        hmacSecret(map[string]string{"secret": "old"}),
			wantData:        map[string]string{"secret": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow)},
			wantRotatedAt:   keysNow,
			wantNextCheck:   30 * day,
		},
		"a malformed rotated-at counts as now": {
			endpoint:        keysEndpoint(monthly),
			existing:        hmacSecret(map[string]string{"secret": "old"}, AnnotationKeyRotatedAt, "last tuesday"),
			wantData:        map[string]string{"secret": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow)},
			wantRotatedAt:   keysNow,
			wantNextCheck:   30 * day,
		},
		"a rotated-at in the future counts as now": {
			endpoint:        keysEndpoint(monthly),
			existing:        hmacSecret(map[string]string{"secret": "old"}, AnnotationKeyRotatedAt, keyTime(keysNow.AddDate(5, 0, 0))),
			wantData:        map[string]string{"secret": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow)},
			wantRotatedAt:   keysNow,
			wantNextCheck:   30 * day,
		},
		"no grace period: the previous key is dropped at once": {
			endpoint:        keysEndpoint(withRotation(30*day, 0)),
			existing:        hmacSecret(map[string]string{"secret": "old"}, AnnotationKeyRotatedAt, keyTime(keysNow.Add(-31*day))),
			wantData:        map[string]string{"secret": "new-1"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow)},
			wantRotated:     true,
			wantRotatedAt:   keysNow,
			wantNextCheck:   30 * day,
		},
		"rotation turned off during the grace period: the previous key serves its grace out": {
			endpoint: keysEndpoint(),
			existing: hmacSecret(map[string]string{"secret": "cur", "previous": "old"},
				AnnotationKeyRotatedAt, keyTime(keysNow.Add(-time.Hour)), AnnotationPreviousKeyExpiresAt, keyTime(keysNow.Add(3*time.Hour))),
			wantData: map[string]string{"secret": "cur", "previous": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow.Add(-time.Hour)),
				AnnotationPreviousKeyExpiresAt: keyTime(keysNow.Add(3 * time.Hour))},
			wantRotatedAt: keysNow.Add(-time.Hour),
			wantNextCheck: 3 * time.Hour,
		},
		"without rotation a previous key without expiry gets the default grace": {
			endpoint: keysEndpoint(),
			existing: hmacSecret(map[string]string{"secret": "cur", "previous": "old"}, AnnotationKeyRotatedAt, keyTime(keysNow.Add(-time.Hour))),
			wantData: map[string]string{"secret": "cur", "previous": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow.Add(-time.Hour)),
				AnnotationPreviousKeyExpiresAt: keyTime(keysNow.Add(23 * time.Hour))},
			wantRotatedAt: keysNow.Add(-time.Hour),
			wantNextCheck: 23 * time.Hour,
		},
		"a lost current key is replaced, the previous key keeps its grace": {
			endpoint: keysEndpoint(monthly),
			existing: hmacSecret(map[string]string{"previous": "old"},
				AnnotationKeyRotatedAt, keyTime(keysNow.Add(-time.Hour)), AnnotationPreviousKeyExpiresAt, keyTime(keysNow.Add(time.Hour))),
			wantData: map[string]string{"secret": "new-1", "previous": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow),
				AnnotationPreviousKeyExpiresAt: keyTime(keysNow.Add(time.Hour))},
			wantRotated:   true,
			wantRotatedAt: keysNow,
			wantNextCheck: time.Hour,
		},
		"a zero interval never rotates": {
			endpoint:        keysEndpoint(withRotation(0, 0)),
			existing:        hmacSecret(map[string]string{"secret": "old"}, AnnotationKeyRotatedAt, keyTime(keysNow.AddDate(-1, 0, 0))),
			wantData:        map[string]string{"secret": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow.AddDate(-1, 0, 0))},
			wantRotatedAt:   keysNow.AddDate(-1, 0, 0),
		},
		"times are stored to the second; a deadline under a second away asks for one second": {
			endpoint:        keysEndpoint(monthly),
			existing:        hmacSecret(map[string]string{"secret": "old"}, AnnotationKeyRotatedAt, keyTime(keysNow.Add(-30*day))),
			now:             keysNow.Add(-300 * time.Millisecond),
			wantData:        map[string]string{"secret": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow.Add(-30 * day))},
			wantRotatedAt:   keysNow.Add(-30 * day),
			wantNextCheck:   time.Second,
		},
		"a rotation at a fraction of a second": {
			endpoint: keysEndpoint(monthly),
			existing: hmacSecret(map[string]string{"secret": "old"}, AnnotationKeyRotatedAt, keyTime(keysNow.Add(-30*day))),
			now:      keysNow.Add(700 * time.Millisecond),
			wantData: map[string]string{"secret": "new-1", "previous": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow),
				AnnotationPreviousKeyExpiresAt: keyTime(keysNow.Add(day))},
			wantRotated:   true,
			wantRotatedAt: keysNow,
			wantNextCheck: day - 700*time.Millisecond,
		},
		"a new rotate-key token rotates now, without rotation configured: the previous key gets the default grace": {
			endpoint:  keysEndpoint(),
			existing:  hmacSecret(map[string]string{"secret": "old"}, AnnotationKeyRotatedAt, keyTime(keysNow.Add(-time.Hour))),
			requested: "2026-03-10T12:00:00Z",
			wantData:  map[string]string{"secret": "new-1", "previous": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow),
				AnnotationPreviousKeyExpiresAt: keyTime(keysNow.Add(DefaultKeyGracePeriod)),
				AnnotationRotateKeyHandled:     "2026-03-10T12:00:00Z"},
			wantRotated:   true,
			wantRequested: true,
			wantRotatedAt: keysNow,
			wantNextCheck: DefaultKeyGracePeriod,
		},
		"a new rotate-key token rotates before the interval, with the configured grace; the schedule restarts": {
			endpoint: keysEndpoint(monthly),
			existing: hmacSecret(map[string]string{"secret": "cur", "previous": "old"},
				AnnotationKeyRotatedAt, keyTime(keysNow.Add(-2*time.Hour)), AnnotationPreviousKeyExpiresAt, keyTime(keysNow.Add(22*time.Hour)),
				AnnotationRotateKeyHandled, "first"),
			requested: "second",
			wantData:  map[string]string{"secret": "new-1", "previous": "cur"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow),
				AnnotationPreviousKeyExpiresAt: keyTime(keysNow.Add(day)), AnnotationRotateKeyHandled: "second"},
			wantRotated:   true,
			wantRequested: true,
			wantRotatedAt: keysNow,
			wantNextCheck: day,
		},
		"the handled token again changes nothing": {
			endpoint: keysEndpoint(monthly),
			existing: hmacSecret(map[string]string{"secret": "cur", "previous": "old"},
				AnnotationKeyRotatedAt, keyTime(keysNow.Add(-2*time.Hour)), AnnotationPreviousKeyExpiresAt, keyTime(keysNow.Add(22*time.Hour)),
				AnnotationRotateKeyHandled, "first"),
			requested: "first",
			wantData:  map[string]string{"secret": "cur", "previous": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow.Add(-2 * time.Hour)),
				AnnotationPreviousKeyExpiresAt: keyTime(keysNow.Add(22 * time.Hour)), AnnotationRotateKeyHandled: "first"},
			wantRotatedAt: keysNow.Add(-2 * time.Hour),
			wantNextCheck: 22 * time.Hour,
		},
		"no token (the annotation removed) changes nothing and keeps the handled one": {
			endpoint:        keysEndpoint(),
			existing:        hmacSecret(map[string]string{"secret": "cur"}, AnnotationKeyRotatedAt, keyTime(keysNow.Add(-time.Hour)), AnnotationRotateKeyHandled, "first"),
			wantData:        map[string]string{"secret": "cur"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow.Add(-time.Hour)), AnnotationRotateKeyHandled: "first"},
			wantRotatedAt:   keysNow.Add(-time.Hour),
		},
		"a token present at creation is recorded with the first key, not rotated again": {
			endpoint:        keysEndpoint(monthly),
			requested:       "at-creation",
			wantData:        map[string]string{"secret": "new-1"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow), AnnotationRotateKeyHandled: "at-creation"},
			wantRotated:     true,
			wantRotatedAt:   keysNow,
			wantNextCheck:   30 * day,
		},
		"a new token with no grace period: the previous key is dropped at once": {
			endpoint:        keysEndpoint(withRotation(30*day, 0)),
			existing:        hmacSecret(map[string]string{"secret": "leaked"}, AnnotationKeyRotatedAt, keyTime(keysNow.Add(-day))),
			requested:       "leak",
			wantData:        map[string]string{"secret": "new-1"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow), AnnotationRotateKeyHandled: "leak"},
			wantRotated:     true,
			wantRequested:   true,
			wantRotatedAt:   keysNow,
			wantNextCheck:   30 * day,
		},
		"a new token when a scheduled rotation is due: one rotation, the token handled": {
			endpoint:  keysEndpoint(monthly),
			existing:  hmacSecret(map[string]string{"secret": "old"}, AnnotationKeyRotatedAt, keyTime(keysNow.Add(-30*day))),
			requested: "now",
			wantData:  map[string]string{"secret": "new-1", "previous": "old"},
			wantAnnotations: map[string]string{AnnotationKeyRotatedAt: keyTime(keysNow),
				AnnotationPreviousKeyExpiresAt: keyTime(keysNow.Add(day)), AnnotationRotateKeyHandled: "now"},
			wantRotated:   true,
			wantRequested: true,
			wantRotatedAt: keysNow,
			wantNextCheck: day,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = keysNow
			}
			var before *corev1.Secret
			if tc.existing != nil {
				before = tc.existing.DeepCopy()
			}
			keys := &sequentialKeys{}
			state, err := DesiredHMACKeys(tc.endpoint, tc.existing, now, tc.requested, keys.generate)
			if err != nil {
				t.Fatal(err)
			}
			data := map[string]string{}
			for k, v := range state.Data {
				data[k] = string(v)
			}
			if !maps.Equal(data, tc.wantData) {
				t.Errorf("data = %v, want %v", data, tc.wantData)
			}
			if !maps.Equal(state.Annotations, tc.wantAnnotations) {
				t.Errorf("annotations = %v, want %v", state.Annotations, tc.wantAnnotations)
			}
			if state.Rotated != tc.wantRotated || keys.n != map[bool]int{true: 1, false: 0}[tc.wantRotated] {
				t.Errorf("rotated = %v after %d keys generated, want %v", state.Rotated, keys.n, tc.wantRotated)
			}
			if state.Requested != tc.wantRequested {
				t.Errorf("requested = %v, want %v", state.Requested, tc.wantRequested)
			}
			if !state.RotatedAt.Equal(tc.wantRotatedAt) {
				t.Errorf("rotatedAt = %v, want %v", state.RotatedAt, tc.wantRotatedAt)
			}
			if state.NextCheck != tc.wantNextCheck {
				t.Errorf("nextCheck = %v, want %v", state.NextCheck, tc.wantNextCheck)
			}
			for _, scheme := range keys.schemes {
				if scheme != fulfillmentv1alpha1.HMACSchemeGitHub {
					t.Errorf("generated a key for scheme %s", scheme)
				}
			}
			if tc.existing != nil {
				if !apiequality.Semantic.DeepEqual(before, tc.existing) {
					t.Errorf("DesiredHMACKeys modified the existing Secret")
				}
				for k, v := range state.Data {
					if old, ok := tc.existing.Data[k]; ok && len(v) > 0 && len(old) > 0 && &v[0] == &old[0] {
						t.Errorf("data %s shares memory with the existing Secret", k)
					}
				}
			}
		})
	}
}

func TestDesiredHMACKeysErrors(t *testing.T) {
	failure := errors.New("entropy exhausted")
	tests := map[string]struct {
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		existing *corev1.Secret
		generate func(fulfillmentv1alpha1.HMACScheme) ([]byte, error)
		wantIs   error
		wantText string
	}{
		"no HMAC": {
			endpoint: endpointFixture(),
			generate: (&sequentialKeys{}).generate,
			wantIs:   ErrNoGeneratedKey,
		},
		"a referenced HMAC Secret": {
			endpoint: keysEndpoint(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
				e.Spec.Auth.HMAC.SecretRef = &fulfillmentv1alpha1.LocalObjectReference{Name: "mine"}
			}),
			generate: (&sequentialKeys{}).generate,
			wantIs:   ErrNoGeneratedKey,
		},
		"the generator fails on the first key": {
			endpoint: keysEndpoint(),
			generate: func(fulfillmentv1alpha1.HMACScheme) ([]byte, error) { return nil, failure },
			wantIs:   failure,
			wantText: "generating an HMAC key for WebhookEndpoint bots/bank: entropy exhausted",
		},
		"the generator fails on a rotation": {
			endpoint: keysEndpoint(withRotation(time.Hour, time.Minute)),
			existing: hmacSecret(map[string]string{"secret": "old"}, AnnotationKeyRotatedAt, keyTime(keysNow.Add(-2*time.Hour))),
			generate: func(fulfillmentv1alpha1.HMACScheme) ([]byte, error) { return nil, failure },
			wantIs:   failure,
		},
		"the generator returns an empty key": {
			endpoint: keysEndpoint(),
			generate: func(fulfillmentv1alpha1.HMACScheme) ([]byte, error) { return []byte(" "), nil },
			wantText: "the generator returned an empty key",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			state, err := DesiredHMACKeys(tc.endpoint, tc.existing, keysNow, "", tc.generate)
			if err == nil {
				t.Fatalf("no error, state %+v", state)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			if state.Data != nil {
				t.Errorf("state with data on error: %v", state.Data)
			}
		})
	}
}

// TestDesiredHMACKeysOverTime feeds each result back as the existing Secret, as the reconciler does, and
// checks that over 100 days of hourly reconciles a 30-day rotation happens exactly three times, that the
// previous key is kept exactly for the grace period, and that NextCheck always points at the next change.
func TestDesiredHMACKeysOverTime(t *testing.T) {
	const day = 24 * time.Hour
	endpoint := keysEndpoint(withRotation(30*day, 2*day))
	keys := &sequentialKeys{}
	var existing *corev1.Secret
	rotations, withPrevious := 0, 0
	start := keysNow
	var due time.Time
	for now := start; now.Before(start.Add(100 * day)); now = now.Add(time.Hour) {
		state, err := DesiredHMACKeys(endpoint, existing, now, "", keys.generate)
		if err != nil {
			t.Fatal(err)
		}
		if !due.IsZero() && now.Before(due) && (state.Rotated || len(state.Data) != len(existing.Data)) {
			t.Fatalf("%v: changed before the NextCheck deadline %v", now, due)
		}
		if state.Rotated {
			rotations++
		}
		if _, ok := state.Data[hmackey.PreviousSecretKey]; ok {
			withPrevious++
		}
		if state.NextCheck <= 0 {
			t.Fatalf("%v: NextCheck %v with rotation configured", now, state.NextCheck)
		}
		due = now.Add(state.NextCheck)
		existing = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: state.Annotations}, Data: state.Data}
	}
	// The first key at day 0, rotations at days 30, 60 and 90.
	if rotations != 4 || keys.n != 4 {
		t.Errorf("%d rotations with %d keys generated, want the first key and 3 rotations", rotations, keys.n)
	}
	if want := 3 * 48; withPrevious != want {
		t.Errorf("previous key kept for %d hourly reconciles, want %d", withPrevious, want)
	}
}

func TestDesiredHMACKeysWithTheProductionGenerator(t *testing.T) {
	endpoint := keysEndpoint(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Auth.HMAC.Scheme = fulfillmentv1alpha1.HMACSchemeStandardWebhooks
	})
	state, err := DesiredHMACKeys(endpoint, nil, keysNow, "", hmackey.Generate)
	if err != nil {
		t.Fatal(err)
	}
	if key := string(state.Data[hmackey.SecretKey]); !strings.HasPrefix(key, "whsec_") || len(key) < 40 {
		t.Errorf("generated key %q is not a Standard Webhooks key", key)
	}
	if !GeneratesHMACKey(endpoint) || GeneratesHMACKey(endpointFixture()) {
		t.Errorf("GeneratesHMACKey is wrong")
	}
}

// TestDesiredHMACKeysRequestedOnce feeds each result back, as the reconciler does: a token left on the
// endpoint rotates once however often the endpoint is reconciled, and a new token rotates once more.
func TestDesiredHMACKeysRequestedOnce(t *testing.T) {
	endpoint := keysEndpoint()
	keys := &sequentialKeys{}
	var existing *corev1.Secret
	rotations := 0
	for i, token := range []string{"", "", "a", "a", "a", "", "a", "b", "b"} {
		state, err := DesiredHMACKeys(endpoint, existing, keysNow.Add(time.Duration(i)*time.Minute), token, keys.generate)
		if err != nil {
			t.Fatal(err)
		}
		if state.Rotated {
			rotations++
		}
		existing = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: state.Annotations}, Data: state.Data}
	}
	// The first key, then one rotation for "a" and one for "b".
	if rotations != 3 || keys.n != 3 {
		t.Errorf("%d rotations with %d keys generated, want the first key and 2 requested rotations", rotations, keys.n)
	}
	if got := existing.Annotations[AnnotationRotateKeyHandled]; got != "b" {
		t.Errorf("handled token %q, want b", got)
	}
}
