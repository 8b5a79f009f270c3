package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
)

var _ = Describe("A route trusting a CA bundle from a ConfigMap", func() {
	It("is refused while the ConfigMap is missing, then the ConfigMap is mounted into the pods", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		// bank-bot forwards to accounts, another endpoint of the operator, trusting the CA it publishes.
		Expect(k8sClient.Create(ctx, &fulfillmentv1alpha1.IntentRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "accounts"},
			Spec: fulfillmentv1alpha1.IntentRouteSpec{
				EndpointRef: fulfillmentv1alpha1.LocalObjectReference{Name: "bank-bot"},
				Match:       fulfillmentv1alpha1.RouteMatch{Intents: []string{"GetAccountBalance"}},
				Forward: &fulfillmentv1alpha1.ForwardAction{URL: "https://accounts." + namespace + ".svc/webhook",
					TLS: &fulfillmentv1alpha1.OutboundTLS{CARef: &fulfillmentv1alpha1.CABundleRef{
						ConfigMapKeyRef: &fulfillmentv1alpha1.ConfigMapKeySelector{Name: "accounts-ca-bundle", Key: controllers.CABundleKey}}}},
			},
		})).To(Succeed())

		Eventually(func(g Gomega) {
			route := &fulfillmentv1alpha1.IntentRoute{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "accounts"), route)).To(Succeed())
			refs := meta.FindStatusCondition(route.Status.Conditions, fulfillmentv1alpha1.ConditionResolvedRefs)
			g.Expect(refs).NotTo(BeNil())
			g.Expect(refs.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(refs.Reason).To(Equal(fulfillmentv1alpha1.ReasonConfigMapNotFound))
			g.Expect(refs.Message).To(ContainSubstring("spec.forward.tls.caRef.configMapKeyRef: ConfigMap accounts-ca-bundle not found"))
			g.Expect(accepted(g, namespace, "accounts").Reason).To(Equal(fulfillmentv1alpha1.ReasonInvalidTarget))
		}).Should(Succeed())

		// The accounts endpoint serves a SelfSigned certificate and publishes its CA in accounts-ca-bundle.
		accounts := bankEndpoint(namespace)
		accounts.Name = "accounts"
		accounts.Spec.TLS = &fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeSelfSigned}
		Expect(k8sClient.Create(ctx, accounts)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(accepted(g, namespace, "accounts").Reason).To(Equal(fulfillmentv1alpha1.ReasonAccepted))
			deployment := &appsv1.Deployment{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), deployment)).To(Succeed())
			pod := deployment.Spec.Template.Spec
			volume := controllers.ConfigMapVolumeName("accounts-ca-bundle")
			g.Expect(pod.Volumes).To(ContainElement(And(HaveField("Name", volume),
				HaveField("VolumeSource.ConfigMap", And(Not(BeNil()), HaveField("Name", "accounts-ca-bundle"))))))
			g.Expect(pod.Containers[0].VolumeMounts).To(ContainElement(And(HaveField("Name", volume),
				HaveField("MountPath", controllers.ConfigMapsDir+"/accounts-ca-bundle"), HaveField("ReadOnly", true))))
			config := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot-config"), config)).To(Succeed())
			g.Expect(config.Data[controllers.ConfigKey]).To(ContainSubstring("configMapsDir: ../configmaps"))
		}).Should(Succeed())

	})
})
