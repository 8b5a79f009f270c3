package controllers_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

func basicSecret(namespace, name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		StringData: map[string]string{"username": "dialogflow", "password": "s3cret-password"}}
}

func bankEndpoint(namespace string) *fulfillmentv1alpha1.WebhookEndpoint {
	return &fulfillmentv1alpha1.WebhookEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "bank-bot"},
		Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
			Dialect:  fulfillmentv1alpha1.DialectDialogflowES,
			Auth:     fulfillmentv1alpha1.EndpointAuth{Basic: &fulfillmentv1alpha1.BasicAuth{SecretRef: fulfillmentv1alpha1.LocalObjectReference{Name: "bank-basic"}}},
			Fallback: &fulfillmentv1alpha1.Fallback{Text: "Sorry."},
		},
	}
}

func respondRoute(namespace, name, endpoint, intent, text string) *fulfillmentv1alpha1.IntentRoute {
	return &fulfillmentv1alpha1.IntentRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: fulfillmentv1alpha1.IntentRouteSpec{
			EndpointRef: fulfillmentv1alpha1.LocalObjectReference{Name: endpoint},
			Match:       fulfillmentv1alpha1.RouteMatch{Intents: []string{intent}},
			Respond:     &fulfillmentv1alpha1.RespondAction{Text: text},
		},
	}
}

func key(namespace, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: namespace, Name: name}
}

// renderedConfig is the configuration in an endpoint's ConfigMap, parsed as the server parses it.
func renderedConfig(g Gomega, namespace, endpoint string) *configfile.File {
	cm := &corev1.ConfigMap{}
	g.Expect(k8sClient.Get(ctx, key(namespace, endpoint+"-config"), cm)).To(Succeed())
	file, err := config.ParseFile("config.yaml", []byte(cm.Data["config.yaml"]))
	g.Expect(err).NotTo(HaveOccurred())
	return file
}

func condition(g Gomega, namespace, name, conditionType string) *metav1.Condition {
	endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
	g.Expect(k8sClient.Get(ctx, key(namespace, name), endpoint)).To(Succeed())
	return meta.FindStatusCondition(endpoint.Status.Conditions, conditionType)
}

var _ = Describe("WebhookEndpoint controller", func() {
	var namespace string
	BeforeEach(func() { namespace = newNamespace() })

	It("renders every owned object, hardened, and re-renders only the endpoint whose route changed", func() {
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, respondRoute(namespace, "welcome", "bank-bot", "Welcome", "Hello!"))).To(Succeed())
		other := bankEndpoint(namespace)
		other.Name = "other-bot"
		Expect(k8sClient.Create(ctx, other)).To(Succeed())

		Eventually(func(g Gomega) {
			file := renderedConfig(g, namespace, "bank-bot")
			g.Expect(file.Endpoints).To(HaveLen(1))
			g.Expect(file.Endpoints[0].Routes).To(HaveLen(1))
			g.Expect(file.Endpoints[0].Routes[0].Spec.Respond.Text).To(Equal("Hello!"))
		}).Should(Succeed())

		deployment := &appsv1.Deployment{}
		Eventually(func() error { return k8sClient.Get(ctx, key(namespace, "bank-bot"), deployment) }).Should(Succeed())
		Expect(deployment.Spec.Replicas).To(Equal(ptr.To[int32](2)))
		pod := deployment.Spec.Template.Spec
		Expect(pod.AutomountServiceAccountToken).To(Equal(ptr.To(false)))
		Expect(pod.ServiceAccountName).To(Equal("bank-bot"))
		Expect(pod.SecurityContext.RunAsNonRoot).To(Equal(ptr.To(true)))
		Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
		container := pod.Containers[0]
		Expect(container.Image).To(Equal(image))
		Expect(container.SecurityContext.ReadOnlyRootFilesystem).To(Equal(ptr.To(true)))
		Expect(container.SecurityContext.AllowPrivilegeEscalation).To(Equal(ptr.To(false)))
		Expect(container.SecurityContext.Capabilities.Drop).To(ContainElement(corev1.Capability("ALL")))
		Expect(strings.Join(container.Args, " ")).To(ContainSubstring("serve --config"))
		Expect(deployment).To(beControlledBy(mustGetEndpoint(namespace, "bank-bot")))

		for _, obj := range []client.Object{&corev1.Service{}, &corev1.ServiceAccount{}, &policyv1.PodDisruptionBudget{}, &networkingv1.NetworkPolicy{}} {
			Eventually(func() error { return k8sClient.Get(ctx, key(namespace, "bank-bot"), obj) }).Should(Succeed(), "%T", obj)
		}
		Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), &autoscalingv2.HorizontalPodAutoscaler{})).To(beNotFound())

		Eventually(func(g Gomega) {
			g.Expect(renderedConfig(g, namespace, "other-bot").Endpoints).To(HaveLen(1))
		}).Should(Succeed())
		otherConfig := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, key(namespace, "other-bot-config"), otherConfig)).To(Succeed())
		before := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), before)).To(Succeed())

		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			route := &fulfillmentv1alpha1.IntentRoute{}
			if err := k8sClient.Get(ctx, key(namespace, "welcome"), route); err != nil {
				return err
			}
			route.Spec.Respond.Text = "Welcome back!"
			return k8sClient.Update(ctx, route)
		})).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(renderedConfig(g, namespace, "bank-bot").Endpoints[0].Routes[0].Spec.Respond.Text).To(Equal("Welcome back!"))
		}).Should(Succeed())
		unchanged := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, key(namespace, "other-bot-config"), unchanged)).To(Succeed())
		Expect(unchanged.ResourceVersion).To(Equal(otherConfig.ResourceVersion), "the other endpoint was re-rendered")
		// The server reloads the ConfigMap in place: the Deployment is not touched, so its generation (and the
		// endpoint's Ready) does not move on a route edit.
		after := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), after)).To(Succeed())
		Expect(after.Generation).To(Equal(before.Generation), "a route edit bumped the Deployment's generation")
	})

	It("restores owned objects that are deleted or edited by hand", func() {
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		service := &corev1.Service{}
		Eventually(func() error { return k8sClient.Get(ctx, key(namespace, "bank-bot"), service) }).Should(Succeed())
		uid := service.UID
		Expect(k8sClient.Delete(ctx, service)).To(Succeed())
		Eventually(func(g Gomega) {
			restored := &corev1.Service{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), restored)).To(Succeed())
			g.Expect(restored.UID).NotTo(Equal(uid))
		}).Should(Succeed())

		expectHandEditedImagePutBack(namespace, "bank-bot")
	})

	It("waits for a missing referenced Secret, saying which (Reconciling, not Stalled), and rolls out once it exists", func() {
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		Eventually(func(g Gomega) {
			reconciling := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionReconciling)
			g.Expect(reconciling).NotTo(BeNil())
			g.Expect(reconciling.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(reconciling.Reason).To(Equal(fulfillmentv1alpha1.ReasonSecretNotFound))
			g.Expect(reconciling.Message).To(ContainSubstring("Secret bank-basic not found"))
			g.Expect(condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionStalled)).To(BeNil())
			g.Expect(condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(mustGetEndpoint(namespace, "bank-bot").Status.ObservedGeneration).To(BeZero(), "nothing of generation 1 is applied")
		}).Should(Succeed())
		Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), &appsv1.Deployment{})).To(beNotFound(),
			"no Deployment may roll out with a Secret it cannot mount")

		// No retry is needed: the Secret watch brings the endpoint back.
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), &appsv1.Deployment{})).To(Succeed())
			e := mustGetEndpoint(namespace, "bank-bot")
			g.Expect(e.Status.ObservedGeneration).To(Equal(e.Generation))
			g.Expect(condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionSecretsReady).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
	})

	It("removes the HPA when autoscaling is turned off and scales to zero when suspended", func() {
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		endpoint := bankEndpoint(namespace)
		endpoint.Spec.Autoscaling = &fulfillmentv1alpha1.Autoscaling{MaxReplicas: 5}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		Eventually(func() error {
			return k8sClient.Get(ctx, key(namespace, "bank-bot"), &autoscalingv2.HorizontalPodAutoscaler{})
		}).Should(Succeed())

		updateEndpoint(namespace, "bank-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Autoscaling = nil })
		Eventually(func() error {
			return k8sClient.Get(ctx, key(namespace, "bank-bot"), &autoscalingv2.HorizontalPodAutoscaler{})
		}).Should(beNotFound())

		updateEndpoint(namespace, "bank-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Suspend = true })
		Eventually(func(g Gomega) {
			deployment := &appsv1.Deployment{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), deployment)).To(Succeed())
			g.Expect(deployment.Spec.Replicas).To(Equal(ptr.To[int32](0)))
		}).Should(Succeed())
	})

	It("exposes the endpoint through a Gateway API HTTPRoute and removes it when no longer wanted", func() {
		infra := newNamespace() // the Gateway's
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		endpoint := bankEndpoint(namespace)
		endpoint.Spec.HTTPRoute = &fulfillmentv1alpha1.HTTPRouteSettings{
			ParentRefs: []fulfillmentv1alpha1.ParentReference{{Name: "public", Namespace: ptr.To(infra)}},
			Hostnames:  []string{"bank.example.com"},
		}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		route := &gatewayv1.HTTPRoute{}
		Eventually(func() error { return k8sClient.Get(ctx, key(namespace, "bank-bot"), route) }).Should(Succeed())
		Expect(route.Spec.ParentRefs).To(HaveLen(1))
		Expect(string(route.Spec.ParentRefs[0].Name)).To(Equal("public"))
		Expect(route.Spec.Hostnames).To(ConsistOf(gatewayv1.Hostname("bank.example.com")))
		Expect(string(route.Spec.Rules[0].BackendRefs[0].Name)).To(Equal("bank-bot"))
		// The Gateway public does not exist: what it would serve is unknown, so there is no external URL.
		Eventually(func(g Gomega) {
			e := mustGetEndpoint(namespace, "bank-bot")
			g.Expect(e.Status.ObservedGeneration).To(Equal(e.Generation))
			g.Expect(e.Status.ExternalURL).To(BeEmpty())
		}).Should(Succeed())
		// Its HTTP listener on port 8080 makes the URL http with the port (an HTTPS listener would be preferred).
		Expect(k8sClient.Create(ctx, &gatewayv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Namespace: infra, Name: "public"},
			Spec: gatewayv1.GatewaySpec{GatewayClassName: "example", Listeners: []gatewayv1.Listener{
				{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 8080}}},
		})).To(Succeed())
		touch(namespace, "bank-bot") // Gateways are read, not watched
		Eventually(func(g Gomega) {
			g.Expect(mustGetEndpoint(namespace, "bank-bot").Status.ExternalURL).To(Equal("http://bank.example.com:8080/webhook"))
		}).Should(Succeed())

		updateEndpoint(namespace, "bank-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.HTTPRoute = nil })
		Eventually(func() error {
			return k8sClient.Get(ctx, key(namespace, "bank-bot"), &gatewayv1.HTTPRoute{})
		}).Should(beNotFound())
	})

	It("generates and rotates the HMAC key, keeping the previous one through the grace period", func() {
		endpoint := &fulfillmentv1alpha1.WebhookEndpoint{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "payments"},
			Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
				Dialect: fulfillmentv1alpha1.DialectGeneric,
				Auth: fulfillmentv1alpha1.EndpointAuth{HMAC: &fulfillmentv1alpha1.HMACAuth{
					Scheme:   fulfillmentv1alpha1.HMACSchemeStandardWebhooks,
					Rotation: &fulfillmentv1alpha1.KeyRotation{Interval: metav1.Duration{Duration: 24 * time.Hour}, GracePeriod: metav1.Duration{Duration: time.Hour}},
				}},
			},
		}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		secret := &corev1.Secret{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "payments-hmac"), secret)).To(Succeed())
			g.Expect(string(secret.Data["secret"])).To(HavePrefix("whsec_"))
		}).Should(Succeed())
		first := string(secret.Data["secret"])

		// A day later, a reconcile (here caused by a spec change) rotates: both keys are valid.
		clock.Step(25 * time.Hour)
		touch(namespace, "payments")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "payments-hmac"), secret)).To(Succeed())
			g.Expect(string(secret.Data["previous"])).To(Equal(first))
			g.Expect(string(secret.Data["secret"])).NotTo(Equal(first))
		}).Should(Succeed())
		second := string(secret.Data["secret"])
		Eventually(func(g Gomega) {
			e := mustGetEndpoint(namespace, "payments")
			g.Expect(e.Status.LastKeyRotationTime).NotTo(BeNil())
			g.Expect(e.Status.HMACSecretName).To(Equal("payments-hmac"))
		}).Should(Succeed())

		// After the grace period only the new key is valid.
		clock.Step(2 * time.Hour)
		touch(namespace, "payments")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "payments-hmac"), secret)).To(Succeed())
			g.Expect(secret.Data).NotTo(HaveKey("previous"))
			g.Expect(string(secret.Data["secret"])).To(Equal(second))
		}).Should(Succeed())
		// No key in the status or in any event.
		status := fmt.Sprintf("%+v", mustGetEndpoint(namespace, "payments").Status)
		Expect(status).NotTo(ContainSubstring(first))
		Expect(status).NotTo(ContainSubstring(second))
		events := &eventsv1.EventList{}
		Expect(k8sClient.List(ctx, events, client.InNamespace(namespace))).To(Succeed())
		Expect(events.Items).NotTo(BeEmpty())
		for _, event := range events.Items {
			Expect(event.Note).NotTo(ContainSubstring(first))
			Expect(event.Note).NotTo(ContainSubstring(second))
		}
		Expect(events.Items).To(ContainElement(HaveField("Reason", "KeyRotated")), "no KeyRotated event")
	})

	It("rotates the generated HMAC key once per fulfillment.dev/rotate-key token", func() {
		endpoint := &fulfillmentv1alpha1.WebhookEndpoint{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "orders"},
			Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
				Dialect: fulfillmentv1alpha1.DialectGeneric,
				Auth: fulfillmentv1alpha1.EndpointAuth{HMAC: &fulfillmentv1alpha1.HMACAuth{
					Scheme: fulfillmentv1alpha1.HMACSchemeStandardWebhooks}},
			},
		}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		secret := &corev1.Secret{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "orders-hmac"), secret)).To(Succeed())
			g.Expect(string(secret.Data["secret"])).To(HavePrefix("whsec_"))
		}).Should(Succeed())
		first := string(secret.Data["secret"])
		Expect(secret.Data).NotTo(HaveKey("previous"))

		clock.Step(time.Minute)
		const token = "2026-11-26T12:01:00Z"
		setAnnotation(namespace, "orders", controllers.AnnotationRotateKey, token)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "orders-hmac"), secret)).To(Succeed())
			g.Expect(secret.Annotations).To(HaveKeyWithValue(controllers.AnnotationRotateKeyHandled, token))
		}).Should(Succeed())
		Expect(string(secret.Data["previous"])).To(Equal(first), "the old key stays valid for the grace period")
		second := string(secret.Data["secret"])
		Expect(second).To(HavePrefix("whsec_"))
		Expect(second).NotTo(Equal(first))
		rotatedAt, err := time.Parse(time.RFC3339, secret.Annotations[controllers.AnnotationKeyRotatedAt])
		Expect(err).NotTo(HaveOccurred())
		Expect(rotatedAt).To(BeTemporally("==", clock.Now().Truncate(time.Second)))
		Expect(secret.Annotations).To(HaveKeyWithValue(controllers.AnnotationPreviousKeyExpiresAt,
			rotatedAt.Add(controllers.DefaultKeyGracePeriod).Format(time.RFC3339)))
		Eventually(func(g Gomega) {
			last := mustGetEndpoint(namespace, "orders").Status.LastKeyRotationTime
			g.Expect(last).NotTo(BeNil())
			g.Expect(last.Time).To(BeTemporally("==", rotatedAt))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(eventNotes(g, namespace, "KeyRotated")).To(ContainElement(And(ContainSubstring("as requested"), ContainSubstring(token))))
		}).Should(Succeed())

		// The same token again, after the annotation was removed and with reconciles in between (a spec
		// change), rotates nothing: the Secret is not even written.
		version := secret.ResourceVersion
		setAnnotation(namespace, "orders", controllers.AnnotationRotateKey, "")
		setAnnotation(namespace, "orders", controllers.AnnotationRotateKey, token)
		touch(namespace, "orders")
		Eventually(func(g Gomega) {
			e := mustGetEndpoint(namespace, "orders")
			g.Expect(e.Status.ObservedGeneration).To(Equal(e.Generation))
			g.Expect(renderedConfig(g, namespace, "orders").Endpoints[0].Spec.Fallback.Text).To(Equal(e.Spec.Fallback.Text))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "orders-hmac"), secret)).To(Succeed())
			g.Expect(secret.ResourceVersion).To(Equal(version))
		}, time.Second, 100*time.Millisecond).Should(Succeed())
		Expect(string(secret.Data["secret"])).To(Equal(second))
	})

	It("warns once per token that fulfillment.dev/rotate-key does nothing for a referenced HMAC Secret", func() {
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "orders-key"},
			StringData: map[string]string{"secret": "a-key-the-user-manages"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &fulfillmentv1alpha1.WebhookEndpoint{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "orders", Annotations: map[string]string{controllers.AnnotationRotateKey: "one"}},
			Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
				Dialect: fulfillmentv1alpha1.DialectGeneric,
				Auth: fulfillmentv1alpha1.EndpointAuth{HMAC: &fulfillmentv1alpha1.HMACAuth{
					Scheme: fulfillmentv1alpha1.HMACSchemeGitHub, SecretRef: &fulfillmentv1alpha1.LocalObjectReference{Name: "orders-key"}}},
			},
		})).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(eventNotes(g, namespace, "RotateKeyIgnored")).To(ConsistOf(
				"fulfillment.dev/rotate-key ignored: spec.auth.hmac.secretRef is set; rotate the referenced Secret yourself"))
		}).Should(Succeed())

		// More reconciles with the same token: still one event, never repeated (a repeat would turn it into a
		// series).
		touch(namespace, "orders")
		Eventually(func(g Gomega) {
			e := mustGetEndpoint(namespace, "orders")
			g.Expect(e.Status.ObservedGeneration).To(Equal(e.Generation))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			events := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx, events, client.InNamespace(namespace))).To(Succeed())
			ignored := 0
			for _, event := range events.Items {
				if event.Reason == "RotateKeyIgnored" {
					ignored++
					g.Expect(event.Series).To(BeNil())
				}
			}
			g.Expect(ignored).To(Equal(1))
		}, 2*time.Second, 200*time.Millisecond).Should(Succeed())

		// A new token is warned about again.
		setAnnotation(namespace, "orders", controllers.AnnotationRotateKey, "two")
		Eventually(func(g Gomega) {
			g.Expect(eventNotes(g, namespace, "RotateKeyIgnored")).To(HaveLen(2))
		}).Should(Succeed())
		secret := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, key(namespace, "orders-key"), secret)).To(Succeed())
		Expect(string(secret.Data["secret"])).To(Equal("a-key-the-user-manages"))
	})

	It("re-reconciles an unchanged endpoint without a single apply, and a hand edit costs one", func() {
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		endpoint := bankEndpoint(namespace)
		// Every kind the operator applies besides TLS and the Ingress (an alternative to the HTTPRoute):
		// ServiceAccount, ConfigMap, Service, NetworkPolicy, Deployment, PodDisruptionBudget,
		// HorizontalPodAutoscaler and the HTTPRoute, unstructured.
		endpoint.Spec.Autoscaling = &fulfillmentv1alpha1.Autoscaling{MinReplicas: ptr.To[int32](2), MaxReplicas: 4}
		endpoint.Spec.HTTPRoute = &fulfillmentv1alpha1.HTTPRouteSettings{
			ParentRefs: []fulfillmentv1alpha1.ParentReference{{Name: "public"}}, Hostnames: []string{"bank.example.com"}}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		Expect(k8sClient.Create(ctx, respondRoute(namespace, "welcome", "bank-bot", "Welcome", "Hello!"))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), &gatewayv1.HTTPRoute{})).To(Succeed())
			playDeploymentController(g, namespace, "bank-bot")
			ready := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
		waitForQuiet(namespace)

		// An owned object changes in a way that is not the operator's (an annotation of someone else's): the
		// endpoint is reconciled and finds everything as it wants it.
		inNamespace := writes.in(namespace)
		before, applies, written := reconciles("webhookendpoint"), inNamespace.applies.Load(), inNamespace.count.Load()
		serviceAccount := &corev1.ServiceAccount{}
		Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), serviceAccount)).To(Succeed())
		patch := client.MergeFrom(serviceAccount.DeepCopy())
		serviceAccount.Annotations["example.com/audited"] = "yes"
		Expect(k8sClient.Patch(ctx, serviceAccount, patch)).To(Succeed())
		Eventually(func() float64 { return reconciles("webhookendpoint") }).Should(BeNumerically(">", before))
		Consistently(func(g Gomega) {
			g.Expect(inNamespace.applies.Load()).To(Equal(applies), "applies")
			g.Expect(inNamespace.count.Load()).To(Equal(written), "writes")
		}, 2*time.Second, 100*time.Millisecond).Should(Succeed())

		// A hand edit of a field the operator sets is put back with one apply, of that object only.
		expectHandEditedImagePutBack(namespace, "bank-bot")
		Consistently(inNamespace.applies.Load, time.Second, 100*time.Millisecond).Should(Equal(applies + 1))
	})

	It("puts back a key added by hand to a map the API treats as a whole (nodeSelector)", func() {
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		endpoint := bankEndpoint(namespace)
		endpoint.Spec.PodTemplate = &fulfillmentv1alpha1.PodTemplateOverrides{NodeSelector: map[string]string{"pool": "bots"}}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		deployment := &appsv1.Deployment{}
		Eventually(func() error { return k8sClient.Get(ctx, key(namespace, "bank-bot"), deployment) }).Should(Succeed())
		waitForQuiet(namespace)

		// Every value the operator set is still there, only the ownership of the atomic map moved.
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := k8sClient.Get(ctx, key(namespace, "bank-bot"), deployment); err != nil {
				return err
			}
			deployment.Spec.Template.Spec.NodeSelector["gpu"] = "true"
			return k8sClient.Update(ctx, deployment)
		})).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), deployment)).To(Succeed())
			g.Expect(deployment.Spec.Template.Spec.NodeSelector).To(Equal(map[string]string{"pool": "bots"}))
		}).Should(Succeed())
	})

	It("reports Ready when the Deployment is available, and then stays quiet: no writes", func() {
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, respondRoute(namespace, "welcome", "bank-bot", "Welcome", "Hello!"))).To(Succeed())
		deployment := &appsv1.Deployment{}
		Eventually(func() error { return k8sClient.Get(ctx, key(namespace, "bank-bot"), deployment) }).Should(Succeed())
		Eventually(func(g Gomega) {
			ready := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		}).Should(Succeed())

		// envtest runs no controller-manager: play the Deployment controller's part.
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "bank-bot")
			ready := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
			e := mustGetEndpoint(namespace, "bank-bot")
			g.Expect(e.Status.ObservedGeneration).To(Equal(e.Generation))
			g.Expect(e.Status.URL).To(Equal(fmt.Sprintf("http://bank-bot.%s.svc:80/webhook", namespace)))
			g.Expect(e.Status.Routes).NotTo(BeNil())
			g.Expect(e.Status.Routes.Accepted).To(Equal(int32(1)))
			g.Expect(e.Status.ConfigHash).NotTo(BeEmpty())
		}).Should(Succeed())

		// Converged: over a quiet period the operator writes nothing.
		inNamespace := writes.in(namespace)
		Consistently(inNamespace.count.Load, 3*time.Second, 100*time.Millisecond).Should(Equal(inNamespace.count.Load()))
	})
})

func mustGetEndpoint(namespace, name string) *fulfillmentv1alpha1.WebhookEndpoint {
	GinkgoHelper()
	endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
	Expect(k8sClient.Get(ctx, key(namespace, name), endpoint)).To(Succeed())
	return endpoint
}

// touch changes the spec (a fallback text), so that the endpoint is reconciled now.
func touch(namespace, name string) {
	GinkgoHelper()
	updateEndpoint(namespace, name, func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Fallback = &fulfillmentv1alpha1.Fallback{Text: fmt.Sprintf("touched at %d", time.Now().UnixNano())}
	})
}

// updateEndpoint changes an endpoint's spec, retrying when the operator updated its status meanwhile.
func updateEndpoint(namespace, name string, mutate func(*fulfillmentv1alpha1.WebhookEndpoint)) {
	GinkgoHelper()
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		endpoint := mustGetEndpoint(namespace, name)
		mutate(endpoint)
		return k8sClient.Update(ctx, endpoint)
	})).To(Succeed())
}

// waitForQuiet waits until the manager has written nothing in namespace for a second.
func waitForQuiet(namespace string) {
	GinkgoHelper()
	inNamespace := writes.in(namespace)
	Eventually(func(g Gomega) {
		before := inNamespace.count.Load()
		time.Sleep(time.Second)
		g.Expect(inNamespace.count.Load()).To(Equal(before), "writes in namespace %s within a second", namespace)
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

// setAnnotation sets an annotation on an endpoint, or removes it when value is "".
func setAnnotation(namespace, name, annotation, value string) {
	GinkgoHelper()
	updateEndpoint(namespace, name, func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		if value == "" {
			delete(e.Annotations, annotation)
			return
		}
		if e.Annotations == nil {
			e.Annotations = map[string]string{}
		}
		e.Annotations[annotation] = value
	})
}

// eventNotes are the notes of the events with a reason in a namespace.
func eventNotes(g Gomega, namespace, reason string) []string {
	events := &eventsv1.EventList{}
	g.Expect(k8sClient.List(ctx, events, client.InNamespace(namespace))).To(Succeed())
	var notes []string
	for _, event := range events.Items {
		if event.Reason == reason {
			notes = append(notes, event.Note)
		}
	}
	return notes
}

// playDeploymentController writes the status the Deployment controller would write once every replica is
// available, when the Deployment has not been observed at its generation yet (envtest runs no
// controller-manager). Call it inside Eventually: the operator may still change the Deployment after a first
// mark (an annotation change, like a new config hash, bumps a Deployment's generation).
func playDeploymentController(g Gomega, namespace, name string) {
	deployment := &appsv1.Deployment{}
	g.Expect(k8sClient.Get(ctx, key(namespace, name), deployment)).To(Succeed())
	replicas := ptr.Deref(deployment.Spec.Replicas, 1)
	if deployment.Status.ObservedGeneration == deployment.Generation && deployment.Status.AvailableReplicas == replicas {
		return
	}
	deployment.Status = appsv1.DeploymentStatus{
		ObservedGeneration: deployment.Generation, Replicas: replicas, UpdatedReplicas: replicas,
		ReadyReplicas: replicas, AvailableReplicas: replicas,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue,
			LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now(), Reason: "MinimumReplicasAvailable"}},
	}
	g.Expect(k8sClient.Status().Update(ctx, deployment)).To(Succeed())
}

// expectHandEditedImagePutBack changes the image of the endpoint's Deployment by hand and waits for the operator
// to put its own back.
func expectHandEditedImagePutBack(namespace, name string) {
	GinkgoHelper()
	deployment := &appsv1.Deployment{}
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8sClient.Get(ctx, key(namespace, name), deployment); err != nil {
			return err
		}
		deployment.Spec.Template.Spec.Containers[0].Image = "evil:latest"
		return k8sClient.Update(ctx, deployment)
	})).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, key(namespace, name), deployment)).To(Succeed())
		g.Expect(deployment.Spec.Template.Spec.Containers[0].Image).To(Equal(image))
	}).Should(Succeed())
}
