package controllers

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
)

func TestOwnerOf(t *testing.T) {
	const endpointUID = types.UID("endpoint-uid")
	controller := func(kind, name string, uid types.UID) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: "v1", Kind: kind, Name: name, UID: uid, Controller: ptr.To(true)}
	}
	endpoint := metav1.OwnerReference{Kind: "WebhookEndpoint", Name: "own", UID: endpointUID}
	gateway := metav1.OwnerReference{Kind: "WebhookGateway", Name: "own", UID: "gateway-uid"}
	tests := map[string]struct {
		self metav1.OwnerReference // the endpoint when not set
		meta metav1.ObjectMeta
		want string // "" or a substring of the answer
		may  bool
	}{
		"controlled by the endpoint": {
			meta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{controller("WebhookEndpoint", "own", endpointUID)}},
			may:  true,
		},
		"no owner, no managers": {want: "not managed by the operator"},
		"no owner, managed by kubectl": {
			meta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl-create"}, {Manager: "kubectl-edit"}, {Manager: "kubectl-edit"}}},
			want: "not managed by the operator; field managers: kubectl-create, kubectl-edit",
		},
		"a non-controller owner reference to the endpoint is not control": {
			meta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "WebhookEndpoint", Name: "own", UID: endpointUID}}},
			want: "not managed by the operator",
		},
		"controlled by another kind": {
			meta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{controller("HelmRelease", "db", "other")}},
			want: "controlled by HelmRelease db",
		},
		"controlled by an earlier endpoint of the same name": {
			meta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{controller("WebhookEndpoint", "own", "old-uid")}},
			want: "earlier WebhookEndpoint own (uid old-uid) that the garbage collector is deleting",
		},
		"controlled by an earlier gateway of the same name": {
			self: gateway,
			meta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{controller("WebhookGateway", "own", "old-uid")}},
			want: "earlier WebhookGateway own (uid old-uid) that the garbage collector is deleting",
		},
		"a gateway's object, for the endpoint of the same name": {
			meta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{controller("WebhookGateway", "own", "gateway-uid")}},
			want: "controlled by WebhookGateway own",
		},
		"an endpoint's object, for the gateway of the same name, is not an earlier one's": {
			self: gateway,
			meta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{controller("WebhookEndpoint", "own", endpointUID)}},
			want: "controlled by WebhookEndpoint own",
		},
		"annotated for adoption, no controller": {
			meta: metav1.ObjectMeta{Annotations: map[string]string{AnnotationAdopt: "true"}},
			may:  true,
		},
		"annotated for adoption with another controller": {
			meta: metav1.ObjectMeta{Annotations: map[string]string{AnnotationAdopt: "true"},
				OwnerReferences: []metav1.OwnerReference{controller("HelmRelease", "db", "other")}},
			want: "controlled by HelmRelease db",
		},
		"adoption needs exactly true": {
			meta: metav1.ObjectMeta{Annotations: map[string]string{AnnotationAdopt: "yes"}},
			want: "not managed by the operator",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			self := tc.self
			if self.Kind == "" {
				self = endpoint
			}
			got := ownerOf(self, &corev1.ConfigMap{ObjectMeta: tc.meta})
			if tc.may {
				if got != "" {
					t.Fatalf("ownerOf = %q, want the endpoint to own it", got)
				}
				return
			}
			if got == "" || !strings.Contains(got, tc.want) || (!strings.Contains(tc.want, "earlier") && strings.Contains(got, "earlier")) {
				t.Fatalf("ownerOf = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

func TestObjectConflictMessage(t *testing.T) {
	one := objectConflictMessage("WebhookEndpoint", []objectConflict{{Kind: "Service", Name: "own", Owner: "not managed by the operator"}})
	for _, want := range []string{"an object with a name this endpoint needs exists", "Service own (not managed by the operator)",
		"Rename the WebhookEndpoint, or delete or rename the object", AnnotationAdopt + "=true"} {
		if !strings.Contains(one, want) {
			t.Errorf("message %q does not contain %q", one, want)
		}
	}
	two := objectConflictMessage("WebhookEndpoint", []objectConflict{{Kind: "Service", Name: "own", Owner: "a"}, {Kind: "ConfigMap", Name: "own-config", Owner: "b"}})
	if !strings.Contains(two, "objects with names this endpoint needs exist") || !strings.Contains(two, "Service own (a); ConfigMap own-config (b)") {
		t.Errorf("message %q does not list both objects", two)
	}
	gateway := objectConflictMessage("WebhookGateway", []objectConflict{{Kind: "Deployment", Name: "own", Owner: "controlled by WebhookEndpoint own"}})
	for _, want := range []string{"an object with a name this gateway needs exists", "Rename the WebhookGateway, or delete or rename",
		"to hand an object without a controller to this gateway instead", "deleting the gateway then deletes it"} {
		if !strings.Contains(gateway, want) {
			t.Errorf("message %q does not contain %q", gateway, want)
		}
	}
}

func TestOwnedNames(t *testing.T) {
	names := func(e *fulfillmentv1alpha1.WebhookEndpoint) []string {
		var out []string
		for _, o := range OwnedNames(e) {
			out = append(out, o.Kind+"/"+o.Obj.GetName())
			if o.Obj.GetNamespace() != e.Namespace {
				t.Errorf("%s/%s in namespace %q", o.Kind, o.Obj.GetName(), o.Obj.GetNamespace())
			}
		}
		slices.Sort(out)
		return out
	}
	base := []string{"ConfigMap/bank-config", "Deployment/bank", "NetworkPolicy/bank", "Service/bank", "ServiceAccount/bank"}
	tests := map[string]struct {
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		extra    []string
	}{
		"one replica, no HMAC":                    {endpoint: endpointFixture(func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Replicas = ptr.To[int32](1) })},
		"default replicas: a PodDisruptionBudget": {endpoint: endpointFixture(), extra: []string{"PodDisruptionBudget/bank"}},
		"generated HMAC key": {endpoint: keysEndpoint(func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Replicas = ptr.To[int32](1) }),
			extra: []string{"Secret/bank-hmac"}},
		"referenced HMAC key: not the operator's": {endpoint: keysEndpoint(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.Replicas = ptr.To[int32](1)
			e.Spec.Auth.HMAC.SecretRef = &fulfillmentv1alpha1.LocalObjectReference{Name: "mine"}
		})},
		"SelfSigned TLS": {endpoint: certEndpoint(selfSignedTLS(), func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Replicas = ptr.To[int32](1) }),
			extra: []string{"ConfigMap/bank-ca-bundle", "Secret/bank-ca", "Secret/bank-tls"}},
		"cert-manager: the Certificate, not its Secret": {endpoint: certEndpoint(certManagerTLS(), func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Replicas = ptr.To[int32](1) }),
			extra: []string{"Certificate/bank"}},
	}
	gateway := GatewayWorkload(&fulfillmentv1alpha1.WebhookGateway{ObjectMeta: metav1.ObjectMeta{Namespace: "bots"},
		Spec: fulfillmentv1alpha1.WebhookGatewaySpec{Replicas: ptr.To[int32](1)}})
	tests["a gateway: its Secret of copies"] = struct {
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		extra    []string
	}{endpoint: gateway, extra: []string{"Secret/bank-secrets"}}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.endpoint.Name = "bank"
			want := slices.Sorted(slices.Values(append(slices.Clone(base), tc.extra...)))
			if got := names(tc.endpoint); !slices.Equal(got, want) {
				t.Errorf("OwnedNames = %v, want %v", got, want)
			}
		})
	}
}

func TestCandidateEndpointNames(t *testing.T) {
	tests := map[string][]string{
		"own":           {"own"},
		"own-config":    {"own-config", "own"},
		"own-hmac":      {"own-hmac", "own"},
		"own-ca-bundle": {"own-ca-bundle", "own"},
		"own-tls":       {"own-tls", "own"},
		"-config":       {"-config"},
	}
	for name, want := range tests {
		if got := candidateEndpointNames(name); !slices.Equal(got, want) {
			t.Errorf("candidateEndpointNames(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestReadyEventType(t *testing.T) {
	status := func(ready metav1.ConditionStatus, reason string, stalled bool) fulfillmentv1alpha1.WebhookEndpointStatus {
		s := fulfillmentv1alpha1.WebhookEndpointStatus{Conditions: []metav1.Condition{{Type: fulfillmentv1alpha1.ConditionReady, Status: ready, Reason: reason}}}
		if stalled {
			s.Conditions = append(s.Conditions, metav1.Condition{Type: fulfillmentv1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: reason})
		}
		return s
	}
	tests := map[string]struct {
		status fulfillmentv1alpha1.WebhookEndpointStatus
		want   string
	}{
		"ready":                    {status(metav1.ConditionTrue, fulfillmentv1alpha1.ReasonAvailable, false), corev1.EventTypeNormal},
		"not created yet":          {status(metav1.ConditionFalse, fulfillmentv1alpha1.ReasonDeploymentNotCreated, false), corev1.EventTypeNormal},
		"rolling out":              {status(metav1.ConditionFalse, fulfillmentv1alpha1.ReasonRollingOut, false), corev1.EventTypeNormal},
		"replicas starting":        {status(metav1.ConditionFalse, fulfillmentv1alpha1.ReasonReplicasUnavailable, false), corev1.EventTypeNormal},
		"a Secret awaited":         {status(metav1.ConditionFalse, fulfillmentv1alpha1.ReasonSecretNotFound, false), corev1.EventTypeNormal},
		"a certificate awaited":    {status(metav1.ConditionFalse, fulfillmentv1alpha1.ReasonCertificateNotReady, false), corev1.EventTypeNormal},
		"apply refused":            {status(metav1.ConditionFalse, fulfillmentv1alpha1.ReasonApplyFailed, false), corev1.EventTypeWarning},
		"reconcile failed":         {status(metav1.ConditionFalse, fulfillmentv1alpha1.ReasonReconcileFailed, false), corev1.EventTypeWarning},
		"object conflict":          {status(metav1.ConditionFalse, fulfillmentv1alpha1.ReasonObjectConflict, true), corev1.EventTypeWarning},
		"progress deadline":        {status(metav1.ConditionFalse, fulfillmentv1alpha1.ReasonProgressDeadlineExceeded, true), corev1.EventTypeWarning},
		"no Ready condition":       {fulfillmentv1alpha1.WebhookEndpointStatus{}, corev1.EventTypeNormal},
		"unknown, read failed":     {status(metav1.ConditionUnknown, fulfillmentv1alpha1.ReasonReadFailed, false), corev1.EventTypeNormal},
		"stalled, reference wrong": {status(metav1.ConditionFalse, fulfillmentv1alpha1.ReasonRefNotPermitted, true), corev1.EventTypeWarning},
	}
	for name, tc := range tests {
		if got := ReadyEventType(tc.status); got != tc.want {
			t.Errorf("%s: ReadyEventType = %s, want %s", name, got, tc.want)
		}
	}
}

func TestKeyEvent(t *testing.T) {
	tests := map[string]struct {
		state            KeyState
		wantType, reason string
		note             []string
	}{
		"nothing happened": {state: KeyState{}},
		"first key": {state: KeyState{Rotated: true, First: true}, wantType: corev1.EventTypeNormal, reason: "KeyGenerated",
			note: []string{"generated the HMAC key in Secret bank-hmac"}},
		"lost key": {state: KeyState{Rotated: true, Regenerated: true}, wantType: corev1.EventTypeWarning, reason: "KeyRegenerated",
			note: []string{"was lost", "The old key is gone", "bank-hmac"}},
		"scheduled rotation with a grace period": {
			state:    KeyState{Rotated: true, Annotations: map[string]string{AnnotationPreviousKeyExpiresAt: "2026-03-11T12:00:00Z"}},
			wantType: corev1.EventTypeNormal, reason: "KeyRotated", note: []string{"the previous key stays valid until 2026-03-11T12:00:00Z"}},
		"rotation without a grace period": {state: KeyState{Rotated: true}, wantType: corev1.EventTypeNormal, reason: "KeyRotated",
			note: []string{"the previous key is no longer accepted"}},
		"requested rotation": {state: KeyState{Rotated: true, Requested: true}, wantType: corev1.EventTypeNormal, reason: "KeyRotated",
			note: []string{"as requested", `"token-1"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			eventType, reason, note := KeyEvent(tc.state, "bank-hmac", "token-1")
			if eventType != tc.wantType || reason != tc.reason {
				t.Fatalf("KeyEvent = %s %s, want %s %s", eventType, reason, tc.wantType, tc.reason)
			}
			for _, want := range tc.note {
				if !strings.Contains(note, want) {
					t.Errorf("note %q does not contain %q", note, want)
				}
			}
		})
	}
}

func TestDesiredHMACKeysLostKeyAndStrayKeys(t *testing.T) {
	rotated := metav1.NewTime(keysNow.Add(-24 * time.Hour))
	tests := map[string]struct {
		endpoint           *fulfillmentv1alpha1.WebhookEndpoint
		existing           *corev1.Secret
		first, regenerated bool
		stray              []string
		wantData           []string
	}{
		"first key": {endpoint: keysEndpoint(), first: true, wantData: []string{hmackey.SecretKey}},
		"Secret deleted after a key was generated": {
			endpoint:    keysEndpoint(func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Status.LastKeyRotationTime = &rotated }),
			regenerated: true, wantData: []string{hmackey.SecretKey}},
		"Secret blanked": {endpoint: keysEndpoint(), existing: hmacSecret(map[string]string{hmackey.SecretKey: " "}),
			regenerated: true, wantData: []string{hmackey.SecretKey}},
		"keys added by hand": {endpoint: keysEndpoint(),
			existing: hmacSecret(map[string]string{hmackey.SecretKey: "k", "zeta": "z", "note": "n"}, AnnotationKeyRotatedAt, keyTime(keysNow)),
			stray:    []string{"note", "zeta"}, wantData: []string{hmackey.SecretKey}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			keys := &sequentialKeys{}
			state, err := DesiredHMACKeys(tc.endpoint, tc.existing, keysNow, "", keys.generate)
			if err != nil {
				t.Fatal(err)
			}
			if state.First != tc.first || state.Regenerated != tc.regenerated {
				t.Errorf("First, Regenerated = %v, %v; want %v, %v", state.First, state.Regenerated, tc.first, tc.regenerated)
			}
			if !slices.Equal(state.StrayKeys, tc.stray) {
				t.Errorf("StrayKeys = %v, want %v", state.StrayKeys, tc.stray)
			}
			if got := slices.Sorted(maps.Keys(state.Data)); !slices.Equal(got, tc.wantData) {
				t.Errorf("Data keys = %v, want %v", got, tc.wantData)
			}
		})
	}
}

// TestCheckOwnershipAsksTheAPIServerWhatTheCacheHasNotSeen: an object created a moment before the endpoint's
// first apply is not in the cache yet; the check reads it from the API server and reports the conflict rather
// than letting the apply take the object over.
func TestCheckOwnershipAsksTheAPIServerWhatTheCacheHasNotSeen(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	endpoint := endpointFixture(func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.UID = "endpoint-uid" })
	users := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: endpoint.Namespace, Name: endpoint.Name}}
	emptyCache := fake.NewClientBuilder().WithScheme(scheme).Build()
	apiServer := fake.NewClientBuilder().WithScheme(scheme).WithObjects(users).Build()

	r := &WebhookEndpointReconciler{Client: emptyCache, Cache: emptyCache, APIReader: apiServer}
	err := r.checkOwnership(context.Background(), endpoint)
	var conflict *conflictError
	if !errors.As(err, &conflict) || len(conflict.conflicts) != 1 || conflict.conflicts[0].Kind != "Service" {
		t.Fatalf("checkOwnership = %v, want a conflict naming the Service only the API server has", err)
	}

	r.APIReader = emptyCache
	if err := r.checkOwnership(context.Background(), endpoint); err != nil {
		t.Errorf("checkOwnership with nothing anywhere = %v, want nil", err)
	}
}

// TestAFailedOwnershipReadIsAReadFailure: the ownership check reads every object the endpoint writes; when such a
// read fails, the status says what was not read (Unknown, ReadFailed) and Ready keeps its verdict, as for any
// failed read, instead of Ready=False ReconcileFailed with a Warning.
func TestAFailedOwnershipReadIsAReadFailure(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	endpoint := endpointFixture(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.UID = "endpoint-uid"
		e.Spec.Auth.AllowUnauthenticated = true
		e.Status.ObservedGeneration = 1
		e.Status.Conditions = []metav1.Condition{{Type: fulfillmentv1alpha1.ConditionReady, Status: metav1.ConditionTrue,
			Reason: fulfillmentv1alpha1.ReasonAvailable, Message: "serving", ObservedGeneration: 1, LastTransitionTime: now}}
	})
	r, c, recorder := fakeReconciler(t, endpoint, interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if _, serviceAccount := obj.(*corev1.ServiceAccount); serviceAccount {
			return errors.New("injected: etcdserver: request timed out")
		}
		return c.Get(ctx, key, obj, opts...)
	}})
	r.Clock = clocktesting.NewFakeClock(now.Time)

	if _, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKeyFromObject(endpoint)}); err == nil {
		t.Fatal("Reconcile = nil, want the read error, retried with backoff")
	}
	got := &fulfillmentv1alpha1.WebhookEndpoint{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(endpoint), got); err != nil {
		t.Fatal(err)
	}
	if ready := EndpointReadyCondition(&got.Status); ready == nil || ready.Status != metav1.ConditionTrue || ready.Reason != fulfillmentv1alpha1.ReasonAvailable {
		t.Errorf("Ready = %+v, want the last verdict kept", ready)
	}
	reconciling := meta.FindStatusCondition(got.Status.Conditions, fulfillmentv1alpha1.ConditionReconciling)
	if reconciling == nil || reconciling.Reason != fulfillmentv1alpha1.ReasonReadFailed || !strings.Contains(reconciling.Message, "injected") {
		t.Errorf("Reconciling = %+v, want ReadFailed with the error", reconciling)
	}
	close(recorder.Events)
	for event := range recorder.Events {
		t.Errorf("recorded %q, want no event for a failed read", event)
	}
}

// fakeReconciler is an endpoint reconciler on a fake API server holding endpoint, whose requests go through
// funcs, with a recorder that keeps the events.
func fakeReconciler(t *testing.T, endpoint *fulfillmentv1alpha1.WebhookEndpoint, funcs interceptor.Funcs) (*WebhookEndpointReconciler, client.Client, *events.FakeRecorder) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := fulfillmentv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(endpoint).
		WithStatusSubresource(&fulfillmentv1alpha1.WebhookEndpoint{}).
		WithIndex(&fulfillmentv1alpha1.IntentRoute{}, IndexRouteEndpoint, func(obj client.Object) []string {
			return []string{obj.(*fulfillmentv1alpha1.IntentRoute).Spec.EndpointRef.Name}
		}).
		WithInterceptorFuncs(funcs).Build()
	recorder := events.NewFakeRecorder(10)
	return &WebhookEndpointReconciler{Client: c, Cache: c, APIReader: c, Recorder: recorder, Clock: clock.RealClock{}}, c, recorder
}
