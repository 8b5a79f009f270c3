package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

var _ = Describe("Environments and payload versions", func() {
	var namespace string
	BeforeEach(func() { namespace = newNamespace() })

	It("stalls an endpoint whose environmentFrom does not compile, naming the field, and renders it once fixed, with routes split by environment", func() {
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		endpoint := bankEndpoint(namespace)
		endpoint.Spec.EnvironmentFrom = `request.headers["x-env"] +`
		endpoint.Spec.VersionFrom = `request.body.schema`
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		route := respondRoute(namespace, "order-production", "bank-bot", "Order", "production")
		route.Spec.Match.Environments = []string{"production"}
		route.Spec.Match.Versions = []string{"2"}
		Expect(k8sClient.Create(ctx, route)).To(Succeed())
		// The same intent and priority in other environments is no conflict: the two answer different requests.
		other := respondRoute(namespace, "order-test", "bank-bot", "Order", "test")
		other.Spec.Match.Environments = []string{"draft", "test"}
		Expect(k8sClient.Create(ctx, other)).To(Succeed())

		Eventually(func(g Gomega) {
			stalled := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(stalled.Reason).To(Equal(fulfillmentv1alpha1.ReasonInvalidExpression))
			g.Expect(stalled.Message).To(ContainSubstring("spec.environmentFrom"))
			g.Expect(stalled.Message).NotTo(ContainSubstring("spec.versionFrom"), "versionFrom compiles")
		}).Should(Succeed())

		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			e := mustGetEndpoint(namespace, "bank-bot")
			e.Spec.EnvironmentFrom = `"x-env" in request.headers ? request.headers["x-env"] : request.environment`
			return k8sClient.Update(ctx, e)
		})).To(Succeed())
		Eventually(func(g Gomega) {
			e := mustGetEndpoint(namespace, "bank-bot")
			g.Expect(meta.IsStatusConditionTrue(e.Status.Conditions, fulfillmentv1alpha1.ConditionStalled)).To(BeFalse())
			file := renderedConfig(g, namespace, "bank-bot")
			g.Expect(file.Endpoints).To(HaveLen(1))
			rendered := file.Endpoints[0]
			g.Expect(rendered.Spec.EnvironmentFrom).To(Equal(e.Spec.EnvironmentFrom))
			g.Expect(rendered.Spec.VersionFrom).To(Equal("request.body.schema"))
			g.Expect(rendered.Routes).To(HaveLen(2))
			for _, r := range rendered.Routes {
				switch r.Name {
				case "order-production":
					g.Expect(r.Spec.Match.Environments).To(Equal([]string{"production"}))
					g.Expect(r.Spec.Match.Versions).To(Equal([]string{"2"}))
				case "order-test":
					g.Expect(r.Spec.Match.Environments).To(Equal([]string{"draft", "test"}))
				default:
					g.Expect(r.Name).To(BeEmpty(), "an unexpected route")
				}
			}
			for _, name := range []string{"order-production", "order-test"} {
				r := &fulfillmentv1alpha1.IntentRoute{}
				g.Expect(k8sClient.Get(ctx, key(namespace, name), r)).To(Succeed())
				g.Expect(meta.IsStatusConditionTrue(r.Status.Conditions, fulfillmentv1alpha1.ConditionAccepted)).To(BeTrue(), name)
			}
		}).Should(Succeed())
	})
})
