package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

var _ = Describe("A status written by an operator version that patched it", func() {
	It("loses the conditions the operator no longer reports once the operator applies it", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, hmacEndpoint(ns, "upgraded"))).To(Succeed())
		Eventually(func(g Gomega) {
			endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
			g.Expect(k8sClient.Get(ctx, key(ns, "upgraded"), endpoint)).To(Succeed())
			g.Expect(meta.FindStatusCondition(endpoint.Status.Conditions, fulfillmentv1alpha1.ConditionReady)).NotTo(BeNil())
		}).Should(Succeed())

		// What an earlier version wrote with a merge patch (an Update of the status subresource): a Stalled
		// condition the endpoint no longer has reason for.
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
			if err := k8sClient.Get(ctx, key(ns, "upgraded"), endpoint); err != nil {
				return err
			}
			patch := client.MergeFrom(endpoint.DeepCopy())
			meta.SetStatusCondition(&endpoint.Status.Conditions, metav1.Condition{Type: fulfillmentv1alpha1.ConditionStalled,
				Status: metav1.ConditionTrue, Reason: "Left", Message: "left by an earlier operator", ObservedGeneration: endpoint.Generation})
			return k8sClient.Status().Patch(ctx, endpoint, patch, client.FieldOwner("manager"))
		})).To(Succeed())

		// A spec change brings the endpoint back to the operator.
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
			if err := k8sClient.Get(ctx, key(ns, "upgraded"), endpoint); err != nil {
				return err
			}
			endpoint.Spec.Path = "/upgraded"
			return k8sClient.Update(ctx, endpoint)
		})).To(Succeed())
		Eventually(func(g Gomega) {
			endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
			g.Expect(k8sClient.Get(ctx, key(ns, "upgraded"), endpoint)).To(Succeed())
			g.Expect(meta.FindStatusCondition(endpoint.Status.Conditions, fulfillmentv1alpha1.ConditionStalled)).To(BeNil())
		}).Should(Succeed())
	})
})
