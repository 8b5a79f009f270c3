package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

// A reconcile that reads a copy of the endpoint from before its own previous status write (the cache lags
// behind) must not write that transition again, nor record its events a second time: the flake of "An
// endpoint with a Redis queue says when Redis's persistence can lose acknowledged events, with a Warning",
// which saw two EventsAtRisk Warnings.
func TestAStaleCopyRecordsATransitionOnce(t *testing.T) {
	endpoint := endpointFixture(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.UID = "endpoint-uid"
		e.Spec.Auth.AllowUnauthenticated = true
	})
	r, c, recorder := fakeReconciler(t, endpoint, interceptor.Funcs{})
	stale := &fulfillmentv1alpha1.WebhookEndpoint{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(endpoint), stale); err != nil {
		t.Fatal(err)
	}
	facts := EndpointFacts{PodsRead: true, PodReports: []PodReport{{Pod: "bank-0", Found: true, Ready: true,
		Report: statusz.Report{Queues: []statusz.Queue{{Endpoint: "bots/bank", Kind: "Redis", Durability: statusz.DurabilityNone}}}}}}

	if err := r.updateStatus(context.Background(), stale.DeepCopy(), facts); err != nil {
		t.Fatalf("first status write: %v", err)
	}
	if err := r.updateStatus(context.Background(), stale.DeepCopy(), facts); !isStaleRead(err) {
		t.Fatalf("status write from the same stale copy = %v, want a conflict (isStaleRead)", err)
	}

	got := &fulfillmentv1alpha1.WebhookEndpoint{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(endpoint), got); err != nil {
		t.Fatal(err)
	}
	if durable := meta.FindStatusCondition(got.Status.Conditions, fulfillmentv1alpha1.ConditionQueueDurable); durable == nil || durable.Status != metav1.ConditionFalse {
		t.Fatalf("QueueDurable = %+v, want False", durable)
	}
	close(recorder.Events)
	atRisk := 0
	for event := range recorder.Events {
		if strings.HasPrefix(event, corev1.EventTypeWarning+" "+fulfillmentv1alpha1.ReasonEventsAtRisk) {
			atRisk++
		}
	}
	if atRisk != 1 {
		t.Errorf("recorded %d EventsAtRisk Warnings, want 1", atRisk)
	}
}

// A reconcile whose status write finds the endpoint changed since it was read comes back soon, and does not
// report the conflict as an error (which would be logged and backed off).
func TestAStaleStatusWriteRequeues(t *testing.T) {
	endpoint := endpointFixture(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.UID = "endpoint-uid"
		e.Spec.Auth.AllowUnauthenticated = true
	})
	r, _, _ := fakeReconciler(t, endpoint, interceptor.Funcs{
		SubResourceApply: func(context.Context, client.Client, string, runtime.ApplyConfiguration, ...client.SubResourceApplyOption) error {
			return apierrors.NewConflict(schema.GroupResource{Group: fulfillmentv1alpha1.GroupVersion.Group, Resource: "webhookendpoints"},
				"bank", errors.New("the object has been modified"))
		},
	})
	result, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKeyFromObject(endpoint)})
	if err != nil {
		t.Fatalf("Reconcile = %v, want no error for a stale read", err)
	}
	if result.RequeueAfter != staleReadRequeue {
		t.Errorf("RequeueAfter = %v, want %v", result.RequeueAfter, staleReadRequeue)
	}
}
