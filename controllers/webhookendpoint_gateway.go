package controllers

// An endpoint with spec.gatewayRef is served by its gateway's pods. Its reconciler checks and renders it as
// for pods of its own, writes the result to its ConfigMap with LabelGateway (the gateway serves the endpoints
// whose ConfigMaps carry its name), and removes its own pods and Service only once the gateway's pods serve
// it. Leaving a gateway is the same in reverse: the label stays until the endpoint's own pods serve it. So
// neither move has a moment when nothing serves the endpoint.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

// AnnotationGatewayRefused on a gateway's ConfigMap lists the endpoints left out because the configuration
// would not fit with them (comma-separated): they are told, instead of waiting.
const AnnotationGatewayRefused = "fulfillment.dev/refused"

// GatewayMembership is what an endpoint on a gateway observed of it.
type GatewayMembership struct {
	// Name of the gateway.
	Name string
	// Served: the gateway's pods serve the endpoint's current configuration.
	Served bool
	// Suspended: the endpoint is left out of the gateway (spec.suspend).
	Suspended bool
	// ReadyReplicas and Replicas of the gateway's Deployment.
	ReadyReplicas, Replicas int32
	// Waiting says what serving waits for.
	Waiting string
}

// gatewaySteps are the steps of an endpoint on a gateway: the checks of endpointSteps, then joinGateway instead
// of the pods' objects.
func (r *WebhookEndpointReconciler) gatewaySteps() []endpointStep {
	return []endpointStep{
		{"read routes", r.readRoutes},
		{"read workloads", r.readWorkloads},
		{"check ownership", r.checkOwnershipStep},
		{"read secrets", r.readSecrets},
		{"check secrets", r.checkSecrets},
		{"check expressions", r.checkExpressions},
		{"reconcile keys", r.reconcileKeysStep},
		{"render configuration", r.renderMemberConfiguration},
		{"join gateway", r.joinGateway},
	}
}

// renderMemberConfiguration renders the endpoint's configuration as for pods of its own, with no pods to drain.
func (r *WebhookEndpointReconciler) renderMemberConfiguration(_ context.Context, rec *endpointReconcile) error {
	data, hash, err := RenderConfig(rec.endpoint, rec.accepted, nil)
	if err != nil {
		return &stalledError{reason: fulfillmentv1alpha1.ReasonInvalidConfiguration, message: "rendering the configuration: " + err.Error()}
	}
	rec.config, rec.configHash = data, hash
	return nil
}

// joinGateway writes the endpoint's configuration for its gateway and, once the gateway's pods serve it,
// removes the endpoint's own pods and Service (from before it moved to the gateway).
func (r *WebhookEndpointReconciler) joinGateway(ctx context.Context, rec *endpointReconcile) error {
	endpoint := rec.endpoint
	membership := &GatewayMembership{Name: endpoint.Spec.GatewayRef.Name, Suspended: endpoint.Spec.Suspend}
	rec.facts.SharedGateway = membership
	gateway := &fulfillmentv1alpha1.WebhookGateway{}
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: endpoint.Namespace, Name: membership.Name}, gateway); err != nil {
		if !apierrors.IsNotFound(err) {
			return rec.readFailed("WebhookGateway "+membership.Name, err)
		}
		rec.facts.SharedGateway = nil
		return gatewayNotFound(endpoint) // its own pods, if it still has them, keep serving
	}
	rec.facts.ServiceURL = GatewayURL(gateway) + endpointPath(endpoint)
	membership.ReadyReplicas, membership.Replicas = gateway.Status.ReadyReplicas, gateway.Status.Replicas

	conflict, err := r.pathConflict(ctx, endpoint)
	if err != nil {
		return rec.readFailed("the endpoints of WebhookGateway "+membership.Name, err)
	}
	configMap := DesiredConfigMap(endpoint, rec.config, rec.configHash)
	if conflict == "" && !endpoint.Spec.Suspend {
		joinConfigMap(configMap, endpoint, membership.Name)
	}
	if err := r.applyStep(ctx, configMap); err != nil {
		return err
	}
	rec.facts.ConfigHash = rec.configHash
	if conflict != "" {
		return &stalledError{reason: fulfillmentv1alpha1.ReasonPathConflict, message: conflict}
	}
	if endpoint.Spec.Suspend {
		rec.facts.Applied = true
		return nil
	}

	gatewayConfig, err := r.gatewayConfigMap(ctx, gateway)
	if err != nil {
		return rec.readFailed("the configuration of WebhookGateway "+membership.Name, err)
	}
	if slices.Contains(strings.Split(gatewayConfig.Annotations[AnnotationGatewayRefused], ","), endpoint.Name) {
		return &stalledError{reason: fulfillmentv1alpha1.ReasonGatewayFull, message: fmt.Sprintf(
			"WebhookGateway %s cannot hold this endpoint: its configuration would exceed the %d bytes a ConfigMap holds; "+
				"put the endpoint on another gateway, or remove gatewayRef", membership.Name, MaxConfigBytes)}
	}
	membership.Served = gatewayServes(gateway, gatewayConfig, endpoint.Name, rec.configHash, false) ||
		stillServed(endpoint, gatewayConfig, rec.configHash)
	if !membership.Served {
		membership.Waiting = fmt.Sprintf("waiting for the pods of WebhookGateway %s to serve configuration %s", membership.Name, shortHash(rec.configHash))
		rec.facts.Applied = true
		rec.requeue(gatewayLoadingRecheck)
		return nil
	}
	r.readGatewayQueues(ctx, rec, gateway)
	if err := r.removeOwnWorkload(ctx, endpoint); err != nil {
		return err
	}
	if err := r.keepServiceAsAlias(ctx, endpoint, membership.Name); err != nil {
		return err
	}
	rec.facts.Applied = true
	return nil
}

// keepServiceAsAlias points the Service an endpoint had before it moved to its gateway at the gateway's pods,
// so that callers still using the endpoint's former URL are answered. An endpoint that never had pods of its
// own gets no Service, and one whose Service was deleted does not get it back.
func (r *WebhookEndpointReconciler) keepServiceAsAlias(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint, gateway string) error {
	existing := &corev1.Service{}
	if err := r.cache().Get(ctx, types.NamespacedName{Namespace: endpoint.Namespace, Name: endpoint.Name}, existing); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(existing, endpoint) {
		return nil
	}
	return r.applyStep(ctx, aliasService(endpoint, gateway))
}

// aliasService is the endpoint's Service selecting the pods of its gateway.
func aliasService(endpoint *fulfillmentv1alpha1.WebhookEndpoint, gateway string) *corev1.Service {
	service := DesiredService(endpoint)
	service.Spec.Selector = gatewaySelector(gateway)
	return service
}

// gatewaySelector selects the pods of the gateway named name (SelectorLabels of its GatewayWorkload).
func gatewaySelector(name string) map[string]string {
	return SelectorLabels(&fulfillmentv1alpha1.WebhookEndpoint{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

// gatewayConfigMap reads a gateway's ConfigMap from the cache; an empty one when it is not created yet.
func (r *WebhookEndpointReconciler) gatewayConfigMap(ctx context.Context, gateway *fulfillmentv1alpha1.WebhookGateway) (*corev1.ConfigMap, error) {
	configMap := &corev1.ConfigMap{}
	err := r.cache().Get(ctx, types.NamespacedName{Namespace: gateway.Namespace, Name: ConfigMapName(GatewayWorkload(gateway))}, configMap)
	if apierrors.IsNotFound(err) {
		return &corev1.ConfigMap{}, nil
	}
	return configMap, err
}

// stillServed tells whether an endpoint the gateway's pods were confirmed to serve at hash (its Ready condition
// says so) still is while they load a configuration changed for another endpoint: the configuration they load
// lists the endpoint at the same hash, so the one they serve, and the one they will, both hold it. Without it,
// every endpoint of a gateway would flip to GatewayLoading whenever another one joins or changes.
func stillServed(endpoint *fulfillmentv1alpha1.WebhookEndpoint, gatewayConfig *corev1.ConfigMap, hash string) bool {
	ready := meta.FindStatusCondition(endpoint.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
	return ready != nil && ready.Status == metav1.ConditionTrue && ready.Reason == fulfillmentv1alpha1.ReasonGatewayServing &&
		endpoint.Status.ConfigHash == hash && ServesMember(gatewayConfig.Annotations[AnnotationGatewayMembers], endpoint.Name, hash, false)
}

// gatewayServes tells whether every ready pod of the gateway serves the configuration of its ConfigMap, and that
// configuration lists the endpoint at hash (leaving or not).
func gatewayServes(gateway *fulfillmentv1alpha1.WebhookGateway, configMap *corev1.ConfigMap, name, hash string, leaving bool) bool {
	served := gateway.Status.ServedConfigHash
	return served != "" && configMap.Annotations[AnnotationConfigHash] == served &&
		ServesMember(configMap.Annotations[AnnotationGatewayMembers], name, hash, leaving)
}

// leaveGateway decides, for an endpoint whose own pods serve it again, how long its former gateway keeps
// serving it: as leaving (each answer closing its connection) until its pods have served it so for
// configfile.IdleTimeout, so that a caller's kept-alive connection to the gateway is closed before the endpoint
// is gone from it. It marks configMap (the endpoint's own, about to be applied) accordingly and returns when to
// look again; 0 once the gateway may let go.
func (r *WebhookEndpointReconciler) leaveGateway(ctx context.Context, rec *endpointReconcile, existing, configMap *corev1.ConfigMap) (time.Duration, error) {
	endpoint, name := rec.endpoint, existing.Labels[LabelGateway]
	gateway := &fulfillmentv1alpha1.WebhookGateway{}
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: endpoint.Namespace, Name: name}, gateway); err != nil {
		return 0, client.IgnoreNotFound(err) // no gateway serves it any more
	}
	gatewayConfig, err := r.gatewayConfigMap(ctx, gateway)
	if err != nil {
		return 0, err
	}
	joinConfigMap(configMap, endpoint, name)
	configMap.Annotations[AnnotationLeaving] = "true"
	// Once served as leaving, the gateway closes the connections it answers for the endpoint whatever the
	// endpoint's later edits: the time is kept across them.
	servedSince, err := time.Parse(time.RFC3339, existing.Annotations[AnnotationLeavingServed])
	switch {
	case err == nil:
		configMap.Annotations[AnnotationLeavingServed] = existing.Annotations[AnnotationLeavingServed]
	case !gatewayServes(gateway, gatewayConfig, endpoint.Name, rec.configHash, true):
		return configurationLoadingRecheck, nil
	default:
		servedSince = r.Clock.Now()
		configMap.Annotations[AnnotationLeavingServed] = servedSince.UTC().Format(time.RFC3339)
	}
	now := r.Clock.Now()
	if left := configfile.IdleTimeout + time.Second - now.Sub(servedSince); left > 0 {
		return left, nil
	}
	// Let go: the ConfigMap is the endpoint's alone again.
	delete(configMap.Labels, LabelGateway)
	for _, key := range []string{AnnotationLeaving, AnnotationLeavingServed, AnnotationEndpointCreated} {
		delete(configMap.Annotations, key)
	}
	return 0, nil
}

// joinConfigMap marks an endpoint's ConfigMap as one the gateway serves.
func joinConfigMap(configMap *corev1.ConfigMap, endpoint *fulfillmentv1alpha1.WebhookEndpoint, gateway string) {
	configMap.Labels[LabelGateway] = gateway
	configMap.Annotations[AnnotationEndpointCreated] = endpoint.CreationTimestamp.UTC().Format(time.RFC3339)
}

// pathConflict is why the endpoint may not have its path on its gateway (an older endpoint of the gateway has
// it), "" when it may.
func (r *WebhookEndpointReconciler) pathConflict(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint) (string, error) {
	same := &fulfillmentv1alpha1.WebhookEndpointList{}
	if err := r.Client.List(ctx, same, client.InNamespace(endpoint.Namespace), client.MatchingFields{IndexEndpointGatewayPath: gatewayPathKey(endpoint)}); err != nil {
		return "", err
	}
	claims := []PathClaim{{Name: endpoint.Name, Created: endpoint.CreationTimestamp.Time, Path: endpointPath(endpoint)}}
	for i := range same.Items {
		if other := &same.Items[i]; other.Name != endpoint.Name && other.DeletionTimestamp.IsZero() {
			claims = append(claims, PathClaim{Name: other.Name, Created: other.CreationTimestamp.Time, Path: endpointPath(other)})
		}
	}
	winner, lost := PathWinners(claims)[endpoint.Name]
	if !lost {
		return "", nil
	}
	return fmt.Sprintf("path %s of WebhookGateway %s belongs to the older endpoint %s: choose another spec.path, or another gateway",
		endpointPath(endpoint), endpoint.Spec.GatewayRef.Name, winner), nil
}

// gatewayPathKey is the gateway and path an endpoint claims, "" when it is not on a gateway or suspended.
func gatewayPathKey(endpoint *fulfillmentv1alpha1.WebhookEndpoint) string {
	if endpoint.Spec.GatewayRef == nil || endpoint.Spec.Suspend {
		return ""
	}
	return endpoint.Spec.GatewayRef.Name + " " + endpointPath(endpoint)
}

// removeOwnWorkload deletes the pods' objects the endpoint had before it moved to a gateway, but its Service
// (keepServiceAsAlias). Only objects it controls are deleted (deleteUnwanted).
func (r *WebhookEndpointReconciler) removeOwnWorkload(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint) error {
	for _, obj := range []client.Object{&appsv1.Deployment{}, &appsv1.StatefulSet{}, &policyv1.PodDisruptionBudget{},
		&autoscalingv2.HorizontalPodAutoscaler{}, &networkingv1.Ingress{}, &networkingv1.NetworkPolicy{}, &corev1.ServiceAccount{}} {
		obj.SetNamespace(endpoint.Namespace)
		obj.SetName(endpoint.Name)
		if err := deleteUnwanted(ctx, r.Client, r.cache(), obj, endpoint); err != nil {
			return err
		}
	}
	return r.deleteHTTPRoute(ctx, endpoint)
}

// readGatewayQueues reads, for an Async endpoint on a gateway, the reports of the gateway's pods, which deliver
// its queue: status.queue and QueueDurable come from them as from an endpoint's own pods, and are read again
// every queuedRecheck. A Sync endpoint has no queue, and its reconcile asks no pod.
func (r *WebhookEndpointReconciler) readGatewayQueues(ctx context.Context, rec *endpointReconcile, gateway *fulfillmentv1alpha1.WebhookGateway) {
	delivery := rec.endpoint.Spec.Delivery
	if r.PodReports == nil || delivery == nil || delivery.Mode != fulfillmentv1alpha1.DeliveryAsync {
		return
	}
	pods, err := runningPods(ctx, r.cache(), GatewayWorkload(gateway))
	if err != nil {
		log.FromContext(ctx).Error(err, "listing the pods of the endpoint's WebhookGateway")
		return
	}
	rec.facts.QueueReports, rec.facts.QueueReportsRead = r.PodReports.Read(ctx, pods), true
	rec.requeue(queuedRecheck)
}

// leavingGateway tells whether an endpoint without gatewayRef must stay in its former gateway's configuration:
// its ConfigMap still names a gateway, and its own pods do not serve its configuration yet.
func leavingGateway(existing *corev1.ConfigMap, rec *endpointReconcile) bool {
	if existing == nil || existing.Labels[LabelGateway] == "" {
		return false
	}
	if !deploymentCheck(rec.endpoint, rec.facts.Deployment).ok {
		return true
	}
	// As for Ready: with no ready pod to ask, the Deployment's availability is all there is to go by.
	check := configurationCheck(rec.configHash, rec.facts.PodReports)
	return rec.facts.PodsRead && check.reason != "" && !check.ok
}

// gatewayCheck is DeploymentAvailable of an endpoint on a gateway: the gateway's pods serve it.
func gatewayCheck(endpoint *fulfillmentv1alpha1.WebhookEndpoint, m *GatewayMembership) endpointCheck {
	switch {
	case m == nil:
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonGatewayLoading, message: fmt.Sprintf(
			"waiting to join WebhookGateway %s", endpoint.Spec.GatewayRef.Name)}
	case m.Suspended:
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonSuspended, idle: true, message: fmt.Sprintf(
			"spec.suspend is true: left out of WebhookGateway %s", m.Name)}
	case !m.Served:
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonGatewayLoading, message: m.Waiting}
	}
	return endpointCheck{ok: true, reason: fulfillmentv1alpha1.ReasonGatewayServing, message: fmt.Sprintf(
		"served by WebhookGateway %s, %d/%d replicas ready", m.Name, m.ReadyReplicas, m.Replicas)}
}

// endpointsOnGateway maps a gateway to the endpoints that name it.
func (r *WebhookEndpointReconciler) endpointsOnGateway(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.membersOf(ctx, obj, func(*fulfillmentv1alpha1.WebhookEndpoint) bool { return true })
}

// waitingOnGateway maps a gateway to the endpoints that name it and whose status does not say that it serves
// their configuration as its ConfigMap lists it: those waiting for it, and those edited since their status was
// written (a route's edit changes the configuration, not the endpoint's generation).
func (r *WebhookEndpointReconciler) waitingOnGateway(ctx context.Context, obj client.Object) []reconcile.Request {
	gateway, ok := obj.(*fulfillmentv1alpha1.WebhookGateway)
	if !ok {
		return nil
	}
	configMap, err := r.gatewayConfigMap(ctx, gateway)
	if err != nil {
		return r.endpointsOnGateway(ctx, obj)
	}
	return r.membersNotListed(ctx, gateway, configMap)
}

// membersNotListed are the endpoints of gateway whose status does not say that the gateway serves their
// configuration as its ConfigMap lists it.
func (r *WebhookEndpointReconciler) membersNotListed(ctx context.Context, gateway, configMap client.Object) []reconcile.Request {
	listed := map[string]bool{}
	for _, key := range strings.Split(configMap.GetAnnotations()[AnnotationGatewayMembers], ",") {
		listed[key] = true
	}
	return r.membersOf(ctx, gateway, func(e *fulfillmentv1alpha1.WebhookEndpoint) bool {
		return !servedByGateway(e) || !listed[memberKey(e.Name, e.Status.ConfigHash, false)]
	})
}

func (r *WebhookEndpointReconciler) membersOf(ctx context.Context, obj client.Object, keep func(*fulfillmentv1alpha1.WebhookEndpoint) bool) []reconcile.Request {
	endpoints := &fulfillmentv1alpha1.WebhookEndpointList{}
	if err := r.Client.List(ctx, endpoints, client.InNamespace(obj.GetNamespace()), client.MatchingFields{IndexEndpointGateway: obj.GetName()}); err != nil {
		return nil
	}
	requests := make([]reconcile.Request, 0, len(endpoints.Items))
	for i := range endpoints.Items {
		if e := &endpoints.Items[i]; keep(e) {
			requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: e.Namespace, Name: e.Name}})
		}
	}
	return requests
}

// servedByGateway tells whether an endpoint's status says its gateway serves its current spec.
func servedByGateway(endpoint *fulfillmentv1alpha1.WebhookEndpoint) bool {
	ready := meta.FindStatusCondition(endpoint.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
	return ready != nil && ready.Status == metav1.ConditionTrue && ready.Reason == fulfillmentv1alpha1.ReasonGatewayServing &&
		ready.ObservedGeneration == endpoint.Generation
}

// gatewayEvents maps a gateway's events to its endpoints. A gateway that appears or goes, or changes what every
// endpoint's status shows of it (its URL, replicas, readiness), reaches all of them; any other change of its
// status (the configuration its pods serve moving on for one endpoint's edit) reaches only those still waiting
// for it, so that one edit does not queue a reconcile of each of hundreds of endpoints ahead of the edited one.
func (r *WebhookEndpointReconciler) gatewayEvents() handler.EventHandler {
	all := handler.EnqueueRequestsFromMapFunc(r.endpointsOnGateway)
	waiting := handler.EnqueueRequestsFromMapFunc(r.waitingOnGateway)
	return handler.Funcs{
		CreateFunc:  all.Create,
		DeleteFunc:  all.Delete,
		GenericFunc: all.Generic,
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			old, oldOK := e.ObjectOld.(*fulfillmentv1alpha1.WebhookGateway)
			current, currentOK := e.ObjectNew.(*fulfillmentv1alpha1.WebhookGateway)
			if !oldOK || !currentOK || shownByEveryMember(old) != shownByEveryMember(current) || !current.DeletionTimestamp.IsZero() {
				all.Update(ctx, e, q)
				return
			}
			waiting.Update(ctx, e, q)
		},
	}
}

// gatewayShown is what every member endpoint's status shows of its gateway.
type gatewayShown struct {
	url                     string
	replicas, readyReplicas int32
	ready                   bool
}

func shownByEveryMember(gateway *fulfillmentv1alpha1.WebhookGateway) gatewayShown {
	return gatewayShown{url: gateway.Status.URL, replicas: gateway.Status.Replicas, readyReplicas: gateway.Status.ReadyReplicas,
		ready: meta.IsStatusConditionTrue(gateway.Status.Conditions, fulfillmentv1alpha1.ConditionReady)}
}

// endpointsOnSamePath maps an endpoint to the other endpoints that claim its gateway path: a path conflict
// resolves when the older endpoint leaves the path (mapOldAndNew maps the path it left too).
func (r *WebhookEndpointReconciler) endpointsOnSamePath(ctx context.Context, obj client.Object) []reconcile.Request {
	endpoint, ok := obj.(*fulfillmentv1alpha1.WebhookEndpoint)
	if !ok || gatewayPathKey(endpoint) == "" {
		return nil
	}
	same := &fulfillmentv1alpha1.WebhookEndpointList{}
	if err := r.Client.List(ctx, same, client.InNamespace(endpoint.Namespace), client.MatchingFields{IndexEndpointGatewayPath: gatewayPathKey(endpoint)}); err != nil {
		return nil
	}
	var requests []reconcile.Request
	for _, other := range same.Items {
		if other.Name != endpoint.Name {
			requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: other.Namespace, Name: other.Name}})
		}
	}
	return requests
}
