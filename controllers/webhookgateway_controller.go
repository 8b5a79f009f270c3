package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
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
)

// WebhookGatewayReconciler runs a WebhookGateway's Deployment and everything around it, serving the
// configurations of its member endpoints: the endpoints whose ConfigMaps carry LabelGateway with its name (the
// endpoint reconciler puts it there while the gateway is to serve the endpoint). The pods, Service, exposure and
// TLS are rendered and applied by the endpoint's own functions and steps, from GatewayWorkload.
type WebhookGatewayReconciler struct {
	// Endpoints is the endpoint reconciler whose apply, TLS, ownership and pod-report steps the gateway shares.
	Endpoints *WebhookEndpointReconciler

	// parsed keeps each gateway's members as last read, by ConfigMap name and resourceVersion: a gateway of
	// hundreds of endpoints is reconciled for each one's edit, and parses again only the ConfigMaps that changed.
	parsedMu sync.Mutex
	parsed   map[types.NamespacedName]map[string]parsedMember
}

// parsedMember is a member's ConfigMap as read at a resourceVersion.
type parsedMember struct {
	resourceVersion string
	member          GatewayMember
}

// gatewayReconcile is what one reconcile of a gateway learned.
type gatewayReconcile struct {
	gateway  *fulfillmentv1alpha1.WebhookGateway
	workload *fulfillmentv1alpha1.WebhookEndpoint
	config   GatewayConfig
	facts    EndpointFacts
}

// Reconcile implements reconcile.Reconciler.
func (r *WebhookGatewayReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	gateway := &fulfillmentv1alpha1.WebhookGateway{}
	if err := r.Endpoints.Client.Get(ctx, req.NamespacedName, gateway); err != nil {
		if apierrors.IsNotFound(err) {
			r.forgetMembers(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !gateway.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // owner references remove its objects; its endpoints say the gateway is gone
	}
	// As for an endpoint: in a namespace being deleted, applying the gateway's objects again would be refused.
	if terminating, err := r.Endpoints.namespaceTerminating(ctx, gateway.Namespace); err != nil || terminating {
		return ctrl.Result{}, err
	}
	rec := &gatewayReconcile{gateway: gateway, workload: GatewayWorkload(gateway),
		// The members' Secrets and routes are checked by their endpoints: the gateway serves only those that pass.
		facts: EndpointFacts{ServiceURL: GatewayURL(gateway), ConfigHash: gateway.Status.ConfigHash, SecretsRead: true, RoutesRead: true}}
	err := r.reconcileGateway(ctx, rec)
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return ctrl.Result{}, nil // the namespace started terminating after the check above
	}
	stalled := recordStepError(&rec.facts, err)
	status := ComputeGatewayStatus(rec.gateway, rec.workload, rec.config, rec.facts, metav1.NewTime(r.Endpoints.Clock.Now()))
	if !equality.Semantic.DeepEqual(status, gateway.Status) {
		before := meta.FindStatusCondition(gateway.Status.Conditions, fulfillmentv1alpha1.ConditionReady).DeepCopy()
		if statusErr := applyStatus(ctx, r.Endpoints.Client, gateway, &status); statusErr != nil {
			if isStaleRead(statusErr) {
				return ctrl.Result{RequeueAfter: staleReadRequeue}, nil
			}
			return ctrl.Result{}, errors.Join(err, statusErr)
		}
		r.Endpoints.announceReady(gateway, before, status.Conditions)
	}
	switch {
	case stalled:
		return ctrl.Result{}, reconcile.TerminalError(err)
	case err != nil:
		return ctrl.Result{}, err
	}
	check := configurationCheck(rec.config.Hash, rec.facts.PodReports)
	if rec.facts.PodsRead && check.reason != "" && !check.ok {
		return ctrl.Result{RequeueAfter: configurationRecheck(check)}, nil
	}
	return ctrl.Result{}, nil
}

// reconcileGateway renders the members' configurations into the gateway's and applies its objects, in the
// endpoint's order: the ConfigMap, Service and NetworkPolicy before the Deployment, the optional objects after.
func (r *WebhookGatewayReconciler) reconcileGateway(ctx context.Context, rec *gatewayReconcile) error {
	e := r.Endpoints
	members, err := r.readMembers(ctx, rec.gateway)
	if err != nil {
		rec.facts.ReadError = err.Error()
		return err
	}
	deployment, conflict, err := readWorkload(ctx, e.Client, rec.workload, &appsv1.Deployment{}, "Deployment", true)
	if err != nil {
		rec.facts.ReadError = fmt.Sprintf("reading Deployment %s: %v", rec.gateway.Name, err)
		return err
	}
	rec.facts.Deployment, rec.facts.DeploymentConflict, rec.facts.DeploymentRead = deployment, conflict, true
	if err := e.checkOwnership(ctx, rec.workload); err != nil {
		return err
	}
	config, err := RenderGatewayConfig(members)
	if err != nil {
		return &stalledError{reason: fulfillmentv1alpha1.ReasonInvalidConfiguration, message: err.Error()}
	}
	rec.config = config
	tls, err := e.reconcileTLS(ctx, rec.workload)
	if err != nil {
		return err
	}
	rec.facts.CertificateNotAfter, rec.facts.CertificateReady, rec.facts.CertificateSecret, rec.facts.CABundle = tls.notAfter, tls.ready, tls.secretName, tls.caBundle
	tlsSecret := tls.secretName
	if tlsSecret == "" && tls.ready != nil {
		tlsSecret = CertificateSecretName(rec.workload)
	}
	// The copies go first, so that the pods have a member's Secrets when they read its configuration.
	mounted, err := r.applySecretCopies(ctx, rec.workload, config.Secrets)
	if err != nil {
		return err
	}
	configMap := DesiredConfigMap(rec.workload, config.Data, config.Hash)
	configMap.Annotations[AnnotationGatewayMembers] = config.Members
	if len(config.TooLarge) > 0 {
		configMap.Annotations[AnnotationGatewayRefused] = strings.Join(config.TooLarge, ",")
	}
	workload := DesiredDeployment(DeploymentInputs{Endpoint: rec.workload, Image: e.Image, Secrets: mounted,
		SecretCopies: GatewaySecretsName(rec.workload), ConfigMaps: config.ConfigMaps, TLSSecretName: tlsSecret})
	for _, obj := range []client.Object{DesiredServiceAccount(rec.workload), configMap, DesiredService(rec.workload),
		DesiredNetworkPolicy(rec.workload, e.OperatorNamespace), workload} {
		if err := e.applyStep(ctx, obj); err != nil {
			return err
		}
	}
	rec.facts.ConfigHash = config.Hash
	endpointRec := &endpointReconcile{endpoint: rec.workload}
	if err := e.applyOptionalObjects(ctx, endpointRec); err != nil {
		return err
	}
	if err := e.applyHTTPRoute(ctx, endpointRec); err != nil {
		return err
	}
	e.readPodReports(ctx, rec.workload, &rec.facts)
	rec.facts.Applied = true
	return nil
}

// readMembers reads the ConfigMaps of the endpoints the gateway is to serve. One that cannot be read is left
// out (its endpoint renders it again) rather than keeping the others from being served.
func (r *WebhookGatewayReconciler) readMembers(ctx context.Context, gateway *fulfillmentv1alpha1.WebhookGateway) ([]GatewayMember, error) {
	configMaps := &corev1.ConfigMapList{}
	if err := r.Endpoints.cache().List(ctx, configMaps, client.InNamespace(gateway.Namespace), client.MatchingLabels{LabelGateway: gateway.Name}); err != nil {
		return nil, fmt.Errorf("listing the ConfigMaps of the gateway's endpoints: %w", err)
	}
	key := client.ObjectKeyFromObject(gateway)
	r.parsedMu.Lock()
	previous := r.parsed[key]
	r.parsedMu.Unlock()
	parsed := make(map[string]parsedMember, len(configMaps.Items))
	var members []GatewayMember
	for i := range configMaps.Items {
		configMap := &configMaps.Items[i]
		if configMap.Labels[LabelEndpoint] == "" || metav1.GetControllerOfNoCopy(configMap) == nil ||
			metav1.GetControllerOfNoCopy(configMap).Kind != endpointGVK.Kind {
			continue // the gateway's own ConfigMap, or not an endpoint's
		}
		if known, ok := previous[configMap.Name]; ok && known.resourceVersion == configMap.ResourceVersion {
			parsed[configMap.Name] = known
			members = append(members, known.member)
			continue
		}
		member, err := ReadGatewayMember(configMap)
		if err != nil {
			log.FromContext(ctx).Error(err, "leaving an endpoint out of the gateway", "configMap", configMap.Name)
			continue
		}
		parsed[configMap.Name] = parsedMember{resourceVersion: configMap.ResourceVersion, member: member}
		members = append(members, member)
	}
	r.parsedMu.Lock()
	if r.parsed == nil {
		r.parsed = map[types.NamespacedName]map[string]parsedMember{}
	}
	r.parsed[key] = parsed
	r.parsedMu.Unlock()
	return members, nil
}

// forgetMembers drops what was parsed for a gateway that is gone.
func (r *WebhookGatewayReconciler) forgetMembers(gateway types.NamespacedName) {
	r.parsedMu.Lock()
	defer r.parsedMu.Unlock()
	delete(r.parsed, gateway)
}

// ComputeGatewayStatus computes a gateway's status with the endpoint's kstatus rules: Ready when the spec of this
// generation is applied and the Deployment has every replica of the current template available, and every
// ready pod serves the rendered configuration. status.servedConfigHash is that configuration once every ready
// pod serves it, and its endpoints are served from then on.
func ComputeGatewayStatus(gateway *fulfillmentv1alpha1.WebhookGateway, workload *fulfillmentv1alpha1.WebhookEndpoint, config GatewayConfig,
	facts EndpointFacts, now metav1.Time) fulfillmentv1alpha1.WebhookGatewayStatus {
	endpointStatus := ComputeEndpointStatus(&fulfillmentv1alpha1.WebhookEndpoint{
		ObjectMeta: metav1.ObjectMeta{Name: gateway.Name, Namespace: gateway.Namespace, Generation: gateway.Generation},
		Spec:       workload.Spec,
		Status: fulfillmentv1alpha1.WebhookEndpointStatus{ObservedGeneration: gateway.Status.ObservedGeneration,
			Conditions: gateway.Status.Conditions, Replicas: gateway.Status.Replicas, ReadyReplicas: gateway.Status.ReadyReplicas,
			Certificate: gateway.Status.Certificate},
	}, facts, now)
	status := fulfillmentv1alpha1.WebhookGatewayStatus{
		ObservedGeneration: endpointStatus.ObservedGeneration,
		URL:                facts.ServiceURL,
		Replicas:           endpointStatus.Replicas,
		ReadyReplicas:      endpointStatus.ReadyReplicas,
		ConfigHash:         facts.ConfigHash,
		ServedConfigHash:   gateway.Status.ServedConfigHash,
		Certificate:        endpointStatus.Certificate,
		Endpoints:          gateway.Status.Endpoints.DeepCopy(),
	}
	for _, c := range endpointStatus.Conditions {
		switch c.Type {
		case fulfillmentv1alpha1.ConditionReady, fulfillmentv1alpha1.ConditionReconciling, fulfillmentv1alpha1.ConditionStalled,
			fulfillmentv1alpha1.ConditionDeploymentAvailable, fulfillmentv1alpha1.ConditionCertificateReady:
			status.Conditions = append(status.Conditions, c)
		}
	}
	if config.Hash != "" {
		status.Endpoints = &fulfillmentv1alpha1.GatewayEndpointCounts{Served: int32(len(config.Served)), Refused: int32(len(config.Refused))}
		if meta.IsStatusConditionTrue(status.Conditions, fulfillmentv1alpha1.ConditionReady) {
			status.ServedConfigHash = config.Hash
		}
	}
	return status
}

// SetupWithManager registers the controller: the gateway (spec changes), the objects it writes (by name), its
// pods, and its members' ConfigMaps (by LabelGateway, before and after a change, so that an endpoint leaving
// a gateway is removed from it).
func (r *WebhookGatewayReconciler) SetupWithManager(mgr ctrl.Manager) error {
	// An object is mapped to the gateway of its name only when that gateway exists: the endpoints' objects of
	// every kind pass through here too, and a reconcile each would be thousands of no-ops at scale.
	byName := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		key := types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}
		if err := r.Endpoints.cache().Get(ctx, key, &fulfillmentv1alpha1.WebhookGateway{}); err != nil {
			return nil
		}
		return []reconcile.Request{{NamespacedName: key}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&fulfillmentv1alpha1.WebhookGateway{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&appsv1.Deployment{}, byName).
		Watches(&corev1.Service{}, byName).
		Watches(&corev1.ServiceAccount{}, byName).
		Watches(&policyv1.PodDisruptionBudget{}, byName).
		Watches(&autoscalingv2.HorizontalPodAutoscaler{}, byName).
		Watches(&networkingv1.NetworkPolicy{}, byName).
		Watches(&networkingv1.Ingress{}, byName).
		Watches(&corev1.ConfigMap{}, mapOldAndNew(gatewayOfMember)).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.secretToGateways), builder.OnlyMetadata).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(podToGateway), builder.WithPredicates(podServingChanged)).
		Named("webhookgateway").
		WithOptions(controller.Options{RateLimiter: retryLimiter(), MaxConcurrentReconciles: max(r.Endpoints.Concurrency, 1)}).
		Complete(r)
}

// podToGateway maps a gateway's pod to its gateway.
func podToGateway(_ context.Context, obj client.Object) []reconcile.Request {
	name := obj.GetLabels()[LabelGateway]
	if name == "" || obj.GetLabels()[LabelManagedBy] != FieldOwner {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}}}
}

// mapOldAndNew maps objects to requests with mapFn like handler.EnqueueRequestsFromMapFunc, but an updated
// object both as it was and as it is, so that what it stopped belonging to is reconciled too (the gateway an
// endpoint left, the endpoints of a path it left).
func mapOldAndNew(mapFn handler.MapFunc) handler.EventHandler {
	enqueue := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], objs ...client.Object) {
		seen := map[reconcile.Request]bool{}
		for _, obj := range objs {
			for _, request := range mapFn(ctx, obj) {
				if !seen[request] {
					seen[request] = true
					q.Add(request)
				}
			}
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.ObjectOld, e.ObjectNew)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object)
		},
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object)
		},
	}
}

// secretToGateways maps a Secret to the gateway whose copies it is, and to the gateways of the endpoints that read
// it: the gateway copies it again when it changes.
func (r *WebhookGatewayReconciler) secretToGateways(ctx context.Context, obj client.Object) []reconcile.Request {
	seen := map[reconcile.Request]bool{}
	if owner := metav1.GetControllerOfNoCopy(obj); owner != nil && owner.Kind == gatewayGVK.Kind {
		seen[reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: owner.Name}}] = true
	}
	for _, request := range r.Endpoints.secretToEndpoints(ctx, obj) {
		endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
		if err := r.Endpoints.Client.Get(ctx, request.NamespacedName, endpoint); err != nil || endpoint.Spec.GatewayRef == nil {
			continue
		}
		seen[reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: endpoint.Spec.GatewayRef.Name}}] = true
	}
	requests := make([]reconcile.Request, 0, len(seen))
	for request := range seen {
		requests = append(requests, request)
	}
	return requests
}

// gatewayOfMember maps an endpoint's ConfigMap to the gateway its LabelGateway names.
func gatewayOfMember(_ context.Context, obj client.Object) []reconcile.Request {
	name := obj.GetLabels()[LabelGateway]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}}}
}

// gatewayNotFound says that an endpoint's gateway does not exist.
func gatewayNotFound(endpoint *fulfillmentv1alpha1.WebhookEndpoint) *stalledError {
	return &stalledError{reason: fulfillmentv1alpha1.ReasonGatewayNotFound, message: fmt.Sprintf(
		"WebhookGateway %s not found in namespace %s: create it, or remove spec.gatewayRef to give the endpoint pods of its own",
		endpoint.Spec.GatewayRef.Name, endpoint.Namespace)}
}
