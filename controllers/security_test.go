package controllers_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// strictNamespace is served by a manager started with --require-secret-reference-label
// (startStrictManager); the suite's manager leaves it alone.
const strictNamespace = "strict-secrets"

// startStrictManager runs a second manager, watching only strictNamespace, with RequireSecretLabel, until the
// spec ends.
func startStrictManager() {
	GinkgoHelper()
	startManagerIn(strictNamespace, controllers.Options{Image: image, Clock: clock, RequireSecretLabel: true}, nil)
}

// startManagerIn runs a second manager with the operator's identity, watching only namespace (which the
// suite's manager leaves alone), with opts and, when not nil, its own client, until the spec ends.
func startManagerIn(namespace string, opts controllers.Options, newClient client.NewClientFunc) {
	GinkgoHelper()
	managerConfig := rest.CopyConfig(managerConfig)
	managerConfig.WrapTransport = nil // its writes are not the suite's manager's
	mgr, err := ctrl.NewManager(managerConfig, ctrl.Options{Scheme: scheme.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:      cache.Options{DefaultNamespaces: map[string]cache.Config{namespace: {}}},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		NewClient:  newClient})
	Expect(err).NotTo(HaveOccurred())
	managerCtx, stop := context.WithCancel(ctx)
	Expect(controllers.Setup(managerCtx, mgr, opts)).To(Succeed())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(managerCtx)).To(Succeed())
	}()
	DeferCleanup(func() {
		stop()
		<-done
	})
}

func insecureExposure(g Gomega, namespace, name string) *metav1.Condition {
	return condition(g, namespace, name, fulfillmentv1alpha1.ConditionInsecureExposure)
}

// warnings are the Warning events recorded on an object with a reason.
func warnings(g Gomega, namespace, name, reason string) []string {
	events := &eventsv1.EventList{}
	g.Expect(k8sClient.List(ctx, events, client.InNamespace(namespace))).To(Succeed())
	var notes []string
	for _, event := range events.Items {
		if event.Regarding.Name == name && event.Type == corev1.EventTypeWarning && event.Reason == reason {
			notes = append(notes, event.Note)
		}
	}
	return notes
}

var _ = Describe("Trust boundaries", func() {
	It("reports an endpoint reachable from outside the cluster without TLS, until TLS or an acknowledgement", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		endpoint := bankEndpoint(namespace)
		endpoint.Spec.Ingress = &fulfillmentv1alpha1.IngressSettings{Host: "bank.example.com"}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())

		Eventually(func(g Gomega) {
			insecure := insecureExposure(g, namespace, "bank-bot")
			g.Expect(insecure).NotTo(BeNil())
			g.Expect(insecure.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(insecure.Reason).To(Equal(fulfillmentv1alpha1.ReasonPlaintextExposure))
			g.Expect(insecure.Message).To(ContainSubstring("set spec.ingress.tlsSecretName"))
			g.Expect(insecure.Message).To(ContainSubstring("spec.exposure.plaintextAcknowledged: true"))
			g.Expect(warnings(g, namespace, "bank-bot", "InsecureExposure")).To(ConsistOf(insecure.Message))
		}).Should(Succeed())
		ready := condition(Default, namespace, "bank-bot", fulfillmentv1alpha1.ConditionReady)
		Expect(ready.Reason).NotTo(Equal(fulfillmentv1alpha1.ReasonPlaintextExposure), "InsecureExposure must not decide Ready")

		updateEndpoint(namespace, "bank-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.Exposure = &fulfillmentv1alpha1.Exposure{PlaintextAcknowledged: true}
		})
		Eventually(func(g Gomega) {
			insecure := insecureExposure(g, namespace, "bank-bot")
			g.Expect(insecure.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(insecure.Reason).To(Equal(fulfillmentv1alpha1.ReasonPlaintextAcknowledged))
		}).Should(Succeed())

		updateEndpoint(namespace, "bank-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.Exposure = nil
			e.Spec.Ingress.TLSSecretName = "bank-tls"
		})
		Eventually(func(g Gomega) {
			g.Expect(insecureExposure(g, namespace, "bank-bot").Reason).To(Equal(fulfillmentv1alpha1.ReasonEncrypted))
		}).Should(Succeed())

		updateEndpoint(namespace, "bank-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.Ingress = nil
			e.Spec.Service = &fulfillmentv1alpha1.ServiceSettings{Type: "LoadBalancer", Port: 80}
		})
		Eventually(func(g Gomega) {
			insecure := insecureExposure(g, namespace, "bank-bot")
			g.Expect(insecure.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(insecure.Message).To(ContainSubstring("the LoadBalancer Service serves plain HTTP"))
			g.Expect(warnings(g, namespace, "bank-bot", "InsecureExposure")).To(HaveLen(2), "one Warning per time it becomes insecure")
		}).Should(Succeed())
	})

	It("reads the Gateway an HTTPRoute attaches to: an HTTP listener is insecure, the HTTPS one is not", func() {
		namespace := newNamespace()
		gateway := &gatewayv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "edge"},
			Spec: gatewayv1.GatewaySpec{GatewayClassName: "example", Listeners: []gatewayv1.Listener{
				{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80},
				{Name: "https", Protocol: gatewayv1.HTTPSProtocolType, Port: 443, TLS: &gatewayv1.ListenerTLSConfig{
					CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "edge-tls"}}}},
			}},
		}
		Expect(k8sClient.Create(ctx, gateway)).To(Succeed())
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		endpoint := bankEndpoint(namespace)
		endpoint.Spec.HTTPRoute = &fulfillmentv1alpha1.HTTPRouteSettings{
			ParentRefs: []fulfillmentv1alpha1.ParentReference{{Name: "edge"}}, Hostnames: []string{"bank.example.com"}}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		Eventually(func(g Gomega) {
			insecure := insecureExposure(g, namespace, "bank-bot")
			g.Expect(insecure).NotTo(BeNil())
			g.Expect(insecure.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(insecure.Message).To(ContainSubstring("listener http of Gateway " + namespace + "/edge, which serves HTTP on port 80"))
		}).Should(Succeed())

		updateEndpoint(namespace, "bank-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.HTTPRoute.ParentRefs[0].SectionName = ptr.To("https")
		})
		Eventually(func(g Gomega) {
			g.Expect(insecureExposure(g, namespace, "bank-bot").Reason).To(Equal(fulfillmentv1alpha1.ReasonEncrypted))
		}).Should(Succeed())

		updateEndpoint(namespace, "bank-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.HTTPRoute.ParentRefs[0].Name = "nowhere"
		})
		Eventually(func(g Gomega) {
			insecure := insecureExposure(g, namespace, "bank-bot")
			g.Expect(insecure.Status).To(Equal(metav1.ConditionUnknown))
			g.Expect(insecure.Message).To(ContainSubstring("Gateway " + namespace + "/nowhere: not found"))
		}).Should(Succeed())
	})

	It("with --require-secret-reference-label, refuses Secrets without the label, naming it, until they are labelled", func() {
		namespace := createNamespace(metav1.ObjectMeta{Name: strictNamespace})
		startStrictManager()
		labelled := basicSecret(namespace, "bank-basic")
		labelled.Labels = map[string]string{controllers.LabelSecretReference: "true"}
		Expect(k8sClient.Create(ctx, labelled)).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "kube-admin-token"},
			StringData: map[string]string{"token": "not-for-routes"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		route := respondRoute(namespace, "exfiltrate", "bank-bot", "Balance", "")
		route.Spec.Respond = nil
		route.Spec.Call = &fulfillmentv1alpha1.CallAction{URL: "https://collector.example.com/", Headers: []fulfillmentv1alpha1.Header{{
			Name: "X-Token", ValueFrom: &fulfillmentv1alpha1.HeaderSource{
				SecretKeyRef: fulfillmentv1alpha1.SecretKeySelector{Name: "kube-admin-token", Key: "token"}}}}}
		Expect(k8sClient.Create(ctx, route)).To(Succeed())

		Eventually(func(g Gomega) {
			current := &fulfillmentv1alpha1.IntentRoute{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "exfiltrate"), current)).To(Succeed())
			refs := meta.FindStatusCondition(current.Status.Conditions, fulfillmentv1alpha1.ConditionResolvedRefs)
			g.Expect(refs).NotTo(BeNil())
			g.Expect(refs.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(refs.Reason).To(Equal(fulfillmentv1alpha1.ReasonRefNotPermitted))
			g.Expect(refs.Message).To(ContainSubstring(`Secret kube-admin-token is not labelled fulfillment.dev/reference: "true"`))
			accepted := meta.FindStatusCondition(current.Status.Conditions, fulfillmentv1alpha1.ConditionAccepted)
			g.Expect(accepted.Status).To(Equal(metav1.ConditionFalse))
		}).Should(Succeed())
		// The endpoint serves without the route, and its pods never mount the Secret.
		Eventually(func(g Gomega) {
			g.Expect(renderedConfig(g, namespace, "bank-bot").Endpoints[0].Routes).To(BeEmpty())
			g.Expect(mustGetEndpoint(namespace, "bank-bot").Status.Routes).To(Equal(&fulfillmentv1alpha1.RouteCounts{Rejected: 1}))
			g.Expect(mountedSecrets(g, namespace, "bank-bot")).To(ConsistOf("bank-basic"))
		}).Should(Succeed())

		// An endpoint's own references are held to the same rule.
		other := bankEndpoint(namespace)
		other.Name = "other-bot"
		other.Spec.Auth.Basic.SecretRef.Name = "kube-admin-token"
		Expect(k8sClient.Create(ctx, other)).To(Succeed())
		eventuallyStalled(namespace, "other-bot", fulfillmentv1alpha1.ReasonRefNotPermitted,
			"spec.auth.basic.secretRef: Secret kube-admin-token is not labelled")

		secret := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, key(namespace, "kube-admin-token"), secret)).To(Succeed())
		secret.Labels = map[string]string{controllers.LabelSecretReference: "true"}
		Expect(k8sClient.Update(ctx, secret)).To(Succeed())
		Eventually(func(g Gomega) {
			current := &fulfillmentv1alpha1.IntentRoute{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "exfiltrate"), current)).To(Succeed())
			g.Expect(meta.FindStatusCondition(current.Status.Conditions, fulfillmentv1alpha1.ConditionResolvedRefs).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(renderedConfig(g, namespace, "bank-bot").Endpoints[0].Routes).To(HaveLen(1))
			stalled := condition(g, namespace, "other-bot", fulfillmentv1alpha1.ConditionStalled)
			g.Expect(stalled).To(Or(BeNil(), HaveField("Reason", Not(Equal(fulfillmentv1alpha1.ReasonRefNotPermitted)))))
		}).Should(Succeed())
	})

	It("aggregates the editor role only into built-in roles that already read Secrets", func() {
		content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "fulfillment_editor_role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		editor := &rbacv1.ClusterRole{}
		Expect(yaml.Unmarshal(content, editor)).To(Succeed())

		// The API server's own bootstrap roles: admin, edit and view aggregate the roles their selectors match.
		roles := &rbacv1.ClusterRoleList{}
		Expect(k8sClient.List(ctx, roles)).To(Succeed())
		var targets []string
		for _, target := range roles.Items {
			if target.AggregationRule == nil || !selects(target.AggregationRule, editor.Labels) {
				continue
			}
			targets = append(targets, target.Name)
			Expect(aggregateGrants(target, roles.Items, "", "secrets", "get", map[string]bool{})).To(BeTrue(), "the editor role aggregates into %s, which cannot read Secrets: an editor could "+
				"send a Secret they cannot read to any host with call.headers[].valueFrom", target.Name)
		}
		Expect(targets).To(ConsistOf("admin", "edit"))
	})
})

// selects tells whether an aggregation rule picks a role with these labels.
func selects(rule *rbacv1.AggregationRule, roleLabels map[string]string) bool {
	for _, selector := range rule.ClusterRoleSelectors {
		s, err := metav1.LabelSelectorAsSelector(&selector)
		Expect(err).NotTo(HaveOccurred())
		if s.Matches(labels.Set(roleLabels)) {
			return true
		}
	}
	return false
}

// aggregateGrants tells whether role allows verb on resource in group, by its own rules or those of the roles it
// aggregates, as the controller manager's aggregation fills them in (it does not run in envtest): edit is
// itself aggregated into admin.
func aggregateGrants(role rbacv1.ClusterRole, all []rbacv1.ClusterRole, group, resource, verb string, seen map[string]bool) bool {
	if seen[role.Name] {
		return false
	}
	seen[role.Name] = true
	if grants(role.Rules, group, resource, verb) {
		return true
	}
	if role.AggregationRule == nil {
		return false
	}
	for _, part := range all {
		if selects(role.AggregationRule, part.Labels) && aggregateGrants(part, all, group, resource, verb, seen) {
			return true
		}
	}
	return false
}

// grants tells whether rules allow verb on resource in group.
func grants(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, rule := range rules {
		if (slices.Contains(rule.APIGroups, group) || slices.Contains(rule.APIGroups, "*")) &&
			(slices.Contains(rule.Resources, resource) || slices.Contains(rule.Resources, "*")) &&
			(slices.Contains(rule.Verbs, verb) || slices.Contains(rule.Verbs, "*")) {
			return true
		}
	}
	return false
}

// mountedSecrets are the Secrets an endpoint's pods mount.
func mountedSecrets(g Gomega, namespace, name string) []string {
	deployment := &appsv1.Deployment{}
	g.Expect(k8sClient.Get(ctx, key(namespace, name), deployment)).To(Succeed())
	var names []string
	for _, v := range deployment.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			names = append(names, v.Secret.SecretName)
		}
	}
	return names
}
