package controllers_test

import (
	"encoding/json"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// updateSecret changes a Secret's data.
func updateSecret(namespace, name string, mutate func(data map[string][]byte)) {
	GinkgoHelper()
	secret := &corev1.Secret{}
	Expect(k8sClient.Get(ctx, key(namespace, name), secret)).To(Succeed())
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	mutate(secret.Data)
	Expect(k8sClient.Update(ctx, secret)).To(Succeed())
}

// routeNames are the names of the routes in an endpoint's rendered configuration.
func routeNames(g Gomega, namespace, endpoint string) []string {
	var names []string
	for _, r := range renderedConfig(g, namespace, endpoint).Endpoints[0].Routes {
		names = append(names, r.Name)
	}
	return names
}

var _ = Describe("Referenced Secrets hold what the server reads", func() {
	It("a basic-auth Secret without password: SecretsReady=False SecretKeyMissing naming Secret, key and field, Stalled; Ready once the key is added", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "bank-basic"},
			StringData: map[string]string{"username": "dialogflow"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		Eventually(func(g Gomega) {
			secrets := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionSecretsReady)
			g.Expect(secrets).NotTo(BeNil())
			g.Expect(secrets.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(secrets.Reason).To(Equal(fulfillmentv1alpha1.ReasonSecretKeyMissing))
			g.Expect(secrets.Message).To(ContainSubstring("spec.auth.basic.secretRef: Secret bank-basic key password does not exist"))
			ready := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(fulfillmentv1alpha1.ReasonSecretKeyMissing))
			stalled := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())

		updateSecret(namespace, "bank-basic", func(data map[string][]byte) { data["password"] = []byte("s3cret-password") })
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "bank-bot")
			e := mustGetEndpoint(namespace, "bank-bot")
			g.Expect(e).To(beReady())
			g.Expect(meta.FindStatusCondition(e.Status.Conditions, fulfillmentv1alpha1.ConditionStalled)).To(BeNil())
		}).Should(Succeed())
	})

	It("a hand-edited generated HMAC key in the wrong format: SecretKeyInvalid with what to do, never the value", func() {
		namespace := newNamespace()
		endpoint := &fulfillmentv1alpha1.WebhookEndpoint{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "events"},
			Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
				Dialect: fulfillmentv1alpha1.DialectGeneric,
				Auth:    fulfillmentv1alpha1.EndpointAuth{HMAC: &fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeStandardWebhooks}},
			},
		}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "events")
			g.Expect(mustGetEndpoint(namespace, "events")).To(beReady())
		}).Should(Succeed())

		const edited = "whsec_hand-edited!"
		updateSecret(namespace, "events-hmac", func(data map[string][]byte) { data["secret"] = []byte(edited) })
		Eventually(func(g Gomega) {
			secrets := condition(g, namespace, "events", fulfillmentv1alpha1.ConditionSecretsReady)
			g.Expect(secrets.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(secrets.Reason).To(Equal(fulfillmentv1alpha1.ReasonSecretKeyInvalid))
			g.Expect(secrets.Message).To(ContainSubstring("Secret events-hmac key secret is not a valid StandardWebhooks key"))
			g.Expect(secrets.Message).To(ContainSubstring("delete Secret events-hmac"))
			g.Expect(secrets.Message).NotTo(ContainSubstring(edited))
			g.Expect(condition(g, namespace, "events", fulfillmentv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
		}).Should(Succeed())
		Expect(eventNotes(Default, namespace, fulfillmentv1alpha1.ReasonSecretKeyInvalid)).NotTo(ContainElement(ContainSubstring(edited)))

		// Deleting the Secret lets the operator generate a valid key again.
		Expect(k8sClient.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "events-hmac"}})).To(Succeed())
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "events")
			g.Expect(mustGetEndpoint(namespace, "events")).To(beReady())
		}).Should(Succeed())
	})

	It("a route header Secret without its key: ResolvedRefs=False SecretKeyMissing with the key, the route left out", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "bank-api"},
			StringData: map[string]string{"tok": "abc"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, respondRoute(namespace, "welcome", "bank-bot", "Welcome", "Hello!"))).To(Succeed())
		call := respondRoute(namespace, "balance", "bank-bot", "Balance", "")
		call.Spec.Respond = nil
		call.Spec.Call = &fulfillmentv1alpha1.CallAction{URL: "https://bank.example.com/balance", Headers: []fulfillmentv1alpha1.Header{{
			Name: "X-Token", ValueFrom: &fulfillmentv1alpha1.HeaderSource{SecretKeyRef: fulfillmentv1alpha1.SecretKeySelector{Name: "bank-api", Key: "token"}}}}}
		Expect(k8sClient.Create(ctx, call)).To(Succeed())
		Eventually(func(g Gomega) {
			route := &fulfillmentv1alpha1.IntentRoute{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "balance"), route)).To(Succeed())
			refs := meta.FindStatusCondition(route.Status.Conditions, fulfillmentv1alpha1.ConditionResolvedRefs)
			g.Expect(refs).NotTo(BeNil())
			g.Expect(refs.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(refs.Reason).To(Equal(fulfillmentv1alpha1.ReasonSecretKeyMissing))
			g.Expect(refs.Message).To(ContainSubstring("spec.call.headers[0].valueFrom.secretKeyRef: Secret bank-api key token does not exist"))
			g.Expect(accepted(g, namespace, "balance").Status).To(Equal(metav1.ConditionFalse))
			g.Expect(routeNames(g, namespace, "bank-bot")).To(Equal([]string{"welcome"}))
		}).Should(Succeed())

		updateSecret(namespace, "bank-api", func(data map[string][]byte) { data["token"] = []byte("abc") })
		Eventually(func(g Gomega) {
			g.Expect(accepted(g, namespace, "balance").Status).To(Equal(metav1.ConditionTrue))
			g.Expect(routeNames(g, namespace, "bank-bot")).To(ConsistOf("welcome", "balance"))
		}).Should(Succeed())
	})
})

var _ = Describe("A configuration over the ConfigMap limit", func() {
	It("refuses the route that does not fit alone, keeps serving the others and applies later edits", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, respondRoute(namespace, "welcome", "bank-bot", "Welcome", "Hello!"))).To(Succeed())
		payload, err := json.Marshal(map[string]string{"blob": strings.Repeat("x", 1100*1024)})
		Expect(err).NotTo(HaveOccurred())
		huge := respondRoute(namespace, "huge", "bank-bot", "Huge", "Here it is")
		huge.Spec.Respond.Payload = &apiextensionsv1.JSON{Raw: payload}
		Expect(k8sClient.Create(ctx, huge)).To(Succeed())
		Expect(k8sClient.Create(ctx, respondRoute(namespace, "goodbye", "bank-bot", "Goodbye", "Bye!"))).To(Succeed())

		Eventually(func(g Gomega) {
			c := accepted(g, namespace, "huge")
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(fulfillmentv1alpha1.ReasonConfigurationTooLarge))
			g.Expect(c.Message).To(ContainSubstring("1048576 bytes (1.00 MiB) a ConfigMap holds"))
			g.Expect(c.Message).To(ContainSubstring("the route adds"))
			g.Expect(accepted(g, namespace, "welcome").Status).To(Equal(metav1.ConditionTrue))
			g.Expect(accepted(g, namespace, "goodbye").Status).To(Equal(metav1.ConditionTrue))
			g.Expect(routeNames(g, namespace, "bank-bot")).To(ConsistOf("welcome", "goodbye"))
			playDeploymentController(g, namespace, "bank-bot")
			e := mustGetEndpoint(namespace, "bank-bot")
			g.Expect(e).To(beReady())
			g.Expect(*e.Status.Routes).To(Equal(fulfillmentv1alpha1.RouteCounts{Accepted: 2, Rejected: 1}))
		}).Should(Succeed())

		// Another route's edit still reaches the ConfigMap.
		route := &fulfillmentv1alpha1.IntentRoute{}
		Expect(k8sClient.Get(ctx, key(namespace, "goodbye"), route)).To(Succeed())
		route.Spec.Respond.Text = "See you soon!"
		Expect(k8sClient.Update(ctx, route)).To(Succeed())
		Eventually(func(g Gomega) {
			for _, r := range renderedConfig(g, namespace, "bank-bot").Endpoints[0].Routes {
				if r.Name == "goodbye" {
					g.Expect(r.Spec.Respond.Text).To(Equal("See you soon!"))
					return
				}
			}
			g.Expect("goodbye").To(BeEmpty(), "route goodbye not in the configuration")
		}).Should(Succeed())
		Expect(condition(Default, namespace, "bank-bot", fulfillmentv1alpha1.ConditionReady).Reason).NotTo(Equal(fulfillmentv1alpha1.ReasonApplyFailed))
	})
	It("decides again whether a route fits when a route before it is accepted because its Secret got the key", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "bank-api"},
			StringData: map[string]string{"tok": "abc"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		payload, err := json.Marshal(map[string]string{"blob": strings.Repeat("x", 600*1024)})
		Expect(err).NotTo(HaveOccurred())
		// first comes before second in the server's order and reads a key its Secret does not have yet.
		first := respondRoute(namespace, "first", "bank-bot", "First", "")
		first.Spec.Priority = 10
		first.Spec.Respond = nil
		first.Spec.Call = &fulfillmentv1alpha1.CallAction{URL: "https://bank.example.com/first",
			Headers: []fulfillmentv1alpha1.Header{{Name: "X-Token", ValueFrom: &fulfillmentv1alpha1.HeaderSource{
				SecretKeyRef: fulfillmentv1alpha1.SecretKeySelector{Name: "bank-api", Key: "token"}}}},
			Respond: &fulfillmentv1alpha1.RespondAction{Text: "First", Payload: &apiextensionsv1.JSON{Raw: payload}}}
		Expect(k8sClient.Create(ctx, first)).To(Succeed())
		second := respondRoute(namespace, "second", "bank-bot", "Second", "Second")
		second.Spec.Respond.Payload = &apiextensionsv1.JSON{Raw: payload}
		Expect(k8sClient.Create(ctx, second)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(accepted(g, namespace, "first").Reason).To(Equal(fulfillmentv1alpha1.ReasonInvalidTarget))
			g.Expect(accepted(g, namespace, "second").Status).To(Equal(metav1.ConditionTrue))
			g.Expect(routeNames(g, namespace, "bank-bot")).To(Equal([]string{"second"}))
		}).Should(Succeed())

		// Only the Secret changes: the route that reads it and the one it displaces must both be decided again.
		updateSecret(namespace, "bank-api", func(data map[string][]byte) { data["token"] = []byte("abc") })
		Eventually(func(g Gomega) {
			g.Expect(accepted(g, namespace, "first").Status).To(Equal(metav1.ConditionTrue))
			g.Expect(routeNames(g, namespace, "bank-bot")).To(Equal([]string{"first"}))
			g.Expect(accepted(g, namespace, "second").Reason).To(Equal(fulfillmentv1alpha1.ReasonConfigurationTooLarge),
				"the route status must say what the ConfigMap holds")
		}).Should(Succeed())
	})
})
