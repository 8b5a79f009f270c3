package controllers

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

// IntentRouteReconciler decides whether a route is served (acceptance) and writes its status. The endpoint
// reconciler applies the same pure acceptance, so both always agree on the accepted set.
type IntentRouteReconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
	Env      *expr.Env
	// Clock tells the time of condition transitions.
	Clock clock.PassiveClock
	// RequireSecretLabel refuses Secrets without LabelSecretReference (--require-secret-reference-label).
	RequireSecretLabel bool
	// Secrets checks the keys the call headers read (shared with the endpoint reconciler).
	Secrets *SecretChecker
	// Concurrency is how many routes are reconciled at once; 1 when 0.
	Concurrency int
	// NamespaceTerminating tells whether a namespace is being deleted (the endpoint reconciler's check); nil
	// checks nothing.
	NamespaceTerminating func(ctx context.Context, namespace string) (bool, error)
}

// Reconcile implements reconcile.Reconciler. It is a shell around the route's steps (routeSteps): read the
// route, run the steps, and write the decision they reach into the status once.
func (r *IntentRouteReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	route := &fulfillmentv1alpha1.IntentRoute{}
	if err := r.Client.Get(ctx, req.NamespacedName, route); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !route.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	// In a namespace being deleted its endpoint goes too: a route would only turn EndpointNotFound, a status
	// write and a Warning about a deletion nobody needs to act on.
	if r.NamespaceTerminating != nil {
		if terminating, err := r.NamespaceTerminating(ctx, route.Namespace); err != nil || terminating {
			return ctrl.Result{}, err
		}
	}
	rec := &routeReconcile{route: route}
	for _, step := range r.routeSteps() {
		if err := step.run(ctx, rec); err != nil {
			return ctrl.Result{}, err
		}
	}
	return r.updateStatus(ctx, route, rec.acceptance)
}

// routeStep is one named step of a route's reconcile; an error stops the reconcile and is retried.
type routeStep struct {
	name string
	run  func(ctx context.Context, rec *routeReconcile) error
}

// routeSteps are the steps of a route's reconcile, in order: what acceptance reads, the decision, and whether
// the route still fits in its endpoint's configuration.
func (r *IntentRouteReconciler) routeSteps() []routeStep {
	return []routeStep{
		{"read endpoint", r.readEndpoint},
		{"read siblings", r.readSiblings},
		{"decide acceptance", r.decideAcceptance},
		{"check configuration size", r.checkConfigurationSize},
	}
}

// routeReconcile is the state of one reconcile of a route: what its steps read and decided so far.
type routeReconcile struct {
	route *fulfillmentv1alpha1.IntentRoute
	// endpoint is the route's WebhookEndpoint, nil when it does not exist.
	endpoint *fulfillmentv1alpha1.WebhookEndpoint
	// siblings are the routes of the same endpoint, the route included.
	siblings   []fulfillmentv1alpha1.IntentRoute
	acceptance Acceptance
}

// readEndpoint reads the route's WebhookEndpoint; one that does not exist is a fact, not an error.
func (r *IntentRouteReconciler) readEndpoint(ctx context.Context, rec *routeReconcile) error {
	endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: rec.route.Namespace, Name: rec.route.Spec.EndpointRef.Name}, endpoint)
	if err == nil {
		rec.endpoint = endpoint
	}
	return client.IgnoreNotFound(err)
}

// readSiblings lists the routes of the same endpoint.
func (r *IntentRouteReconciler) readSiblings(ctx context.Context, rec *routeReconcile) error {
	siblings := &fulfillmentv1alpha1.IntentRouteList{}
	if err := r.Client.List(ctx, siblings, client.InNamespace(rec.route.Namespace), client.MatchingFields{IndexRouteEndpoint: rec.route.Spec.EndpointRef.Name}); err != nil {
		return err
	}
	rec.siblings = siblings.Items
	return nil
}

// decideAcceptance applies the acceptance rules (AcceptRoute) to what was read.
func (r *IntentRouteReconciler) decideAcceptance(ctx context.Context, rec *routeReconcile) error {
	facts, err := routeFacts(ctx, r.Client, r.Secrets, rec.route, rec.endpoint, rec.siblings, r.RequireSecretLabel)
	if err != nil {
		return err
	}
	rec.acceptance = AcceptRoute(r.Env, rec.route, facts)
	return nil
}

// checkConfigurationSize rejects an accepted route that does not fit in its endpoint's configuration. Whether
// it fits depends on the routes before it: decided over all of them, as the endpoint's reconciler does.
func (r *IntentRouteReconciler) checkConfigurationSize(ctx context.Context, rec *routeReconcile) error {
	if !rec.acceptance.Accepted || rec.endpoint == nil {
		return nil
	}
	tooLarge, err := r.tooLarge(ctx, rec.route, rec.endpoint, rec.siblings)
	if err != nil {
		return err
	}
	if tooLarge != "" {
		rec.acceptance.Accepted, rec.acceptance.Reason, rec.acceptance.Message = false, fulfillmentv1alpha1.ReasonConfigurationTooLarge, tooLarge
	}
	return nil
}

// updateStatus writes the acceptance into the route's status when it changed, conditioned on the route read
// (applyStatus), and records a change of its reason.
func (r *IntentRouteReconciler) updateStatus(ctx context.Context, route *fulfillmentv1alpha1.IntentRoute, acceptance Acceptance) (ctrl.Result, error) {
	status := ComputeRouteStatus(route, acceptance, metav1.NewTime(r.Clock.Now()))
	if equality.Semantic.DeepEqual(status, route.Status) {
		return ctrl.Result{}, nil
	}
	before := meta.FindStatusCondition(route.Status.Conditions, fulfillmentv1alpha1.ConditionAccepted)
	if err := applyStatus(ctx, r.Client, route, &status); err != nil {
		if isStaleRead(err) {
			return ctrl.Result{RequeueAfter: staleReadRequeue}, nil
		}
		return ctrl.Result{}, err
	}
	route.Status = status
	// A route accepted when first seen gets no event (its status says so, and a thousand new routes would be a
	// thousand events); a refusal, and any later change of verdict, does.
	if (before == nil && !acceptance.Accepted) || (before != nil && before.Reason != acceptance.Reason) {
		eventType := corev1.EventTypeNormal
		if !acceptance.Accepted {
			eventType = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(route, nil, eventType, acceptance.Reason, "Accept", "%s", acceptance.Message)
	}
	return ctrl.Result{}, nil
}

// tooLarge is the message of route when the endpoint's configuration has no room left for it, "" otherwise.
func (r *IntentRouteReconciler) tooLarge(ctx context.Context, route *fulfillmentv1alpha1.IntentRoute, endpoint *fulfillmentv1alpha1.WebhookEndpoint,
	siblings []fulfillmentv1alpha1.IntentRoute) (string, error) {
	all := []fulfillmentv1alpha1.IntentRoute{*route}
	for _, sibling := range siblings {
		if sibling.Name != route.Name {
			all = append(all, sibling)
		}
	}
	secrets, err := routesSecretFacts(ctx, r.Client, r.Secrets, all, r.RequireSecretLabel)
	if err != nil {
		return "", err
	}
	set := AcceptedRoutes(r.Env, endpoint, all, func(route *fulfillmentv1alpha1.IntentRoute) RouteSecretFacts { return secrets[route.Name] })
	return set.TooLarge[route.Name], nil
}

// routesSecretFacts is routeSecretFacts of each route, by name.
func routesSecretFacts(ctx context.Context, c client.Client, secrets *SecretChecker, routes []fulfillmentv1alpha1.IntentRoute,
	requireLabel bool) (map[string]RouteSecretFacts, error) {
	facts := make(map[string]RouteSecretFacts, len(routes))
	for i := range routes {
		f, err := routeSecretFacts(ctx, c, secrets, &routes[i], requireLabel)
		if err != nil {
			return nil, err
		}
		facts[routes[i].Name] = f
	}
	return facts, nil
}

// routeFacts gathers what acceptance needs to know about a route: its endpoint, its siblings and which Secrets
// its call headers read that do not exist or may not be read.
func routeFacts(ctx context.Context, c client.Client, secrets *SecretChecker, route *fulfillmentv1alpha1.IntentRoute,
	endpoint *fulfillmentv1alpha1.WebhookEndpoint, all []fulfillmentv1alpha1.IntentRoute, requireLabel bool) (RouteFacts, error) {
	facts := RouteFacts{Endpoint: endpoint}
	for _, sibling := range all {
		if sibling.Name != route.Name {
			facts.Siblings = append(facts.Siblings, sibling)
		}
	}
	secretFacts, err := routeSecretFacts(ctx, c, secrets, route, requireLabel)
	facts.MissingSecrets, facts.UnlabelledSecrets, facts.InvalidSecretKeys = secretFacts.Missing, secretFacts.Unlabelled, secretFacts.Invalid
	facts.ConfigMapProblems = secretFacts.ConfigMaps
	return facts, err
}

// routeSecretFacts reads the Secrets of a route's call headers: the "name/key" references whose Secret does not
// exist, when requireLabel is set the names of those that exist without LabelSecretReference, and, of the
// others, the keys that are missing or hold no valid header value (with secrets; nil checks nothing).
func routeSecretFacts(ctx context.Context, c client.Client, secrets *SecretChecker, route *fulfillmentv1alpha1.IntentRoute,
	requireLabel bool) (RouteSecretFacts, error) {
	var facts RouteSecretFacts
	reqs := RouteSecretRequirements(route)
	uses := map[string]secretUse{}
	for _, nameAndKey := range RouteSecretKeys(route) {
		name, _, _ := strings.Cut(nameAndKey, "/")
		use, inspected := uses[name]
		if !inspected {
			var problems []SecretKeyProblem
			var err error
			use, problems, err = inspectSecret(ctx, c, secrets, route.Namespace, name, requireLabel, requirementsOf(reqs, name))
			if err != nil {
				return RouteSecretFacts{}, err
			}
			uses[name] = use
			facts.Invalid = append(facts.Invalid, problems...)
			if use == secretUnlabelled {
				facts.Unlabelled = append(facts.Unlabelled, name)
			}
		}
		if use == secretMissing {
			facts.Missing = append(facts.Missing, nameAndKey)
		}
	}
	// ConfigMaps are read from the cache: the operator watches them whole, and a CA bundle is no secret.
	for _, req := range RouteConfigMapRequirements(route) {
		configMap := &corev1.ConfigMap{}
		err := c.Get(ctx, types.NamespacedName{Namespace: route.Namespace, Name: req.ConfigMap}, configMap)
		if err != nil && !apierrors.IsNotFound(err) {
			return RouteSecretFacts{}, fmt.Errorf("reading ConfigMap %s: %w", req.ConfigMap, err)
		}
		if problem, ok := CheckConfigMapKey(req, err == nil, configMap.Data, configMap.BinaryData); !ok {
			facts.ConfigMaps = append(facts.ConfigMaps, problem)
		}
	}
	return facts, nil
}

// SetupWithManager registers the controller: the route (spec changes), its siblings (a conflict can resolve
// when another route changes), its endpoint, and the Secrets its headers read (metadata only).
func (r *IntentRouteReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&fulfillmentv1alpha1.IntentRoute{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&fulfillmentv1alpha1.IntentRoute{}, handler.EnqueueRequestsFromMapFunc(r.siblings),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&fulfillmentv1alpha1.WebhookEndpoint{}, handler.EnqueueRequestsFromMapFunc(r.endpointRoutes),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.secretRoutes), builder.OnlyMetadata).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.configMapRoutes)).
		Named("intentroute").
		WithOptions(controller.Options{RateLimiter: retryLimiter(), MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Complete(r)
}

func (r *IntentRouteReconciler) siblings(ctx context.Context, obj client.Object) []reconcile.Request {
	route := obj.(*fulfillmentv1alpha1.IntentRoute)
	return r.routesOf(ctx, route.Namespace, client.MatchingFields{IndexRouteEndpoint: route.Spec.EndpointRef.Name})
}

func (r *IntentRouteReconciler) endpointRoutes(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.routesOf(ctx, obj.GetNamespace(), client.MatchingFields{IndexRouteEndpoint: obj.GetName()})
}

// secretRoutes maps a Secret to the routes whose call headers read it and to every other route of their
// endpoints: a Secret can change whether a route is accepted, and with it whether the routes after it fit in
// the configuration (ConfigurationTooLarge), which the siblings watch does not see (status is no generation).
func (r *IntentRouteReconciler) secretRoutes(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.referencingRoutes(ctx, obj, IndexRouteSecrets)
}

// configMapRoutes is secretRoutes for a ConfigMap routes read (a CA bundle).
func (r *IntentRouteReconciler) configMapRoutes(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.referencingRoutes(ctx, obj, IndexRouteConfigMaps)
}

// referencingRoutes are the routes of every endpoint that has a route referencing obj through index.
func (r *IntentRouteReconciler) referencingRoutes(ctx context.Context, obj client.Object, index string) []reconcile.Request {
	endpoints := map[string]bool{}
	for _, route := range r.listRoutes(ctx, obj.GetNamespace(), client.MatchingFields{index: obj.GetName()}) {
		endpoints[route.Spec.EndpointRef.Name] = true
	}
	var requests []reconcile.Request
	for endpoint := range endpoints {
		requests = append(requests, r.routesOf(ctx, obj.GetNamespace(), client.MatchingFields{IndexRouteEndpoint: endpoint})...)
	}
	return requests
}

func (r *IntentRouteReconciler) routesOf(ctx context.Context, namespace string, fields client.MatchingFields) []reconcile.Request {
	routes := r.listRoutes(ctx, namespace, fields)
	requests := make([]reconcile.Request, 0, len(routes))
	for _, route := range routes {
		requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: route.Namespace, Name: route.Name}})
	}
	return requests
}

// listRoutes lists routes for a map function; an error loses the event's mapping, so it is logged rather than
// dropped silently.
func (r *IntentRouteReconciler) listRoutes(ctx context.Context, namespace string, fields client.MatchingFields) []fulfillmentv1alpha1.IntentRoute {
	routes := &fulfillmentv1alpha1.IntentRouteList{}
	if err := r.Client.List(ctx, routes, client.InNamespace(namespace), fields); err != nil {
		log.FromContext(ctx).Error(err, "mapping an event to IntentRoutes", "namespace", namespace, "fields", fields)
		return nil
	}
	return routes.Items
}
