package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
)

var _ = Describe("A route answering with a dialect's own fields", func() {
	It("is served by an endpoint of that dialect and refused when the endpoint changes dialect", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, &fulfillmentv1alpha1.IntentRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "menu"},
			Spec: fulfillmentv1alpha1.IntentRouteSpec{
				EndpointRef: fulfillmentv1alpha1.LocalObjectReference{Name: "bank-bot"},
				Match:       fulfillmentv1alpha1.RouteMatch{Intents: []string{"Main Menu"}},
				Respond: &fulfillmentv1alpha1.RespondAction{
					Messages: []fulfillmentv1alpha1.Message{{Card: &fulfillmentv1alpha1.CardMessage{Title: "What next?",
						Buttons: []fulfillmentv1alpha1.CardButton{{Text: "Balance"}}}}},
					Contexts: []fulfillmentv1alpha1.DialogflowContext{{Name: "menu"}},
				},
			},
		})).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(accepted(g, namespace, "menu").Reason).To(Equal(fulfillmentv1alpha1.ReasonAccepted))
			config := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot-config"), config)).To(Succeed())
			g.Expect(config.Data[controllers.ConfigKey]).To(ContainSubstring("What next?"))
		}).Should(Succeed())

		// The operator writes the endpoint's status meanwhile, so the update may meet a newer version.
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
			if err := k8sClient.Get(ctx, key(namespace, "bank-bot"), endpoint); err != nil {
				return err
			}
			endpoint.Spec.Dialect = fulfillmentv1alpha1.DialectDialogflowCX
			return k8sClient.Update(ctx, endpoint)
		})).To(Succeed())
		Eventually(func(g Gomega) {
			condition := accepted(g, namespace, "menu")
			g.Expect(condition.Reason).To(Equal(fulfillmentv1alpha1.ReasonInvalidTarget))
			g.Expect(condition.Message).To(ContainSubstring("spec.respond.contexts: a DialogflowCX endpoint cannot send it; " +
				"remove it or reference an endpoint of a dialect that does (DialogflowES)"))
			g.Expect(condition.Message).To(ContainSubstring("spec.respond.messages[0].card: a DialogflowCX endpoint cannot send it"))
			config := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot-config"), config)).To(Succeed())
			g.Expect(config.Data[controllers.ConfigKey]).NotTo(ContainSubstring("What next?"))
		}).Should(Succeed())
	})
})
