package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
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
	Now      func() (now metav1.Time)
	// RequireSecretLabel refuses Secrets without LabelSecretReference (--require-secret-reference-label).
	RequireSecretLabel bool
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
	facts, err := routeFacts(ctx, r.Client, route, endpoint, siblings.Items, r.RequireSecretLabel)
	if err != nil {
		return ctrl.Result{}, err
	}
	acceptance := AcceptRoute(r.Env, route, facts)
	status := ComputeRouteStatus(route, acceptance, r.Now())
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

// routeFacts gathers what acceptance needs to know about a route: its endpoint, its siblings and which Secrets
// its call headers read that do not exist or may not be read.
func routeFacts(ctx context.Context, c client.Client, route *fulfillmentv1alpha1.IntentRoute, endpoint *fulfillmentv1alpha1.WebhookEndpoint,
	all []fulfillmentv1alpha1.IntentRoute, requireLabel bool) (RouteFacts, error) {
	facts := RouteFacts{Endpoint: endpoint}
	for _, sibling := range all {
		if sibling.Name != route.Name {
			facts.Siblings = append(facts.Siblings, sibling)
		}
	}
	var err error
	facts.MissingSecrets, facts.UnlabelledSecrets, err = routeSecretFacts(ctx, c, route, requireLabel)
	return facts, err
}

// routeSecretFacts reads the Secrets of a route's call headers: the "name/key" references whose Secret does not
// exist, and, when requireLabel is set, the names of those that exist without LabelSecretReference.
func routeSecretFacts(ctx context.Context, c client.Client, route *fulfillmentv1alpha1.IntentRoute, requireLabel bool) (missing, unlabelled []string, err error) {
	for _, nameAndKey := range RouteSecretKeys(route) {
		name, _, _ := strings.Cut(nameAndKey, "/")
		ref, err := readSecretRef(ctx, c, route.Namespace, name)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case !ref.exists:
			missing = append(missing, nameAndKey)
		case requireLabel && !ref.labelled:
			unlabelled = append(unlabelled, name)
		}
	}
	return missing, slices.Compact(unlabelled), nil
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

func (r *IntentRouteReconciler) secretRoutes(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.routesOf(ctx, obj.GetNamespace(), client.MatchingFields{IndexRouteSecrets: obj.GetName()})
}

func (r *IntentRouteReconciler) routesOf(ctx context.Context, namespace string, fields client.MatchingFields) []reconcile.Request {
	routes := &fulfillmentv1alpha1.IntentRouteList{}
	if err := r.Client.List(ctx, routes, client.InNamespace(namespace), fields); err != nil {
		// The event's mapping is lost; say so rather than drop it silently.
		log.FromContext(ctx).Error(err, "mapping an event to IntentRoutes", "namespace", namespace, "fields", fields)
		return nil
	}
	requests := make([]reconcile.Request, 0, len(routes.Items))
	for _, route := range routes.Items {
		requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: route.Namespace, Name: route.Name}})
	}
	return requests
}
