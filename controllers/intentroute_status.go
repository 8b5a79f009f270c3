package controllers

import (
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// ComputeRouteStatus writes an acceptance decision (AcceptRoute) into a route's status: the Accepted and
// ResolvedRefs conditions with meta.SetStatusCondition semantics (LastTransitionTime kept unless the status
// flips), starting from route.Status.Conditions, which are not modified; every condition and the status carry
// route.Generation; endpoint is spec.endpointRef.name.
func ComputeRouteStatus(route *fulfillmentv1alpha1.IntentRoute, acceptance Acceptance, now metav1.Time) fulfillmentv1alpha1.IntentRouteStatus {
	status := fulfillmentv1alpha1.IntentRouteStatus{
		ObservedGeneration: route.Generation,
		Conditions:         slices.Clone(route.Status.Conditions),
		Endpoint:           route.Spec.EndpointRef.Name,
	}
	reason, fallback := acceptance.Reason, fulfillmentv1alpha1.ReasonRejected
	if acceptance.Accepted {
		fallback = fulfillmentv1alpha1.ReasonAccepted
	}
	setCondition(&status.Conditions, fulfillmentv1alpha1.ConditionAccepted, acceptance.Accepted,
		conditionReason(reason, fallback), acceptance.Message, route.Generation, now)

	refsFallback := fulfillmentv1alpha1.ReasonSecretNotFound
	if acceptance.ResolvedRefs {
		refsFallback = fulfillmentv1alpha1.ReasonRefsResolved
	}
	setCondition(&status.Conditions, fulfillmentv1alpha1.ConditionResolvedRefs, acceptance.ResolvedRefs,
		conditionReason(acceptance.RefsReason, refsFallback), acceptance.RefsMessage, route.Generation, now)

	// kstatus: Ready when served, else Stalled with the rejection, which only a change by the user (or an object
	// that appears later, such as the endpoint in a later sync wave) clears. Without these, Flux reads every
	// route as Current.
	ready, readyReason, readyMessage := acceptance.Accepted && acceptance.ResolvedRefs, conditionReason(reason, fallback), acceptance.Message
	if acceptance.Accepted && !acceptance.ResolvedRefs {
		readyReason, readyMessage = conditionReason(acceptance.RefsReason, refsFallback), acceptance.RefsMessage
	}
	setCondition(&status.Conditions, fulfillmentv1alpha1.ConditionReady, ready, readyReason, readyMessage, route.Generation, now)
	if ready {
		meta.RemoveStatusCondition(&status.Conditions, fulfillmentv1alpha1.ConditionStalled)
	} else {
		setCondition(&status.Conditions, fulfillmentv1alpha1.ConditionStalled, true, readyReason, readyMessage, route.Generation, now)
	}
	return status
}

// RouteAcceptedCondition returns the route's Accepted condition, or nil.
func RouteAcceptedCondition(status *fulfillmentv1alpha1.IntentRouteStatus) *metav1.Condition {
	return meta.FindStatusCondition(status.Conditions, fulfillmentv1alpha1.ConditionAccepted)
}
