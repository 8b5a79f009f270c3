package controllers_test

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
)

// serverEnvOf is the webhookserver container's variables in the endpoint's Deployment, by name.
func serverEnvOf(g Gomega, namespace string) map[string]corev1.EnvVar {
	deployment := &appsv1.Deployment{}
	g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), deployment)).To(Succeed())
	env := map[string]corev1.EnvVar{}
	for _, v := range deployment.Spec.Template.Spec.Containers[0].Env {
		env[v.Name] = v
	}
	return env
}

var _ = Describe("Tracing", func() {
	It("waits for its Secret, references it from the pods' variables, and rolls them when it changes", func() {
		namespace := newNamespace()
		const receiverURL = "https://otlp.vendor.example:4318"
		const exportToken = "vendor-export-token-1234"
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		endpoint := bankEndpoint(namespace)
		endpoint.Spec.Observability = &fulfillmentv1alpha1.Observability{Tracing: &fulfillmentv1alpha1.Tracing{
			EndpointSecretRef: &fulfillmentv1alpha1.SecretKeySelector{Name: "otlp", Key: "url"},
			HeadersSecretRef:  &fulfillmentv1alpha1.SecretKeySelector{Name: "otlp", Key: "headers"},
		}}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())

		// The pods could not start without the Secret: SecretsReady names it and the field.
		Eventually(func(g Gomega) {
			secrets := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionSecretsReady)
			g.Expect(secrets).NotTo(BeNil())
			g.Expect(secrets.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(secrets.Reason).To(Equal(fulfillmentv1alpha1.ReasonSecretNotFound))
			g.Expect(secrets.Message).To(ContainSubstring("otlp"))
			g.Expect(secrets.Message).To(ContainSubstring("spec.observability.tracing.endpointSecretRef"))
		}).Should(Succeed())

		// The Secret watch brings the endpoint back once it exists.
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "otlp"},
			StringData: map[string]string{"url": receiverURL, "headers": "api-key=" + exportToken}})).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionSecretsReady).Status).To(Equal(metav1.ConditionTrue))
			env := serverEnvOf(g, namespace)
			for name, secretKey := range map[string]string{controllers.OTLPEndpointEnv: "url", controllers.OTLPHeadersEnv: "headers"} {
				g.Expect(env).To(HaveKey(name))
				g.Expect(env[name].Value).To(BeEmpty())
				g.Expect(env[name].ValueFrom.SecretKeyRef.Name).To(Equal("otlp"))
				g.Expect(env[name].ValueFrom.SecretKeyRef.Key).To(Equal(secretKey))
			}
			g.Expect(env[controllers.ServiceNameEnv].Value).To(Equal("bank-bot"))
			g.Expect(env[controllers.ResourceAttributesEnv].Value).To(ContainSubstring("fulfillment.endpoint=" + namespace + "/bank-bot"))
			g.Expect(env).NotTo(HaveKey(controllers.TracesSamplerEnv))
		}).Should(Succeed())

		// Neither the Deployment nor the ConfigMap holds the Secret's values.
		deployment := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), deployment)).To(Succeed())
		configMap := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, key(namespace, "bank-bot-config"), configMap)).To(Succeed())
		for _, obj := range []any{deployment, configMap} {
			content, err := json.Marshal(obj)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(content)).NotTo(ContainSubstring(exportToken))
			Expect(string(content)).NotTo(ContainSubstring(receiverURL))
		}

		// A sampling ratio changes the pod template: the Deployment rolls the pods.
		updateEndpoint(namespace, "bank-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Observability.Tracing.SamplingRatio = "0.1" })
		Eventually(func(g Gomega) {
			env := serverEnvOf(g, namespace)
			g.Expect(env[controllers.TracesSamplerEnv].Value).To(Equal("parentbased_traceidratio"))
			g.Expect(env[controllers.TracesSamplerArgEnv].Value).To(Equal("0.1"))
		}).Should(Succeed())

		// Without tracing, no OTEL_ variable is left.
		updateEndpoint(namespace, "bank-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Observability = nil })
		Eventually(func(g Gomega) {
			env := serverEnvOf(g, namespace)
			g.Expect(env).NotTo(HaveKey(controllers.OTLPEndpointEnv))
			g.Expect(env).NotTo(HaveKey(controllers.ResourceAttributesEnv))
		}).Should(Succeed())
	})
})
