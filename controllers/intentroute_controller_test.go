package controllers_test

import (
	"bytes"
	"os/exec"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

func accepted(g Gomega, namespace, name string) *metav1.Condition {
	route := &fulfillmentv1alpha1.IntentRoute{}
	g.Expect(k8sClient.Get(ctx, key(namespace, name), route)).To(Succeed())
	c := meta.FindStatusCondition(route.Status.Conditions, fulfillmentv1alpha1.ConditionAccepted)
	g.Expect(c).NotTo(BeNil())
	g.Expect(c.ObservedGeneration).To(Equal(route.Generation))
	return c
}

var _ = Describe("IntentRoute controller", func() {
	var namespace string
	BeforeEach(func() { namespace = newNamespace() })

	It("accepts a valid route and says why it refuses the others", func() {
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, respondRoute(namespace, "welcome", "bank-bot", "Welcome", "Hello!"))).To(Succeed())

		orphan := respondRoute(namespace, "orphan", "no-such-bot", "Welcome", "Hello!")
		Expect(k8sClient.Create(ctx, orphan)).To(Succeed())

		broken := respondRoute(namespace, "broken", "bank-bot", "Broken", "${params.x +}")
		Expect(k8sClient.Create(ctx, broken)).To(Succeed())

		newer := respondRoute(namespace, "welcome-again", "bank-bot", "Welcome", "Hi!")
		Expect(k8sClient.Create(ctx, newer)).To(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(accepted(g, namespace, "welcome").Reason).To(Equal(fulfillmentv1alpha1.ReasonAccepted))
			orphaned := accepted(g, namespace, "orphan")
			g.Expect(orphaned.Reason).To(Equal(fulfillmentv1alpha1.ReasonEndpointNotFound))
			g.Expect(orphaned.Message).To(ContainSubstring("no-such-bot"))
			invalid := accepted(g, namespace, "broken")
			g.Expect(invalid.Reason).To(Equal(fulfillmentv1alpha1.ReasonInvalidExpression))
			g.Expect(invalid.Message).To(ContainSubstring("spec.respond.text"))
			conflict := accepted(g, namespace, "welcome-again")
			g.Expect(conflict.Reason).To(Equal(fulfillmentv1alpha1.ReasonConflict))
			g.Expect(conflict.Message).To(ContainSubstring("welcome"))
		}).Should(Succeed())

		// The endpoint serves the accepted route only, and counts the rest.
		Eventually(func(g Gomega) {
			routes := renderedConfig(g, namespace, "bank-bot").Endpoints[0].Routes
			g.Expect(routes).To(HaveLen(1))
			g.Expect(routes[0].Name).To(Equal("welcome"))
			e := mustGetEndpoint(namespace, "bank-bot")
			g.Expect(e.Status.Routes).NotTo(BeNil())
			g.Expect(e.Status.Routes.Rejected).To(Equal(int32(2)))
		}).Should(Succeed())

		// Once the older route is gone, the newer one wins.
		Expect(k8sClient.Delete(ctx, respondRoute(namespace, "welcome", "bank-bot", "Welcome", ""))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(accepted(g, namespace, "welcome-again").Reason).To(Equal(fulfillmentv1alpha1.ReasonAccepted))
		}).Should(Succeed())
	})
})

var _ = Describe("Manifests", func() {
	It("config/default applies cleanly to the API server (server-side dry run)", func() {
		out, err := exec.Command("kubectl", "kustomize", filepath.Join(testenv.RepoRoot(), "config", "default")).Output()
		Expect(err).NotTo(HaveOccurred())
		decoder := utilyaml.NewYAMLOrJSONDecoder(bytesReader(out), 4096)
		count := 0
		for {
			obj := &unstructured.Unstructured{}
			if err := decoder.Decode(&obj.Object); err != nil {
				break
			}
			if len(obj.Object) == 0 {
				continue
			}
			count++
			// The namespace must exist for namespaced objects: create it for real first.
			if obj.GetKind() == "Namespace" {
				Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, obj.DeepCopy()))).To(Succeed())
			}
			Expect(k8sClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner("test"), client.DryRunAll, client.ForceOwnership)).
				To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
		}
		Expect(count).To(BeNumerically(">=", 10))
	})
})

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
