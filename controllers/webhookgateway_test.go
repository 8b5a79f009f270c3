package controllers_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

func sharedGateway(namespace string) *fulfillmentv1alpha1.WebhookGateway {
	return &fulfillmentv1alpha1.WebhookGateway{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "shared"}}
}

// gatewayMember is the bank endpoint named name on gateway shared at path.
func gatewayMember(namespace, name, path string) *fulfillmentv1alpha1.WebhookEndpoint {
	endpoint := bankEndpoint(namespace)
	endpoint.Name = name
	endpoint.Spec.Path = path
	endpoint.Spec.GatewayRef = &fulfillmentv1alpha1.LocalObjectReference{Name: "shared"}
	return endpoint
}

func mustGetGateway(namespace, name string) *fulfillmentv1alpha1.WebhookGateway {
	GinkgoHelper()
	gateway := &fulfillmentv1alpha1.WebhookGateway{}
	Expect(k8sClient.Get(ctx, key(namespace, name), gateway)).To(Succeed())
	return gateway
}

// servedEndpoints are the endpoints in the gateway's configuration, by name and path.
func servedEndpoints(g Gomega, namespace, gateway string) map[string]string {
	configMap := &corev1.ConfigMap{}
	g.Expect(k8sClient.Get(ctx, key(namespace, gateway+"-config"), configMap)).To(Succeed())
	var file configfile.File
	g.Expect(yaml.Unmarshal([]byte(configMap.Data[controllers.ConfigKey]), &file)).To(Succeed())
	served := map[string]string{}
	for _, e := range file.Endpoints {
		served[e.Name] = e.Spec.Path
	}
	return served
}

func gatewayMembers(g Gomega, namespace, gateway string) string {
	configMap := &corev1.ConfigMap{}
	g.Expect(k8sClient.Get(ctx, key(namespace, gateway+"-config"), configMap)).To(Succeed())
	return configMap.Annotations[controllers.AnnotationGatewayMembers]
}

func serviceSelector(namespace, name string) map[string]string {
	GinkgoHelper()
	service := &corev1.Service{}
	Expect(k8sClient.Get(ctx, key(namespace, name), service)).To(Succeed())
	return service.Spec.Selector
}

func expectNoDeployment(g Gomega, namespace, name string) {
	err := k8sClient.Get(ctx, key(namespace, name), &appsv1.Deployment{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Deployment %s: %v", name, err)
}

var _ = Describe("WebhookGateway", func() {
	var namespace string
	BeforeEach(func() {
		namespace = newNamespace()
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
	})

	It("serves two endpoints from one Deployment, each on its own path, and says so in both statuses", func() {
		Expect(k8sClient.Create(ctx, sharedGateway(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, gatewayMember(namespace, "bank-bot", "/bank"))).To(Succeed())
		Expect(k8sClient.Create(ctx, gatewayMember(namespace, "pay-bot", "/pay"))).To(Succeed())
		Expect(k8sClient.Create(ctx, respondRoute(namespace, "welcome", "bank-bot", "Welcome", "Hello!"))).To(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(servedEndpoints(g, namespace, "shared")).To(Equal(map[string]string{"bank-bot": "/bank", "pay-bot": "/pay"}))
			playDeploymentController(g, namespace, "shared")
			gateway := mustGetGateway(namespace, "shared")
			g.Expect(meta.IsStatusConditionTrue(gateway.Status.Conditions, fulfillmentv1alpha1.ConditionReady)).To(BeTrue(), "%+v", gateway.Status)
			g.Expect(gateway.Status.Endpoints).To(Equal(&fulfillmentv1alpha1.GatewayEndpointCounts{Served: 2}))
			g.Expect(gateway.Status.ServedConfigHash).To(Equal(gateway.Status.ConfigHash))
			g.Expect(gateway.Status.URL).To(Equal("http://shared." + namespace + ".svc:80"))
			health, kstatus := liveHealth(g, namespace, "WebhookGateway", "shared")
			g.Expect(health.Status).To(Equal("Healthy"))
			g.Expect(kstatus).To(Equal(status.CurrentStatus))
			for name, path := range map[string]string{"bank-bot": "/bank", "pay-bot": "/pay"} {
				endpoint := mustGetEndpoint(namespace, name)
				g.Expect(endpoint).To(beReady())
				g.Expect(endpoint.Status.URL).To(Equal(gateway.Status.URL + path))
				ready := meta.FindStatusCondition(endpoint.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
				g.Expect(ready.Message).To(ContainSubstring("served by WebhookGateway shared"))
			}
		}).Should(Succeed())

		gateway := mustGetGateway(namespace, "shared")
		deployment := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, key(namespace, "shared"), deployment)).To(Succeed())
		Expect(deployment).To(beControlledBy(gateway))
		Expect(deployment.Spec.Template.Spec.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
		Expect(deployment.Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
		var mounted []string
		for _, v := range deployment.Spec.Template.Spec.Volumes {
			if v.Secret != nil {
				mounted = append(mounted, v.Secret.SecretName)
			}
		}
		Expect(mounted).To(ConsistOf("shared-secrets"), "the members' Secrets are read from the gateway's copies")
		copies := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, key(namespace, "shared-secrets"), copies)).To(Succeed())
		Expect(copies).To(beControlledBy(gateway))
		Expect(copies.Data).To(Equal(map[string][]byte{"bank-basic_username": []byte("dialogflow"), "bank-basic_password": []byte("s3cret-password")}))
		for _, name := range []string{"bank-bot", "pay-bot"} {
			expectNoDeployment(Default, namespace, name)
			Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key(namespace, name), &corev1.Service{}))).To(BeTrue(), "Service %s", name)
		}
	})

	It("copies a joining endpoint's Secret without changing the pod template, and follows a rotation", func() {
		Expect(k8sClient.Create(ctx, sharedGateway(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, gatewayMember(namespace, "bank-bot", "/bank"))).To(Succeed())
		var template corev1.PodTemplateSpec
		Eventually(func(g Gomega) {
			g.Expect(servedEndpoints(g, namespace, "shared")).To(HaveKey("bank-bot"))
			playDeploymentController(g, namespace, "shared")
			g.Expect(mustGetEndpoint(namespace, "bank-bot")).To(beReady())
			deployment := &appsv1.Deployment{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "shared"), deployment)).To(Succeed())
			template = deployment.Spec.Template
		}).Should(Succeed())

		Expect(k8sClient.Create(ctx, basicSecret(namespace, "pay-basic"))).To(Succeed())
		pay := gatewayMember(namespace, "pay-bot", "/pay")
		pay.Spec.Auth.Basic.SecretRef.Name = "pay-basic"
		Expect(k8sClient.Create(ctx, pay)).To(Succeed())
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "shared")
			g.Expect(mustGetEndpoint(namespace, "pay-bot")).To(beReady())
			copies := &corev1.Secret{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "shared-secrets"), copies)).To(Succeed())
			g.Expect(copies.Data).To(HaveKeyWithValue("pay-basic_password", []byte("s3cret-password")))
			g.Expect(copies.Data).To(HaveKey("bank-basic_password"))
		}).Should(Succeed())
		deployment := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, key(namespace, "shared"), deployment)).To(Succeed())
		Expect(deployment.Spec.Template).To(Equal(template), "an endpoint joining rolls no pod")

		secret := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, key(namespace, "pay-basic"), secret)).To(Succeed())
		secret.Data["password"] = []byte("rotated-password")
		Expect(k8sClient.Update(ctx, secret)).To(Succeed())
		Eventually(func(g Gomega) {
			copies := &corev1.Secret{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "shared-secrets"), copies)).To(Succeed())
			g.Expect(copies.Data).To(HaveKeyWithValue("pay-basic_password", []byte("rotated-password")))
		}).Should(Succeed())

		// envtest runs no garbage collector: the endpoint's ConfigMap goes as the collector would remove it.
		Expect(k8sClient.Delete(ctx, mustGetEndpoint(namespace, "pay-bot"))).To(Succeed())
		Expect(k8sClient.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "pay-bot-config"}})).To(Succeed())
		Eventually(func(g Gomega) {
			copies := &corev1.Secret{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "shared-secrets"), copies)).To(Succeed())
			g.Expect(copies.Data).NotTo(HaveKey("pay-basic_password"), "a deleted endpoint's Secret is no longer copied")
		}).Should(Succeed())
	})

	It("serves a member's route edit as soon as the gateway does, not at the member's own recheck", func() {
		Expect(k8sClient.Create(ctx, sharedGateway(namespace))).To(Succeed())
		for _, name := range []string{"bank-bot", "pay-bot", "shop-bot"} {
			Expect(k8sClient.Create(ctx, gatewayMember(namespace, name, "/"+name))).To(Succeed())
		}
		Expect(k8sClient.Create(ctx, respondRoute(namespace, "welcome", "bank-bot", "Welcome", "Hello!"))).To(Succeed())
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "shared")
			for _, name := range []string{"bank-bot", "pay-bot", "shop-bot"} {
				g.Expect(mustGetEndpoint(namespace, name)).To(beReady())
			}
		}).Should(Succeed())

		for i := range 3 {
			before := mustGetEndpoint(namespace, "bank-bot").Status.ConfigHash
			route := &fulfillmentv1alpha1.IntentRoute{}
			Expect(k8sClient.Get(ctx, key(namespace, "welcome"), route)).To(Succeed())
			route.Spec.Respond.Text = fmt.Sprintf("Hello again, %d!", i)
			Expect(k8sClient.Update(ctx, route)).To(Succeed())
			// Well within the 30 s an endpoint waiting for its gateway takes to look again on its own.
			Eventually(func(g Gomega) {
				endpoint := mustGetEndpoint(namespace, "bank-bot")
				g.Expect(endpoint.Status.ConfigHash).NotTo(Equal(before))
				g.Expect(endpoint).To(beReady())
				g.Expect(gatewayMembers(g, namespace, "shared")).To(ContainSubstring("bank-bot=" + endpoint.Status.ConfigHash[:12]))
			}, "8s").Should(Succeed())
		}
	})

	It("refuses a second endpoint on a taken path with PathConflict, and serves it once the path is its own", func() {
		Expect(k8sClient.Create(ctx, sharedGateway(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, gatewayMember(namespace, "bank-bot", "/bank"))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(servedEndpoints(g, namespace, "shared")).To(HaveKey("bank-bot"))
		}).Should(Succeed())
		Expect(k8sClient.Create(ctx, gatewayMember(namespace, "late-bot", "/bank"))).To(Succeed())

		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "shared")
			late := mustGetEndpoint(namespace, "late-bot")
			ready := meta.FindStatusCondition(late.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(fulfillmentv1alpha1.ReasonPathConflict))
			g.Expect(ready.Message).To(ContainSubstring("path /bank of WebhookGateway shared belongs to the older endpoint bank-bot"))
			g.Expect(meta.IsStatusConditionTrue(late.Status.Conditions, fulfillmentv1alpha1.ConditionStalled)).To(BeTrue())
			g.Expect(mustGetEndpoint(namespace, "bank-bot")).To(beReady())
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(servedEndpoints(g, namespace, "shared")).To(Equal(map[string]string{"bank-bot": "/bank"}))
		}, "2s").Should(Succeed())

		updateEndpoint(namespace, "late-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Path = "/late" })
		Eventually(func(g Gomega) {
			g.Expect(servedEndpoints(g, namespace, "shared")).To(Equal(map[string]string{"bank-bot": "/bank", "late-bot": "/late"}))
			playDeploymentController(g, namespace, "shared")
			g.Expect(mustGetEndpoint(namespace, "late-bot")).To(beReady())
		}).Should(Succeed())
	})

	It("moves an endpoint in and out without a moment when nothing serves it", func() {
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "bank-bot")
			g.Expect(mustGetEndpoint(namespace, "bank-bot")).To(beReady())
		}).Should(Succeed())

		// In: the endpoint's own Deployment stays until the gateway's pods serve it.
		updateEndpoint(namespace, "bank-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.GatewayRef = &fulfillmentv1alpha1.LocalObjectReference{Name: "shared"}
		})
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), &appsv1.Deployment{})).To(Succeed())
		}, "2s").Should(Succeed(), "without a gateway, the endpoint's own pods keep serving")
		Eventually(func(g Gomega) {
			stalled := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Reason).To(Equal(fulfillmentv1alpha1.ReasonGatewayNotFound))
		}).Should(Succeed())
		Expect(k8sClient.Create(ctx, sharedGateway(namespace))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(servedEndpoints(g, namespace, "shared")).To(HaveKey("bank-bot"))
		}).Should(Succeed())
		Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), &appsv1.Deployment{})).To(Succeed(),
			"the gateway's pods are not available yet: the endpoint's own still serve")
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "shared")
			g.Expect(mustGetEndpoint(namespace, "bank-bot")).To(beReady())
			expectNoDeployment(g, namespace, "bank-bot")
		}).Should(Succeed())
		Expect(serviceSelector(namespace, "bank-bot")).To(HaveKeyWithValue(controllers.LabelInstance, "shared"),
			"the endpoint's Service stays, as an alias of the gateway's pods, for callers of its former URL")

		// Out: the gateway keeps the endpoint until its own Deployment is available again.
		updateEndpoint(namespace, "bank-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.GatewayRef = nil })
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), &appsv1.Deployment{})).To(Succeed())
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(servedEndpoints(g, namespace, "shared")).To(HaveKey("bank-bot"))
			g.Expect(serviceSelector(namespace, "bank-bot")).To(HaveKeyWithValue(controllers.LabelInstance, "shared"))
		}, "2s").Should(Succeed(), "the endpoint's own pods are not available yet: the gateway keeps serving it")
		// Its own pods serve it: the Service points at them, and the gateway serves it as leaving (closing each
		// connection it answers) for the server's idle timeout before it lets go.
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "bank-bot")
			playDeploymentController(g, namespace, "shared")
			g.Expect(mustGetEndpoint(namespace, "bank-bot")).To(beReady())
			g.Expect(serviceSelector(namespace, "bank-bot")).To(HaveKeyWithValue(controllers.LabelInstance, "bank-bot"))
			g.Expect(gatewayMembers(g, namespace, "shared")).To(MatchRegexp(`(^|,)bank-bot=[0-9a-f]{12}:leaving(,|$)`))
			configMap := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot-config"), configMap)).To(Succeed())
			g.Expect(configMap.Annotations).To(HaveKey(controllers.AnnotationLeavingServed))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(servedEndpoints(g, namespace, "shared")).To(HaveKey("bank-bot"))
		}, "2s").Should(Succeed(), "within the idle timeout the gateway keeps serving it")
		clock.Step(configfile.IdleTimeout + 2*time.Second)
		touch(namespace, "bank-bot")
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "bank-bot")
			playDeploymentController(g, namespace, "shared")
			g.Expect(servedEndpoints(g, namespace, "shared")).NotTo(HaveKey("bank-bot"))
			g.Expect(mustGetEndpoint(namespace, "bank-bot")).To(beReady())
		}).WithTimeout(20 * time.Second).Should(Succeed())
	})

	It("stalls its endpoints with a message when the gateway is deleted", func() {
		Expect(k8sClient.Create(ctx, sharedGateway(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, gatewayMember(namespace, "bank-bot", "/bank"))).To(Succeed())
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "shared")
			g.Expect(mustGetEndpoint(namespace, "bank-bot")).To(beReady())
		}).Should(Succeed())
		Expect(k8sClient.Delete(ctx, mustGetGateway(namespace, "shared"))).To(Succeed())
		eventuallyStalled(namespace, "bank-bot", fulfillmentv1alpha1.ReasonGatewayNotFound,
			"WebhookGateway shared not found in namespace "+namespace+": create it, or remove spec.gatewayRef")
	})
})
