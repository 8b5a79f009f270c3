package controllers_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/internal/gitopshealth"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// healthTests is Argo CD's health_test.yaml.
type healthTests struct {
	Tests []struct {
		HealthStatus gitopshealth.ArgoHealth `json:"healthStatus"`
		InputPath    string                  `json:"inputPath"`
	} `json:"tests"`
}

func readUnstructured(path string) *unstructured.Unstructured {
	GinkgoHelper()
	content, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	data, err := yaml.YAMLToJSON(content)
	Expect(err).NotTo(HaveOccurred())
	u := &unstructured.Unstructured{}
	Expect(u.UnmarshalJSON(data)).To(Succeed(), path)
	return u
}

// kstatusOf is what Flux's health checks (kstatus) say about an object.
func kstatusOf(u *unstructured.Unstructured) status.Status {
	GinkgoHelper()
	result, _, err := gitopshealth.Kstatus(u)
	Expect(err).NotTo(HaveOccurred())
	return result
}

// liveObject reads an object as Argo CD and Flux see it: unstructured, straight from the API server.
func liveObject(g Gomega, namespace, kind, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(fulfillmentv1alpha1.GroupVersion.WithKind(kind))
	g.Expect(k8sClient.Get(ctx, key(namespace, name), u)).To(Succeed())
	return u
}

func liveHealth(g Gomega, namespace, kind, name string) (gitopshealth.ArgoHealth, status.Status) {
	u := liveObject(g, namespace, kind, name)
	health, err := gitopshealth.ArgoCD(testenv.RepoRoot(), kind, u.Object)
	g.Expect(err).NotTo(HaveOccurred())
	result, _, err := gitopshealth.Kstatus(u)
	g.Expect(err).NotTo(HaveOccurred())
	return health, result
}

var _ = Describe("Argo CD health checks", func() {
	DescribeTable("health.lua passes every case of its health_test.yaml, and every testdata file is a case",
		func(kind string) {
			dir := gitopshealth.CustomizationDir(testenv.RepoRoot(), kind)
			content, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
			Expect(err).NotTo(HaveOccurred())
			tests := healthTests{}
			Expect(yaml.UnmarshalStrict(content, &tests)).To(Succeed())
			Expect(tests.Tests).NotTo(BeEmpty())
			inputs := []string{}
			for _, test := range tests.Tests {
				u := readUnstructured(filepath.Join(dir, test.InputPath))
				Expect(u.GetKind()).To(Equal(kind), test.InputPath)
				health, err := gitopshealth.ArgoCD(testenv.RepoRoot(), kind, u.Object)
				Expect(err).NotTo(HaveOccurred(), test.InputPath)
				Expect(health).To(Equal(test.HealthStatus), test.InputPath)
				inputs = append(inputs, filepath.Clean(test.InputPath))
			}
			files, err := filepath.Glob(filepath.Join(dir, "testdata", "*.yaml"))
			Expect(err).NotTo(HaveOccurred())
			for _, file := range files {
				Expect(inputs).To(ContainElement(filepath.Join("testdata", filepath.Base(file))))
			}
		},
		Entry(nil, "WebhookEndpoint"),
		Entry(nil, "IntentRoute"),
		Entry(nil, "WebhookGateway"),
	)

	It("WebhookEndpoint: the Argo CD health of each testdata case matches what kstatus says", func() {
		// Argo CD status -> kstatus: Healthy -> Current, Degraded -> Failed, Progressing -> InProgress (Terminating
		// while deleted). Two differences (see docs/gitops.md): kstatus cannot tell an object without any status
		// from a converged one and says Current, where the health script waits for the operator; and a suspended
		// or scaled-to-zero endpoint (no Ready condition: nothing to wait for) is Current for kstatus and
		// Suspended for Argo CD.
		want := map[string]status.Status{
			"progressing-no-status.yaml":      status.CurrentStatus,
			"progressing-generation.yaml":     status.InProgressStatus,
			"deleting.yaml":                   status.TerminatingStatus,
			"degraded-stalled.yaml":           status.FailedStatus,
			"progressing-reconciling.yaml":    status.InProgressStatus,
			"progressing-waiting-secret.yaml": status.InProgressStatus,
			"suspended.yaml":                  status.CurrentStatus,
			"scaled-to-zero.yaml":             status.CurrentStatus,
			"healthy.yaml":                    status.CurrentStatus,
		}
		files, err := filepath.Glob(filepath.Join(gitopshealth.CustomizationDir(testenv.RepoRoot(), "WebhookEndpoint"), "testdata", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).To(HaveLen(len(want)))
		for _, file := range files {
			Expect(want).To(HaveKey(filepath.Base(file)))
			Expect(kstatusOf(readUnstructured(file))).To(Equal(want[filepath.Base(file)]), file)
		}
	})

	Context("on the objects the operator writes", func() {
		var namespace string
		BeforeEach(func() { namespace = newNamespace() })

		It("a WebhookEndpoint is Progressing/InProgress while it waits for its Secret and rolls out, Healthy/Current when available", func() {
			Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
			Eventually(func(g Gomega) {
				g.Expect(condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionReconciling)).NotTo(BeNil())
				health, kstatus := liveHealth(g, namespace, "WebhookEndpoint", "bank-bot")
				// A missing Secret is waited for (a GitOps tool creates it moments later), not a failure.
				g.Expect(health.Status).To(Equal("Progressing"))
				g.Expect(kstatus).To(Equal(status.InProgressStatus))
			}).Should(Succeed())

			Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
			deployment := &appsv1.Deployment{}
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), deployment)).To(Succeed())
				health, kstatus := liveHealth(g, namespace, "WebhookEndpoint", "bank-bot")
				g.Expect(health.Status).To(Equal("Progressing"))
				g.Expect(health.Message).To(ContainSubstring("Deployment bank-bot"))
				g.Expect(kstatus).To(Equal(status.InProgressStatus))
			}).Should(Succeed())

			Eventually(func(g Gomega) {
				playDeploymentController(g, namespace, "bank-bot")
				health, kstatus := liveHealth(g, namespace, "WebhookEndpoint", "bank-bot")
				g.Expect(health.Status).To(Equal("Healthy"))
				g.Expect(health.Message).To(ContainSubstring("2/2 replicas available"))
				g.Expect(kstatus).To(Equal(status.CurrentStatus))
			}).Should(Succeed())
		})

		It("an accepted IntentRoute is Healthy and Current, one whose endpoint is missing Degraded and Failed", func() {
			Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
			Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
			Expect(k8sClient.Create(ctx, respondRoute(namespace, "welcome", "bank-bot", "Welcome", "Hello!"))).To(Succeed())
			Expect(k8sClient.Create(ctx, respondRoute(namespace, "orphan", "no-such-bot", "Welcome", "Hello!"))).To(Succeed())
			Eventually(func(g Gomega) {
				health, kstatus := liveHealth(g, namespace, "IntentRoute", "welcome")
				g.Expect(health).To(Equal(gitopshealth.ArgoHealth{Status: "Healthy", Message: "served by WebhookEndpoint bank-bot"}))
				g.Expect(kstatus).To(Equal(status.CurrentStatus))
				health, kstatus = liveHealth(g, namespace, "IntentRoute", "orphan")
				g.Expect(kstatus).To(Equal(status.FailedStatus))
				g.Expect(health.Status).To(Equal("Degraded"))
				g.Expect(health.Message).To(HavePrefix(fulfillmentv1alpha1.ReasonEndpointNotFound + ": "))
				g.Expect(health.Message).To(ContainSubstring("no-such-bot"))
			}).Should(Succeed())
		})
	})
})
