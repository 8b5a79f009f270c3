package controllers

import (
	"testing"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// routeStatusNow is the fixed clock of the route status tests; routeStatusEarlier is when existing conditions
// last changed.
var (
	routeStatusNow     = metav1.NewTime(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
	routeStatusEarlier = metav1.NewTime(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
)

func withRouteConditions(conditions ...metav1.Condition) func(*fulfillmentv1alpha1.IntentRoute) {
	return func(r *fulfillmentv1alpha1.IntentRoute) { r.Status.Conditions = conditions }
}

func withGeneration(g int64) func(*fulfillmentv1alpha1.IntentRoute) {
	return func(r *fulfillmentv1alpha1.IntentRoute) { r.Generation = g }
}

func routeCondition(conditionType string, status metav1.ConditionStatus, reason string) metav1.Condition {
	return metav1.Condition{Type: conditionType, Status: status, Reason: reason, Message: "before",
		ObservedGeneration: 1, LastTransitionTime: routeStatusEarlier}
}

var (
	acceptedAcceptance = Acceptance{
		Accepted: true, Reason: fulfillmentv1alpha1.ReasonAccepted, Message: "served by WebhookEndpoint bank",
		ResolvedRefs: true, RefsReason: fulfillmentv1alpha1.ReasonRefsResolved, RefsMessage: "the route reads no Secret",
	}
	missingSecretAcceptance = Acceptance{
		Accepted: false, Reason: fulfillmentv1alpha1.ReasonInvalidTarget, Message: "spec.call.headers[0]...: Secret x not found",
		ResolvedRefs: false, RefsReason: fulfillmentv1alpha1.ReasonSecretNotFound, RefsMessage: "spec.call.headers[0]...: Secret x not found",
	}
)

// acceptedNow is the conditions of a route accepted at routeStatusNow, with others kept beside them.
func acceptedNow(others ...metav1.Condition) map[string]metav1.Condition {
	conditions := map[string]metav1.Condition{
		fulfillmentv1alpha1.ConditionAccepted: {Status: metav1.ConditionTrue, Reason: fulfillmentv1alpha1.ReasonAccepted,
			Message: "served by WebhookEndpoint bank", LastTransitionTime: routeStatusNow},
		fulfillmentv1alpha1.ConditionResolvedRefs: {Status: metav1.ConditionTrue, Reason: fulfillmentv1alpha1.ReasonRefsResolved,
			Message: "the route reads no Secret", LastTransitionTime: routeStatusNow},
		fulfillmentv1alpha1.ConditionReady: {Status: metav1.ConditionTrue, Reason: fulfillmentv1alpha1.ReasonAccepted,
			Message: "served by WebhookEndpoint bank", LastTransitionTime: routeStatusNow},
	}
	for _, other := range others {
		conditions[other.Type] = other
	}
	return conditions
}

func TestComputeRouteStatus(t *testing.T) {
	tests := map[string]struct {
		route      *fulfillmentv1alpha1.IntentRoute
		acceptance Acceptance
		// want are the expected conditions by type; LastTransitionTime included.
		want map[string]metav1.Condition
	}{
		"a new route is accepted": {
			route:      routeFixture("balance"),
			acceptance: acceptedAcceptance,
			want:       acceptedNow(),
		},
		"unchanged statuses keep their transition time, take the new generation and message": {
			route: routeFixture("balance", withGeneration(3), withRouteConditions(
				routeCondition(fulfillmentv1alpha1.ConditionAccepted, metav1.ConditionTrue, fulfillmentv1alpha1.ReasonAccepted),
				routeCondition(fulfillmentv1alpha1.ConditionResolvedRefs, metav1.ConditionTrue, fulfillmentv1alpha1.ReasonRefsResolved),
			)),
			acceptance: acceptedAcceptance,
			want: map[string]metav1.Condition{
				fulfillmentv1alpha1.ConditionAccepted: {Status: metav1.ConditionTrue, Reason: fulfillmentv1alpha1.ReasonAccepted,
					Message: "served by WebhookEndpoint bank", LastTransitionTime: routeStatusEarlier},
				fulfillmentv1alpha1.ConditionResolvedRefs: {Status: metav1.ConditionTrue, Reason: fulfillmentv1alpha1.ReasonRefsResolved,
					Message: "the route reads no Secret", LastTransitionTime: routeStatusEarlier},
				fulfillmentv1alpha1.ConditionReady: {Status: metav1.ConditionTrue, Reason: fulfillmentv1alpha1.ReasonAccepted,
					Message: "served by WebhookEndpoint bank", LastTransitionTime: routeStatusNow},
			},
		},
		"a flip moves the transition time": {
			route: routeFixture("balance", withRouteConditions(
				routeCondition(fulfillmentv1alpha1.ConditionAccepted, metav1.ConditionTrue, fulfillmentv1alpha1.ReasonAccepted),
				routeCondition(fulfillmentv1alpha1.ConditionResolvedRefs, metav1.ConditionTrue, fulfillmentv1alpha1.ReasonRefsResolved),
			)),
			acceptance: missingSecretAcceptance,
			want: map[string]metav1.Condition{
				fulfillmentv1alpha1.ConditionAccepted: {Status: metav1.ConditionFalse, Reason: fulfillmentv1alpha1.ReasonInvalidTarget,
					Message: missingSecretAcceptance.Message, LastTransitionTime: routeStatusNow},
				fulfillmentv1alpha1.ConditionResolvedRefs: {Status: metav1.ConditionFalse, Reason: fulfillmentv1alpha1.ReasonSecretNotFound,
					Message: missingSecretAcceptance.RefsMessage, LastTransitionTime: routeStatusNow},
				fulfillmentv1alpha1.ConditionReady: {Status: metav1.ConditionFalse, Reason: fulfillmentv1alpha1.ReasonInvalidTarget,
					Message: missingSecretAcceptance.Message, LastTransitionTime: routeStatusNow},
				fulfillmentv1alpha1.ConditionStalled: {Status: metav1.ConditionTrue, Reason: fulfillmentv1alpha1.ReasonInvalidTarget,
					Message: missingSecretAcceptance.Message, LastTransitionTime: routeStatusNow},
			},
		},
		"a rejection for another reason keeps the transition time": {
			route: routeFixture("balance", withRouteConditions(
				routeCondition(fulfillmentv1alpha1.ConditionAccepted, metav1.ConditionFalse, fulfillmentv1alpha1.ReasonEndpointNotFound),
				routeCondition(fulfillmentv1alpha1.ConditionResolvedRefs, metav1.ConditionTrue, fulfillmentv1alpha1.ReasonRefsResolved),
			)),
			acceptance: Acceptance{Reason: fulfillmentv1alpha1.ReasonConflict, Message: "IntentRoute a ...",
				ResolvedRefs: true, RefsReason: fulfillmentv1alpha1.ReasonRefsResolved, RefsMessage: "ok"},
			want: map[string]metav1.Condition{
				fulfillmentv1alpha1.ConditionAccepted: {Status: metav1.ConditionFalse, Reason: fulfillmentv1alpha1.ReasonConflict,
					Message: "IntentRoute a ...", LastTransitionTime: routeStatusEarlier},
				fulfillmentv1alpha1.ConditionResolvedRefs: {Status: metav1.ConditionTrue, Reason: fulfillmentv1alpha1.ReasonRefsResolved,
					Message: "ok", LastTransitionTime: routeStatusEarlier},
				fulfillmentv1alpha1.ConditionReady: {Status: metav1.ConditionFalse, Reason: fulfillmentv1alpha1.ReasonConflict,
					Message: "IntentRoute a ...", LastTransitionTime: routeStatusNow},
				fulfillmentv1alpha1.ConditionStalled: {Status: metav1.ConditionTrue, Reason: fulfillmentv1alpha1.ReasonConflict,
					Message: "IntentRoute a ...", LastTransitionTime: routeStatusNow},
			},
		},
		"a zero acceptance still writes valid reasons": {
			route:      routeFixture("balance"),
			acceptance: Acceptance{},
			want: map[string]metav1.Condition{
				fulfillmentv1alpha1.ConditionAccepted:     {Status: metav1.ConditionFalse, Reason: fulfillmentv1alpha1.ReasonRejected, LastTransitionTime: routeStatusNow},
				fulfillmentv1alpha1.ConditionResolvedRefs: {Status: metav1.ConditionFalse, Reason: fulfillmentv1alpha1.ReasonSecretNotFound, LastTransitionTime: routeStatusNow},
				fulfillmentv1alpha1.ConditionReady: {Status: metav1.ConditionFalse, Reason: fulfillmentv1alpha1.ReasonRejected,
					Message: "", LastTransitionTime: routeStatusNow},
				fulfillmentv1alpha1.ConditionStalled: {Status: metav1.ConditionTrue, Reason: fulfillmentv1alpha1.ReasonRejected,
					Message: "", LastTransitionTime: routeStatusNow},
			},
		},
		"an accepted route is no longer Stalled": {
			route: routeFixture("balance", withRouteConditions(
				routeCondition(fulfillmentv1alpha1.ConditionReady, metav1.ConditionFalse, fulfillmentv1alpha1.ReasonEndpointNotFound),
				routeCondition(fulfillmentv1alpha1.ConditionStalled, metav1.ConditionTrue, fulfillmentv1alpha1.ReasonEndpointNotFound),
			)),
			acceptance: acceptedAcceptance,
			want:       acceptedNow(),
		},
		"other conditions are kept": {
			route: routeFixture("balance", withRouteConditions(
				metav1.Condition{Type: "example.com/Audited", Status: metav1.ConditionTrue, Reason: "Audited", LastTransitionTime: routeStatusEarlier},
			)),
			acceptance: acceptedAcceptance,
			want: acceptedNow(metav1.Condition{Type: "example.com/Audited", Status: metav1.ConditionTrue, Reason: "Audited",
				LastTransitionTime: routeStatusEarlier}),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := tc.route.DeepCopy()
			status := ComputeRouteStatus(tc.route, tc.acceptance, routeStatusNow)
			if status.ObservedGeneration != tc.route.Generation {
				t.Errorf("observedGeneration = %d, want %d", status.ObservedGeneration, tc.route.Generation)
			}
			if status.Endpoint != "bank" {
				t.Errorf("endpoint = %q, want bank", status.Endpoint)
			}
			if len(status.Conditions) != len(tc.want) {
				t.Errorf("conditions = %+v, want %d", status.Conditions, len(tc.want))
			}
			for conditionType, want := range tc.want {
				got := meta.FindStatusCondition(status.Conditions, conditionType)
				if got == nil {
					t.Errorf("no %s condition", conditionType)
					continue
				}
				if got.Status != want.Status || got.Reason != want.Reason || got.Message != want.Message ||
					!got.LastTransitionTime.Equal(&want.LastTransitionTime) {
					t.Errorf("%s = %+v, want %+v", conditionType, *got, want)
				}
				if conditionType != "example.com/Audited" && got.ObservedGeneration != tc.route.Generation {
					t.Errorf("%s observedGeneration = %d, want %d", conditionType, got.ObservedGeneration, tc.route.Generation)
				}
				if !conditionReasonPattern.MatchString(got.Reason) {
					t.Errorf("%s reason %q is not a valid condition reason", conditionType, got.Reason)
				}
			}
			if !apiequality.Semantic.DeepEqual(before, tc.route) {
				t.Errorf("ComputeRouteStatus modified the route")
			}
			accepted := RouteAcceptedCondition(&status)
			if accepted == nil || (accepted.Status == metav1.ConditionTrue) != tc.acceptance.Accepted {
				t.Errorf("RouteAcceptedCondition = %+v", accepted)
			}
		})
	}
}
