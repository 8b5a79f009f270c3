package controllers_test

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
)

// faultyNamespace is served by a manager whose client fails IntentRoute Lists on demand
// (startFaultyManager); the suite's manager leaves it alone.
const faultyNamespace = "faulty-reads"

// startFaultyManager runs a second manager, watching only faultyNamespace, whose client fails every List of
// IntentRoutes while failLists is true, until the spec ends.
func startFaultyManager(failLists *atomic.Bool) {
	GinkgoHelper()
	startManagerIn(faultyNamespace, controllers.Options{Image: image, Clock: clock}, func(config *rest.Config, options client.Options) (client.Client, error) {
		c, err := client.NewWithWatch(config, options)
		if err != nil {
			return nil, err
		}
		return interceptor.NewClient(c, interceptor.Funcs{
			List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
				if _, routes := list.(*fulfillmentv1alpha1.IntentRouteList); routes && failLists.Load() {
					return errors.New("injected: etcdserver: request timed out")
				}
				return c.List(ctx, list, opts...)
			},
		}), nil
	})
}

// forbidPodLabel installs a ValidatingAdmissionPolicy that refuses Deployments in namespace whose pods carry
// tier=forbidden, and waits until the API server enforces it. It returns a function that deletes it.
func forbidPodLabel(namespace string) (remove func()) {
	GinkgoHelper()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "forbid-tier-" + namespace},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": namespace}},
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
				}}},
			},
			Validations: []admissionregistrationv1.Validation{{
				Expression: "!has(object.spec.template.metadata.labels) || !('tier' in object.spec.template.metadata.labels) || " +
					"object.spec.template.metadata.labels['tier'] != 'forbidden'",
				Message: "pods labelled tier=forbidden are not allowed in this namespace",
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: policy.Name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
	}
	Expect(k8sClient.Create(ctx, policy)).To(Succeed())
	Expect(k8sClient.Create(ctx, binding)).To(Succeed())
	// The API server compiles policies in the background: probe with a dry run until it refuses.
	labels := map[string]string{"app": "probe", "tier": "forbidden"}
	probe := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "policy-probe"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "probe"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "probe"}}}}},
	}
	Eventually(func() error { return k8sClient.Create(ctx, probe.DeepCopy(), client.DryRunAll) }).Should(
		MatchError(ContainSubstring("tier=forbidden")))
	return func() {
		GinkgoHelper()
		Expect(k8sClient.Delete(ctx, binding)).To(Succeed())
		Expect(k8sClient.Delete(ctx, policy)).To(Succeed())
	}
}

// eventuallyStalled waits until an endpoint is Stalled=True with reason and a message that contains message.
func eventuallyStalled(namespace, name, reason, message string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		stalled := condition(g, namespace, name, fulfillmentv1alpha1.ConditionStalled)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(stalled.Reason).To(Equal(reason))
		g.Expect(stalled.Message).To(ContainSubstring(message))
	}).Should(Succeed())
}

// warningCount is how many Warning events were recorded on an object.
func warningCount(g Gomega, namespace, name string) int {
	events := &eventsv1.EventList{}
	g.Expect(k8sClient.List(ctx, events, client.InNamespace(namespace))).To(Succeed())
	count := 0
	for _, event := range events.Items {
		if event.Regarding.Name == name && event.Type == corev1.EventTypeWarning {
			count++
		}
	}
	return count
}

var _ = Describe("Status says what happened", func() {
	It("an apply refused by an admission policy: Ready=False ApplyFailed with its message, observedGeneration held until it applies", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "bank-bot")
			g.Expect(mustGetEndpoint(namespace, "bank-bot")).To(beReady())
		}).Should(Succeed())
		applied := mustGetEndpoint(namespace, "bank-bot").Generation

		remove := forbidPodLabel(namespace)
		updateEndpoint(namespace, "bank-bot", func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.PodTemplate = &fulfillmentv1alpha1.PodTemplateOverrides{
				Metadata: &fulfillmentv1alpha1.PodMetadata{Labels: map[string]string{"tier": "forbidden"}}}
		})
		Eventually(func(g Gomega) {
			e := mustGetEndpoint(namespace, "bank-bot")
			ready := meta.FindStatusCondition(e.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(fulfillmentv1alpha1.ReasonApplyFailed))
			g.Expect(ready.Message).To(ContainSubstring("pods labelled tier=forbidden are not allowed in this namespace"))
			g.Expect(ready.Message).To(ContainSubstring("Deployment bank-bot"))
			g.Expect(ready.ObservedGeneration).To(Equal(e.Generation))
			g.Expect(e.Status.ObservedGeneration).To(Equal(applied), "generation %d was not applied", e.Generation)
		}).Should(Succeed())
		Consistently(func() int64 { return mustGetEndpoint(namespace, "bank-bot").Status.ObservedGeneration }, 2*time.Second).Should(Equal(applied))

		// The refusal is retried with backoff, capped at 30 s (maxRetryDelay): once the policy is gone the new
		// generation applies without any other change.
		remove()
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "bank-bot")
			e := mustGetEndpoint(namespace, "bank-bot")
			g.Expect(e).To(beReady())
			g.Expect(e.Status.ObservedGeneration).To(BeNumerically(">", applied))
		}).WithTimeout(45 * time.Second).Should(Succeed())
		deployment := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), deployment)).To(Succeed())
		Expect(deployment.Spec.Template.Labels).To(HaveKeyWithValue("tier", "forbidden"))
	})

	It("a failed List of IntentRoutes: details Unknown, Ready kept, no Warning, observedGeneration and route status held", func() {
		namespace := createNamespace(metav1.ObjectMeta{Name: faultyNamespace})
		failLists := &atomic.Bool{}
		startFaultyManager(failLists)
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, respondRoute(namespace, "welcome", "bank-bot", "Welcome", "Hello!"))).To(Succeed())
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "bank-bot")
			g.Expect(mustGetEndpoint(namespace, "bank-bot")).To(beReady())
			route := &fulfillmentv1alpha1.IntentRoute{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "welcome"), route)).To(Succeed())
			g.Expect(route.Status.ObservedGeneration).To(Equal(route.Generation))
		}).Should(Succeed())
		before := mustGetEndpoint(namespace, "bank-bot")
		warningsBefore := warningCount(Default, namespace, "bank-bot")
		routeBefore := &fulfillmentv1alpha1.IntentRoute{}
		Expect(k8sClient.Get(ctx, key(namespace, "welcome"), routeBefore)).To(Succeed())

		failLists.Store(true)
		touch(namespace, "bank-bot")
		Expect(k8sClient.Get(ctx, key(namespace, "welcome"), routeBefore)).To(Succeed())
		routeBefore.Spec.Respond.Text = "Hello again!"
		Expect(k8sClient.Update(ctx, routeBefore)).To(Succeed())
		Eventually(func(g Gomega) {
			e := mustGetEndpoint(namespace, "bank-bot")
			available := meta.FindStatusCondition(e.Status.Conditions, fulfillmentv1alpha1.ConditionDeploymentAvailable)
			g.Expect(available.Status).To(Equal(metav1.ConditionUnknown))
			g.Expect(available.Reason).To(Equal(fulfillmentv1alpha1.ReasonReadFailed))
			g.Expect(available.Message).To(ContainSubstring("injected: etcdserver: request timed out"))
			routes := meta.FindStatusCondition(e.Status.Conditions, fulfillmentv1alpha1.ConditionRoutesAccepted)
			g.Expect(routes.Status).To(Equal(metav1.ConditionUnknown))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			e := mustGetEndpoint(namespace, "bank-bot")
			ready := meta.FindStatusCondition(e.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
			g.Expect(*ready).To(Equal(*meta.FindStatusCondition(before.Status.Conditions, fulfillmentv1alpha1.ConditionReady)),
				"a failed read changed Ready")
			g.Expect(e.Status.ObservedGeneration).To(Equal(before.Generation))
			g.Expect(e.Status.Routes).To(Equal(before.Status.Routes))
			g.Expect(warningCount(g, namespace, "bank-bot")).To(Equal(warningsBefore))
			route := &fulfillmentv1alpha1.IntentRoute{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "welcome"), route)).To(Succeed())
			g.Expect(route.Status.ObservedGeneration).To(Equal(route.Generation-1), "the route's status moved on a failed read")
		}, 3*time.Second, 200*time.Millisecond).Should(Succeed())

		failLists.Store(false)
		Eventually(func(g Gomega) {
			e := mustGetEndpoint(namespace, "bank-bot")
			g.Expect(e).To(beReady())
			g.Expect(meta.FindStatusCondition(e.Status.Conditions, fulfillmentv1alpha1.ConditionDeploymentAvailable).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(renderedConfig(g, namespace, "bank-bot").Endpoints[0].Routes[0].Spec.Respond.Text).To(Equal("Hello again!"))
			route := &fulfillmentv1alpha1.IntentRoute{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "welcome"), route)).To(Succeed())
			g.Expect(route.Status.ObservedGeneration).To(Equal(route.Generation))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(warningCount(Default, namespace, "bank-bot")).To(Equal(warningsBefore))
	})
})

var (
	httpRouteKind   = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	certificateKind = schema.GroupVersionKind{Group: "cert-manager.io", Version: "v1", Kind: "Certificate"}
)

var _ = Describe("Watches", func() {
	DescribeTable("puts back a deleted object of an optional API within seconds",
		func(gvk schema.GroupVersionKind) {
			namespace := newNamespace()
			Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
			endpoint := tlsEndpoint(namespace, &fulfillmentv1alpha1.EndpointTLS{
				Mode:      fulfillmentv1alpha1.TLSModeCertManager,
				IssuerRef: &fulfillmentv1alpha1.IssuerReference{Name: "letsencrypt", Kind: "ClusterIssuer", Group: "cert-manager.io"},
			})
			endpoint.Spec.HTTPRoute = &fulfillmentv1alpha1.HTTPRouteSettings{
				ParentRefs: []fulfillmentv1alpha1.ParentReference{{Name: "edge"}}, Hostnames: []string{"bank.example.com"}}
			Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())

			for _, gvk := range []schema.GroupVersionKind{httpRouteKind, certificateKind} {
				obj := &unstructured.Unstructured{}
				obj.SetGroupVersionKind(gvk)
				Eventually(func() error { return k8sClient.Get(ctx, key(namespace, "bank-bot"), obj) }).Should(Succeed(), gvk.Kind)
			}
			// Converged: nothing else would bring the endpoint back.
			waitForQuiet(namespace)

			obj := &unstructured.Unstructured{}
			obj.SetGroupVersionKind(gvk)
			Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), obj)).To(Succeed())
			uid := obj.GetUID()
			Expect(k8sClient.Delete(ctx, obj)).To(Succeed())
			Eventually(func(g Gomega) {
				restored := &unstructured.Unstructured{}
				restored.SetGroupVersionKind(gvk)
				g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), restored)).To(Succeed())
				g.Expect(restored.GetUID()).NotTo(Equal(uid))
			}).WithTimeout(5*time.Second).Should(Succeed(), "%s not put back", gvk.Kind)
		},
		Entry("an HTTPRoute", httpRouteKind),
		Entry("a cert-manager Certificate", certificateKind),
	)

	It("resumes an endpoint stalled by someone else's HTTPRoute once that route is deleted", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		theirs := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "bank-bot"},
			Spec: gatewayv1.HTTPRouteSpec{Hostnames: []gatewayv1.Hostname{"theirs.example.com"}}}
		Expect(k8sClient.Create(ctx, theirs)).To(Succeed())
		endpoint := bankEndpoint(namespace)
		endpoint.Spec.HTTPRoute = &fulfillmentv1alpha1.HTTPRouteSettings{
			ParentRefs: []fulfillmentv1alpha1.ParentReference{{Name: "edge"}}, Hostnames: []string{"bank.example.com"}}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		eventuallyStalled(namespace, "bank-bot", fulfillmentv1alpha1.ReasonObjectConflict, "HTTPRoute bank-bot (not managed by the operator")

		// A stalled endpoint is not retried: only the watch on HTTPRoutes can bring it back.
		Expect(k8sClient.Delete(ctx, theirs)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionStalled)).To(BeNil())
			ours := &gatewayv1.HTTPRoute{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), ours)).To(Succeed())
			g.Expect(ours).To(beControlledBy(mustGetEndpoint(namespace, "bank-bot")))
		}).Should(Succeed())
	})
})
