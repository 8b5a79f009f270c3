package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
)

// WebhookEndpointReconciler turns a WebhookEndpoint and its accepted IntentRoutes into a running fulfillment
// Deployment and everything around it. It reads, applies and records; what to apply and which status to report
// are pure functions (webhookendpoint_resources.go, webhookendpoint_status.go, keys.go).
type WebhookEndpointReconciler struct {
	Client client.Client
	// APIReader reads the generated HMAC Secret's data directly: Secret values are never cached.
	APIReader client.Reader
	// Cache is the manager's cache: owned objects, HTTPRoutes and Certificates are compared with their cached
	// copy before an apply. Nil reads through Client.
	Cache    client.Reader
	Recorder events.EventRecorder
	// Image of the fulfillment pods.
	Image string
	Env   *expr.Env
	// Clock tells the time of key rotations, certificate renewals and condition transitions.
	Clock clock.PassiveClock

	// ignoredRotateKey remembers, per endpoint, the AnnotationRotateKey token last warned about on an endpoint
	// whose key the operator does not generate (types.NamespacedName -> warnedAbout), so that each token is
	// warned about once while the operator runs; there is no Secret of ours to record it on.
	ignoredRotateKey sync.Map
	// warnedInsecure remembers, per endpoint, the InsecureExposure message last warned about (a warnedAbout
	// with the message), so that each becomes one Warning.
	warnedInsecure sync.Map
	// RequireSecretLabel refuses Secrets without LabelSecretReference (--require-secret-reference-label).
	RequireSecretLabel bool
	// Secrets checks what the server reads in referenced Secrets (shared with the IntentRoute reconciler); nil
	// checks nothing.
	Secrets *SecretChecker
	// noGatewayAPI remembers that the Gateway API is not installed (see deleteHTTPRoute).
	noGatewayAPI atomic.Bool
	// PodReports reads which configuration each ready pod serves, so that the endpoint is Ready only on a
	// configuration its pods serve; nil confirms nothing (--confirm-pod-configuration=false).
	PodReports *PodReportReader
	// OperatorNamespace is where the operator runs (env POD_NAMESPACE), for the NetworkPolicies; "" when unknown.
	OperatorNamespace string
	// Concurrency is how many endpoints (and gateways) are reconciled at once; 1 when 0.
	Concurrency int
	// NamespacesUncached reads Namespaces from the API server (Options.NamespacesUncached).
	NamespacesUncached bool
}

// warnedAbout is what a Warning was recorded about (a rotate-key token, an InsecureExposure message) for one
// incarnation of an endpoint.
type warnedAbout struct {
	uid   types.UID
	value string
}

// stalledError is a problem only the user can fix: it sets Stalled=True and is not retried (a watch on the
// referenced objects brings the endpoint back when they change).
type stalledError struct {
	reason, message string
}

func (e *stalledError) Error() string { return e.message }

// Reconcile implements reconcile.Reconciler. It is a shell around the endpoint's steps (endpointSteps): read
// the endpoint, run the steps, turn the error that stopped them into status, and write the status once.
func (r *WebhookEndpointReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
	if err := r.Client.Get(ctx, req.NamespacedName, endpoint); err != nil {
		if apierrors.IsNotFound(err) {
			r.ignoredRotateKey.Delete(req.NamespacedName)
			r.warnedInsecure.Delete(req.NamespacedName)
			endpointMetrics.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !endpoint.DeletionTimestamp.IsZero() {
		endpointMetrics.forget(req.NamespacedName)
		return ctrl.Result{}, nil // owner references remove what the operator created
	}
	// In a namespace being deleted the garbage collector and the namespace controller are removing the
	// endpoint's objects: applying them again would be refused (403, the namespace is terminating) and only
	// churn the status and the events of an endpoint about to go.
	if terminating, err := r.namespaceTerminating(ctx, endpoint.Namespace); err != nil || terminating {
		return ctrl.Result{}, err
	}

	facts, requeueAfter, err := r.reconcileSteps(ctx, endpoint)
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return ctrl.Result{}, nil // the namespace started terminating after the check above
	}
	stalled := recordStepError(&facts, err)
	if statusErr := r.updateStatus(ctx, endpoint, facts); statusErr != nil {
		if isStaleRead(statusErr) {
			return ctrl.Result{RequeueAfter: staleReadRequeue}, nil
		}
		return ctrl.Result{}, errors.Join(err, statusErr)
	}
	endpointMetrics.observe(endpoint, r.Clock)
	switch {
	case stalled:
		return ctrl.Result{}, reconcile.TerminalError(err)
	case err != nil:
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: requeueAfter}, nil
}

// recordStepError records in facts the error that stopped a reconcile's steps (an endpoint's or a gateway's), so
// that the status says it, and tells whether only the user can fix it: such an error is not retried.
func recordStepError(facts *EndpointFacts, err error) (stalls bool) {
	var stalled *stalledError
	var refused *applyError
	var conflict *conflictError
	switch {
	case errors.As(err, &conflict):
		// Before *applyError: an apply stopped by the ownership check is wrapped as one.
		facts.StalledReason, facts.StalledMessage = fulfillmentv1alpha1.ReasonObjectConflict, conflict.Error()
		return true
	case errors.As(err, &stalled):
		facts.StalledReason, facts.StalledMessage = stalled.reason, stalled.message
		return true
	case errors.As(err, &refused):
		facts.ApplyError = refused.message()
	case err != nil && facts.ReadError == "":
		facts.ReconcileError = err.Error()
	}
	return false
}

// applyError is an apply the API server answered with an error: an admission webhook or policy refusing the
// object, a quota, a schema, or a transient failure. It is retried with backoff; the status says
// ApplyFailed with the API server's message, so the person who changed the spec sees why it is not served.
type applyError struct {
	err error
}

func (e *applyError) Error() string { return e.err.Error() }
func (e *applyError) Unwrap() error { return e.err }

// message is the API server's message with the object it was about.
func (e *applyError) message() string {
	return e.err.Error()
}

// applyStep applies obj (applyIfChanged), marking a failure as an applyError.
func (r *WebhookEndpointReconciler) applyStep(ctx context.Context, obj client.Object) error {
	if _, err := applyIfChanged(ctx, r.Client, r.cache(), obj); err != nil {
		var conflict *conflictError
		if errors.As(err, &conflict) {
			return err
		}
		return &applyError{err: err}
	}
	return nil
}

// namespaceTerminating tells whether the namespace is being deleted. It reads the Namespace's metadata from the
// manager's cache (a read from the API server on every reconcile was a request in twelve), or from the API
// server when the manager may not list Namespaces (NamespacesUncached).
func (r *WebhookEndpointReconciler) namespaceTerminating(ctx context.Context, name string) (bool, error) {
	namespace := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}}
	reader := r.cache()
	if r.NamespacesUncached {
		reader = r.APIReader
	}
	if err := reader.Get(ctx, types.NamespacedName{Name: name}, namespace); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return !namespace.DeletionTimestamp.IsZero(), nil
}

// acceptedRoutes are the endpoint's routes that pass acceptance (AcceptedRoutes, the same rules the
// IntentRoute controller reports), and how many do and do not.
func (r *WebhookEndpointReconciler) acceptedRoutes(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint) ([]fulfillmentv1alpha1.IntentRoute, fulfillmentv1alpha1.RouteCounts, error) {
	routes := &fulfillmentv1alpha1.IntentRouteList{}
	if err := r.Client.List(ctx, routes, client.InNamespace(endpoint.Namespace), client.MatchingFields{IndexRouteEndpoint: endpoint.Name}); err != nil {
		return nil, fulfillmentv1alpha1.RouteCounts{}, err
	}
	secrets, err := routesSecretFacts(ctx, r.Client, r.Secrets, routes.Items, r.RequireSecretLabel)
	if err != nil {
		return nil, fulfillmentv1alpha1.RouteCounts{}, err
	}
	set := AcceptedRoutes(r.Env, endpoint, routes.Items, func(route *fulfillmentv1alpha1.IntentRoute) RouteSecretFacts {
		return secrets[route.Name]
	})
	return set.Accepted, set.Counts, nil
}

// unusableSecrets are the referenced Secrets that do not exist, with RequireSecretLabel those that exist
// without LabelSecretReference, and, of the others, the keys the server reads for the endpoint that are missing
// or not in the format it needs (EndpointSecretRequirements; the accepted routes' header keys were checked by
// acceptance). The generated HMAC Secret is the operator's own and checked once reconciled.
func (r *WebhookEndpointReconciler) unusableSecrets(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint,
	routes []fulfillmentv1alpha1.IntentRoute) (missing, unlabelled []string, invalid []SecretKeyProblem, err error) {
	reqs := append(EndpointSecretRequirements(endpoint), TracingSecretRequirements(endpoint)...)
	names := append(ReferencedSecrets(endpoint, routes), tracingSecrets(endpoint)...)
	if tls := endpoint.Spec.TLS; tls != nil && tls.Mode == fulfillmentv1alpha1.TLSModeSecret {
		names = append(names, tls.SecretName)
	}
	generated := ""
	if hmac := endpoint.Spec.Auth.HMAC; hmac != nil && hmac.SecretRef == nil {
		generated = HMACSecretName(endpoint)
	}
	for _, name := range names {
		if name == generated {
			continue
		}
		use, problems, err := inspectSecret(ctx, r.Client, r.Secrets, endpoint.Namespace, name, r.RequireSecretLabel, requirementsOf(reqs, name))
		if err != nil {
			return nil, nil, nil, err
		}
		switch use {
		case secretMissing:
			missing = append(missing, name)
		case secretUnlabelled:
			unlabelled = append(unlabelled, name)
		}
		invalid = append(invalid, problems...)
	}
	return missing, unlabelled, invalid, nil
}

// reconcileHMACKeys creates and rotates the generated HMAC Secret.
func (r *WebhookEndpointReconciler) reconcileHMACKeys(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint) (KeyState, error) {
	existing, err := r.readSecret(ctx, endpoint.Namespace, HMACSecretName(endpoint))
	if err != nil {
		return KeyState{}, err
	}
	if existing != nil {
		if err := checkOwned(endpoint, "Secret", existing); err != nil {
			return KeyState{}, err
		}
	}
	if existing == nil && endpoint.Status.LastKeyRotationTime == nil {
		// A first key or a lost one (KeyRegenerated, a Warning): the status tells them apart, and the cached
		// endpoint may predate the status write that recorded the first key (the Secret's deletion can be seen
		// before it). Rare, so read it from the API server.
		fresh := &fulfillmentv1alpha1.WebhookEndpoint{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(endpoint), fresh); err != nil {
			return KeyState{}, fmt.Errorf("reading WebhookEndpoint %s: %w", endpoint.Name, err)
		}
		if fresh.UID == endpoint.UID && fresh.Status.LastKeyRotationTime != nil {
			endpoint = endpoint.DeepCopy()
			endpoint.Status.LastKeyRotationTime = fresh.Status.LastKeyRotationTime
		}
	}
	requested := endpoint.Annotations[AnnotationRotateKey]
	state, err := DesiredHMACKeys(endpoint, existing, r.Clock.Now(), requested, hmackey.Generate)
	if err != nil {
		return state, err
	}
	if len(state.StrayKeys) > 0 {
		// Server-side apply removes only fields the operator applied: keys added by hand (kubectl edit) belong
		// to another field manager, so they are removed with a merge patch, once.
		if err := r.removeStrayKeys(ctx, existing, state.StrayKeys); err != nil {
			return state, &applyError{err: err}
		}
		r.Recorder.Eventf(endpoint, nil, corev1.EventTypeNormal, "StrayKeysRemoved", "RemoveKeys",
			"removed keys %s from Secret %s: the operator owns the generated Secret, which holds only %q and %q",
			strings.Join(state.StrayKeys, ", "), existing.Name, hmackey.SecretKey, hmackey.PreviousSecretKey)
	}
	if existing != nil && equality.Semantic.DeepEqual(existing.Data, state.Data) && annotationsContain(existing.Annotations, state.Annotations) {
		return state, nil
	}
	secret := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name: HMACSecretName(endpoint), Namespace: endpoint.Namespace, Labels: Labels(endpoint), Annotations: state.Annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(endpoint, fulfillmentv1alpha1.GroupVersion.WithKind("WebhookEndpoint"))},
		},
		Type: corev1.SecretTypeOpaque,
		Data: state.Data,
	}
	if err := apply(ctx, r.Client, secret); err != nil {
		return state, &applyError{err: err}
	}
	if eventType, reason, note := KeyEvent(state, secret.Name, requested); reason != "" {
		r.Recorder.Eventf(endpoint, nil, eventType, reason, "RotateKey", "%s", note)
	}
	return state, nil
}

// removeStrayKeys deletes keys from the generated Secret with a JSON merge patch (a null removes a key),
// conditioned on the resourceVersion read, so that a concurrent change is read again instead of overwritten.
func (r *WebhookEndpointReconciler) removeStrayKeys(ctx context.Context, secret *corev1.Secret, keys []string) error {
	data := make(map[string]any, len(keys))
	for _, k := range keys {
		data[k] = nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": secret.ResourceVersion}, "data": data})
	if err != nil {
		return err
	}
	if err := r.Client.Patch(ctx, secret.DeepCopy(), client.RawPatch(types.MergePatchType, patch), client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("removing keys from Secret %s: %w", secret.Name, err)
	}
	for _, k := range keys {
		delete(secret.Data, k)
	}
	return nil
}

// warnIgnoredRotateKey records a Warning, once per token, when AnnotationRotateKey is set on an endpoint whose
// HMAC key the operator does not generate: nothing rotates, and the person who asked must know.
func (r *WebhookEndpointReconciler) warnIgnoredRotateKey(endpoint *fulfillmentv1alpha1.WebhookEndpoint) {
	token := endpoint.Annotations[AnnotationRotateKey]
	if token == "" {
		return
	}
	key := client.ObjectKeyFromObject(endpoint)
	warned := warnedAbout{uid: endpoint.UID, value: token}
	if previous, loaded := r.ignoredRotateKey.Swap(key, warned); loaded && previous.(warnedAbout) == warned {
		return
	}
	why := "spec.auth.hmac.secretRef is set; rotate the referenced Secret yourself"
	if endpoint.Spec.Auth.HMAC == nil {
		why = "the endpoint has no HMAC authentication (spec.auth.hmac)"
	}
	r.Recorder.Eventf(endpoint, nil, corev1.EventTypeWarning, "RotateKeyIgnored", "RotateKey", "%s ignored: %s", AnnotationRotateKey, why)
}

// warnInsecureExposure records a Warning each time the endpoint becomes reachable in plain HTTP (or reachable
// another plain way). What was warned about is remembered here rather than read from the status, which a
// reconcile may see before its own previous write.
func (r *WebhookEndpointReconciler) warnInsecureExposure(endpoint *fulfillmentv1alpha1.WebhookEndpoint, insecure *metav1.Condition) {
	key := client.ObjectKeyFromObject(endpoint)
	if insecure == nil || insecure.Status != metav1.ConditionTrue {
		r.warnedInsecure.Delete(key)
		return
	}
	warned := warnedAbout{uid: endpoint.UID, value: insecure.Message}
	if previous, loaded := r.warnedInsecure.Swap(key, warned); loaded && previous.(warnedAbout) == warned {
		return
	}
	r.Recorder.Eventf(endpoint, nil, corev1.EventTypeWarning, insecure.Type, "Reconcile", "%s", insecure.Message)
}

// warnQueueAtRisk records a Warning EventsAtRisk when QueueDurable turns False or its reason changes: the
// endpoint acknowledges events that a crash of its Redis can lose.
func (r *WebhookEndpointReconciler) warnQueueAtRisk(endpoint *fulfillmentv1alpha1.WebhookEndpoint, before, after *metav1.Condition) {
	if after == nil || after.Status != metav1.ConditionFalse {
		return
	}
	if before != nil && before.Status == after.Status && before.Reason == after.Reason {
		return
	}
	r.Recorder.Eventf(endpoint, nil, corev1.EventTypeWarning, fulfillmentv1alpha1.ReasonEventsAtRisk, "Reconcile", "%s", after.Message)
}

// suspend scales the Deployment to zero and changes nothing else.
func (r *WebhookEndpointReconciler) suspend(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint, deployment *appsv1.Deployment) error {
	if deployment == nil || (deployment.Spec.Replicas != nil && *deployment.Spec.Replicas == 0) {
		return nil
	}
	patch := client.MergeFrom(deployment.DeepCopy())
	zero := int32(0)
	deployment.Spec.Replicas = &zero
	if err := r.Client.Patch(ctx, deployment, patch); err != nil {
		return fmt.Errorf("scaling the suspended endpoint to zero: %w", err)
	}
	r.Recorder.Eventf(endpoint, nil, corev1.EventTypeNormal, "Suspended", "Suspend", "scaled Deployment %s to zero", deployment.Name)
	return nil
}

// deleteHTTPRoute deletes the endpoint's HTTPRoute once spec.httpRoute is removed. The read goes through the
// cache (an informer on HTTPRoutes starts with the first one). Without the Gateway API there is nothing to
// delete, and asking again would cost a discovery request on every reconcile: that answer is remembered until
// an HTTPRoute is applied, the only way one of ours can come to exist.
func (r *WebhookEndpointReconciler) deleteHTTPRoute(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint) error {
	if r.noGatewayAPI.Load() {
		return nil
	}
	route := &unstructured.Unstructured{}
	route.SetAPIVersion("gateway.networking.k8s.io/v1")
	route.SetKind("HTTPRoute")
	route.SetNamespace(endpoint.Namespace)
	route.SetName(endpoint.Name)
	err := deleteUnwanted(ctx, r.Client, r.cache(), route, endpoint)
	if meta.IsNoMatchError(err) {
		r.noGatewayAPI.Store(true)
		return nil
	}
	return err
}

// readGateways reads the listeners of the Gateways the endpoint's HTTPRoute attaches to. A Gateway that cannot
// be read is recorded with why, not an error: it only makes InsecureExposure Unknown.
func (r *WebhookEndpointReconciler) readGateways(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint) GatewayFacts {
	facts := GatewayFacts{Listeners: map[string][]GatewayListener{}, Unread: map[string]string{}}
	for _, key := range GatewayParents(endpoint) {
		namespace, name, _ := strings.Cut(key, "/")
		gateway := &unstructured.Unstructured{}
		gateway.SetAPIVersion("gateway.networking.k8s.io/v1")
		gateway.SetKind("Gateway")
		err := r.Client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, gateway)
		switch {
		case meta.IsNoMatchError(err):
			facts.Unread[key] = "the Gateway API is not installed"
		case apierrors.IsNotFound(err):
			facts.Unread[key] = "not found"
		case err != nil:
			facts.Unread[key] = "reading it failed: " + err.Error()
		default:
			facts.Listeners[key] = gatewayListeners(gateway)
		}
	}
	return facts
}

// gatewayListeners are the listeners of a Gateway read as unstructured (the Gateway API is optional).
func gatewayListeners(gateway *unstructured.Unstructured) []GatewayListener {
	items, _, _ := unstructured.NestedSlice(gateway.Object, "spec", "listeners")
	listeners := make([]GatewayListener, 0, len(items))
	for _, item := range items {
		fields, ok := item.(map[string]any)
		if !ok {
			continue
		}
		name, _, _ := unstructured.NestedString(fields, "name")
		protocol, _, _ := unstructured.NestedString(fields, "protocol")
		port, _, _ := unstructured.NestedInt64(fields, "port")
		hostname, _, _ := unstructured.NestedString(fields, "hostname")
		listeners = append(listeners, GatewayListener{Name: name, Protocol: protocol, Port: int32(port), Hostname: hostname})
	}
	return listeners
}

// cache is where applyIfChanged and deleteUnwanted read: the manager's cache, which also serves unstructured
// objects (the client reads those from the API server), else the client.
func (r *WebhookEndpointReconciler) cache() client.Reader {
	if r.Cache != nil {
		return r.Cache
	}
	return r.Client
}

// updateStatus writes the status when it changed, and records the transitions a person cares about. The
// transitions are found against the status the reconcile read, so the write is conditioned on that read
// (applyStatus): a stale copy gets a conflict rather than a second write and a second event.
func (r *WebhookEndpointReconciler) updateStatus(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint, facts EndpointFacts) error {
	status := ComputeEndpointStatus(endpoint, facts, metav1.NewTime(r.Clock.Now()))
	if equality.Semantic.DeepEqual(status, endpoint.Status) {
		return nil
	}
	previous := endpoint.Status.DeepCopy()
	before := func(conditionType string) *metav1.Condition {
		return meta.FindStatusCondition(previous.Conditions, conditionType)
	}
	if err := applyStatus(ctx, r.Client, endpoint, &status); err != nil {
		return err
	}
	endpoint.Status = status
	r.announceReady(endpoint, before(fulfillmentv1alpha1.ConditionReady), status.Conditions)
	r.warnInsecureExposure(endpoint, meta.FindStatusCondition(status.Conditions, fulfillmentv1alpha1.ConditionInsecureExposure))
	r.warnQueueAtRisk(endpoint, before(fulfillmentv1alpha1.ConditionQueueDurable), meta.FindStatusCondition(status.Conditions, fulfillmentv1alpha1.ConditionQueueDurable))
	log.FromContext(ctx).V(1).Info("status updated", "ready", meta.FindStatusCondition(status.Conditions, fulfillmentv1alpha1.ConditionReady))
	return nil
}

// announceReady records an event on an endpoint or a gateway when Ready changed status or reason from before to
// what conditions hold now: a Warning only when a person must act (readyEventType), so teams can alert on them.
func (r *WebhookEndpointReconciler) announceReady(object runtime.Object, before *metav1.Condition, conditions []metav1.Condition) {
	after := meta.FindStatusCondition(conditions, fulfillmentv1alpha1.ConditionReady)
	if after == nil || (before != nil && before.Status == after.Status && before.Reason == after.Reason) {
		return
	}
	r.Recorder.Eventf(object, nil, readyEventType(conditions), after.Reason, "Reconcile", "%s", after.Message)
}

// SetupWithManager registers the controller: the endpoint (spec changes only), the objects it owns, its
// routes, and the Secrets it references (metadata only, mapped back through an index). HTTPRoutes and
// cert-manager Certificates are watched by name like the other kinds it writes once their CRDs exist, at start
// or later (optionalWatches).
func (r *WebhookEndpointReconciler) SetupWithManager(mgr ctrl.Manager) error {
	byName := handler.EnqueueRequestsFromMapFunc(r.endpointsNamedAfter)
	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&fulfillmentv1alpha1.WebhookEndpoint{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, rotateKeyChanged))).
		// The owned kinds are mapped by name rather than with Owns(), which maps only objects the endpoint
		// controls: an object of someone else's with the endpoint's name stalls it (ObjectConflict), and its
		// deletion or renaming must bring the endpoint back. The endpoint's own objects carry its name too.
		Watches(&appsv1.Deployment{}, byName).
		Watches(&appsv1.StatefulSet{}, byName).
		Watches(&corev1.Service{}, byName).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.configMapToEndpoints)).
		Watches(&corev1.ServiceAccount{}, byName).
		Watches(&policyv1.PodDisruptionBudget{}, byName).
		Watches(&autoscalingv2.HorizontalPodAutoscaler{}, byName).
		Watches(&networkingv1.NetworkPolicy{}, byName).
		Watches(&networkingv1.Ingress{}, byName).
		Watches(&fulfillmentv1alpha1.IntentRoute{}, handler.EnqueueRequestsFromMapFunc(routeToEndpoint),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.secretToEndpoints), builder.OnlyMetadata).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(podToEndpoint), builder.WithPredicates(podServingChanged)).
		// An endpoint on a gateway is served once the gateway's status says its pods serve its configuration, and
		// a path conflict resolves when the older endpoint leaves the path.
		Watches(&fulfillmentv1alpha1.WebhookGateway{}, r.gatewayEvents()).
		Watches(&fulfillmentv1alpha1.WebhookEndpoint{}, mapOldAndNew(r.endpointsOnSamePath),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("webhookendpoint").
		WithOptions(controller.Options{RateLimiter: retryLimiter(), MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Build(r)
	if err != nil {
		return err
	}
	return mgr.Add(newOptionalWatches(c, mgr.GetCache(), mgr.GetRESTMapper(), r.endpointsNamedAfter))
}

// rotateKeyChanged lets a change of the endpoint's AnnotationRotateKey through: it is metadata, which
// GenerationChangedPredicate ignores.
var rotateKeyChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetAnnotations()[AnnotationRotateKey] != e.ObjectNew.GetAnnotations()[AnnotationRotateKey]
	},
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// podToEndpoint maps a fulfillment pod to its endpoint.
func podToEndpoint(_ context.Context, obj client.Object) []reconcile.Request {
	name := obj.GetLabels()[LabelEndpoint]
	if name == "" || obj.GetLabels()[LabelManagedBy] != FieldOwner {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}}}
}

// podServingChanged lets through the pod changes that change which pods serve: created, deleted, ready or
// not, an address, terminating.
var podServingChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		before, okBefore := e.ObjectOld.(*corev1.Pod)
		after, okAfter := e.ObjectNew.(*corev1.Pod)
		if !okBefore || !okAfter {
			return true
		}
		return podReady(before) != podReady(after) || before.Status.PodIP != after.Status.PodIP ||
			(before.DeletionTimestamp == nil) != (after.DeletionTimestamp == nil)
	},
}

// routeToEndpoint maps a route to its endpoint: a route change re-renders only that endpoint.
func routeToEndpoint(_ context.Context, obj client.Object) []reconcile.Request {
	route := obj.(*fulfillmentv1alpha1.IntentRoute)
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: route.Namespace, Name: route.Spec.EndpointRef.Name}}}
}

// configMapToEndpoints maps a ConfigMap to the endpoint it is named after (the ones the operator writes) and to
// the endpoints whose routes read it (a CA bundle).
func (r *WebhookEndpointReconciler) configMapToEndpoints(ctx context.Context, obj client.Object) []reconcile.Request {
	requests := r.endpointsNamedAfter(ctx, obj)
	// A gateway's ConfigMap lists the configurations it serves: its endpoints waiting for theirs look again,
	// whichever of it and the gateway's status reaches the cache first.
	if owner := metav1.GetControllerOfNoCopy(obj); owner != nil && owner.Kind == gatewayGVK.Kind {
		gateway := &fulfillmentv1alpha1.WebhookGateway{ObjectMeta: metav1.ObjectMeta{Namespace: obj.GetNamespace(), Name: owner.Name}}
		requests = append(requests, r.membersNotListed(ctx, gateway, obj)...)
	}
	routes := &fulfillmentv1alpha1.IntentRouteList{}
	if err := r.Client.List(ctx, routes, client.InNamespace(obj.GetNamespace()), client.MatchingFields{IndexRouteConfigMaps: obj.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "mapping a ConfigMap to the IntentRoutes that read it", "configMap", client.ObjectKeyFromObject(obj))
		return requests
	}
	for _, route := range routes.Items {
		key := types.NamespacedName{Namespace: route.Namespace, Name: route.Spec.EndpointRef.Name}
		if !slices.ContainsFunc(requests, func(r reconcile.Request) bool { return r.NamespacedName == key }) {
			requests = append(requests, reconcile.Request{NamespacedName: key})
		}
	}
	return requests
}

// secretToEndpoints maps a Secret to the endpoints that read it, directly or through their routes, and to the
// endpoint that owns it (the generated HMAC Secret).
func (r *WebhookEndpointReconciler) secretToEndpoints(ctx context.Context, obj client.Object) []reconcile.Request {
	names := map[string]bool{}
	endpoints := &fulfillmentv1alpha1.WebhookEndpointList{}
	// A List error here loses this event's mapping (a cached List fails only on a missing index or a cache
	// not started): it is logged, and the endpoints' next reconcile reads the Secret again.
	if err := r.Client.List(ctx, endpoints, client.InNamespace(obj.GetNamespace()), client.MatchingFields{IndexEndpointSecrets: obj.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "mapping a Secret to its WebhookEndpoints", "secret", client.ObjectKeyFromObject(obj))
	} else {
		for _, e := range endpoints.Items {
			names[e.Name] = true
		}
	}
	routes := &fulfillmentv1alpha1.IntentRouteList{}
	if err := r.Client.List(ctx, routes, client.InNamespace(obj.GetNamespace()), client.MatchingFields{IndexRouteSecrets: obj.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "mapping a Secret to the IntentRoutes that read it", "secret", client.ObjectKeyFromObject(obj))
	} else {
		for _, route := range routes.Items {
			names[route.Spec.EndpointRef.Name] = true
		}
	}
	// The generated Secrets, the endpoint's or one of the same name that stalls it (ObjectConflict).
	for _, request := range r.endpointsNamedAfter(ctx, obj) {
		names[request.Name] = true
	}
	requests := make([]reconcile.Request, 0, len(names))
	for name := range names {
		requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}})
	}
	return requests
}

// serviceURL is the endpoint's URL inside the cluster.
func serviceURL(endpoint *fulfillmentv1alpha1.WebhookEndpoint) string {
	scheme := "http"
	if tlsEnabled(endpoint) {
		scheme = "https"
	}
	port := servicePort(endpoint)
	path := endpoint.Spec.Path
	if path == "" {
		path = "/webhook"
	}
	return fmt.Sprintf("%s://%s.%s.svc:%d%s", scheme, endpoint.Name, endpoint.Namespace, port, path)
}

func annotationsContain(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// nilIfNil turns a typed nil pointer into a nil client.Object, so that "not wanted" can be checked with == nil.
func nilIfNil[T any, P interface {
	*T
	client.Object
}](obj P) client.Object {
	if obj == nil {
		return nil
	}
	return obj
}
