package controllers

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
}

// Reconcile implements reconcile.Reconciler.
func (r *IntentRouteReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	route := &fulfillmentv1alpha1.IntentRoute{}
	if err := r.Client.Get(ctx, req.NamespacedName, route); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !route.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	var endpoint *fulfillmentv1alpha1.WebhookEndpoint
	candidate := &fulfillmentv1alpha1.WebhookEndpoint{}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: route.Namespace, Name: route.Spec.EndpointRef.Name}, candidate)
	switch {
	case err == nil:
		endpoint = candidate
	case client.IgnoreNotFound(err) != nil:
		return ctrl.Result{}, err
	}
	siblings := &fulfillmentv1alpha1.IntentRouteList{}
	if err := r.Client.List(ctx, siblings, client.InNamespace(route.Namespace), client.MatchingFields{IndexRouteEndpoint: route.Spec.EndpointRef.Name}); err != nil {
		return ctrl.Result{}, err
	}
	facts, err := routeFacts(ctx, r.Client, r.Secrets, route, endpoint, siblings.Items, r.RequireSecretLabel)
	if err != nil {
		return ctrl.Result{}, err
	}
	acceptance := AcceptRoute(r.Env, route, facts)
	if acceptance.Accepted && endpoint != nil {
		// Whether it fits in the configuration depends on the routes before it: decided over all of them, as
		// the endpoint's reconciler does.
		tooLarge, err := r.tooLarge(ctx, route, endpoint, siblings.Items)
		if err != nil {
			return ctrl.Result{}, err
		}
		if tooLarge != "" {
			acceptance.Accepted, acceptance.Reason, acceptance.Message = false, fulfillmentv1alpha1.ReasonConfigurationTooLarge, tooLarge
		}
	}
	status := ComputeRouteStatus(route, acceptance, metav1.NewTime(r.Clock.Now()))
	if equality.Semantic.DeepEqual(status, route.Status) {
		return ctrl.Result{}, nil
	}
	before := meta.FindStatusCondition(route.Status.Conditions, fulfillmentv1alpha1.ConditionAccepted)
	patch := client.MergeFrom(route.DeepCopy())
	route.Status = status
	if err := r.Client.Status().Patch(ctx, route, patch); err != nil {
		return ctrl.Result{}, fmt.Errorf("updating the status: %w", err)
	}
	if before == nil || before.Reason != acceptance.Reason {
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
		Named("intentroute").
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
	endpoints := map[string]bool{}
	for _, route := range r.listRoutes(ctx, obj.GetNamespace(), client.MatchingFields{IndexRouteSecrets: obj.GetName()}) {
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
