package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// localQueueEndpoint is a Generic Async endpoint with the Local queue.
func localQueueEndpoint(namespace, name string, replicas int32) *fulfillmentv1alpha1.WebhookEndpoint {
	return &fulfillmentv1alpha1.WebhookEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
			Dialect:  fulfillmentv1alpha1.DialectGeneric,
			Auth:     fulfillmentv1alpha1.EndpointAuth{AllowUnauthenticated: true},
			Delivery: &fulfillmentv1alpha1.Delivery{Mode: fulfillmentv1alpha1.DeliveryAsync, Queue: fulfillmentv1alpha1.QueueLocal},
			Replicas: ptr.To(replicas),
		},
	}
}

// playStatefulSetController writes the status the StatefulSet controller would write once every replica runs
// the current revision and is available (envtest runs no controller-manager).
func playStatefulSetController(g Gomega, namespace, name string) {
	set := &appsv1.StatefulSet{}
	g.Expect(k8sClient.Get(ctx, key(namespace, name), set)).To(Succeed())
	replicas := ptr.Deref(set.Spec.Replicas, 1)
	if set.Status.ObservedGeneration == set.Generation && set.Status.AvailableReplicas == replicas && set.Status.Replicas == replicas {
		return
	}
	set.Status = appsv1.StatefulSetStatus{ObservedGeneration: set.Generation, Replicas: replicas, ReadyReplicas: replicas,
		CurrentReplicas: replicas, UpdatedReplicas: replicas, AvailableReplicas: replicas,
		CurrentRevision: name + "-1", UpdateRevision: name + "-1"}
	g.Expect(k8sClient.Status().Update(ctx, set)).To(Succeed())
}

var _ = Describe("An endpoint with a Local queue", func() {
	It("runs as a StatefulSet whose pods keep their queue on claims of their own", func() {
		startGarbageCollector() // replacing the StatefulSet below orphans its pods through it
		ns := newNamespace()
		endpoint := localQueueEndpoint(ns, "events", 2)
		endpoint.Spec.Delivery.Storage = &fulfillmentv1alpha1.QueueStorage{Size: ptr.To(resource.MustParse("3Gi"))}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())

		set := &appsv1.StatefulSet{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(ns, "events"), set)).To(Succeed())
		}).Should(Succeed())
		Expect(metav1.IsControlledBy(set, endpoint)).To(BeTrue())
		Expect(*set.Spec.Replicas).To(Equal(int32(2)))
		Expect(set.Spec.VolumeClaimTemplates).To(HaveLen(1))
		size := set.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]
		Expect(size.String()).To(Equal("3Gi"))
		Expect(set.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted).To(Equal(appsv1.RetainPersistentVolumeClaimRetentionPolicyType))
		Expect(set.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled).To(Equal(appsv1.RetainPersistentVolumeClaimRetentionPolicyType))
		Expect(k8sClient.Get(ctx, key(ns, "events"), &appsv1.Deployment{})).To(Satisfy(apierrors.IsNotFound),
			"an endpoint with a Local queue has no Deployment")

		Eventually(func(g Gomega) {
			playStatefulSetController(g, ns, "events")
			current := &fulfillmentv1alpha1.WebhookEndpoint{}
			g.Expect(k8sClient.Get(ctx, key(ns, "events"), current)).To(Succeed())
			ready := meta.FindStatusCondition(current.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
			g.Expect(ready.Message).To(ContainSubstring("2/2 replicas available"))
			g.Expect(current.Status.Replicas).To(Equal(int32(2)))
		}).WithTimeout(30 * time.Second).Should(Succeed())

		// A new volume size cannot change the immutable claim templates: the StatefulSet is replaced, its pods
		// and claims left to the new one.
		uid := set.UID
		Eventually(func(g Gomega) {
			current := &fulfillmentv1alpha1.WebhookEndpoint{}
			g.Expect(k8sClient.Get(ctx, key(ns, "events"), current)).To(Succeed())
			current.Spec.Delivery.Storage.Size = ptr.To(resource.MustParse("5Gi"))
			g.Expect(k8sClient.Update(ctx, current)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(ns, "events"), set)).To(Succeed())
			g.Expect(set.UID).NotTo(Equal(uid))
			size := set.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]
			g.Expect(size.String()).To(Equal("5Gi"))
			g.Expect(eventNotes(g, ns, "StatefulSetReplaced")).To(HaveLen(1))
		}).WithTimeout(90 * time.Second).Should(Succeed())
	})
})
