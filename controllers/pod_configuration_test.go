package controllers_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/server"
)

// podFiles lays out what the kubelet mounts in a fulfillment pod: the ConfigMap's config.yaml and each Secret as
// a folder, at the same relative places (the rendered configuration finds its Secrets at ../secrets).
type podFiles struct{ root string }

func (f podFiles) configPath() string { return filepath.Join(f.root, "config", "config.yaml") }

func (f podFiles) write(relative, content string) {
	GinkgoHelper()
	path := filepath.Join(f.root, relative)
	Expect(os.MkdirAll(filepath.Dir(path), 0o755)).To(Succeed())
	Expect(os.WriteFile(path, []byte(content), 0o600)).To(Succeed())
}

// mountConfigMap writes the endpoint's current ConfigMap as the kubelet would, and returns its hash.
func (f podFiles) mountConfigMap(namespace, name string) string {
	GinkgoHelper()
	configMap := &corev1.ConfigMap{}
	Expect(k8sClient.Get(ctx, key(namespace, name+"-config"), configMap)).To(Succeed())
	f.write("config/config.yaml", configMap.Data["config.yaml"])
	return configMap.Annotations[controllers.AnnotationConfigHash]
}

// startPodServer runs a real webhookserver on the pod files, with its metrics listener on a free loopback port.
func startPodServer(files podFiles) int {
	GinkgoHelper()
	metrics, _ := startPodServerWith(files, server.Options{})
	return metrics
}

// startPodServerWith runs a real webhookserver on the pod files with opts (its source and reload interval
// set here), and returns its metrics and webhook ports.
func startPodServerWith(files podFiles, opts server.Options) (metricsPort, webhookPort int) {
	GinkgoHelper()
	opts.Source, opts.ReloadInterval = &server.FileSource{Path: files.configPath()}, 50*time.Millisecond
	srv, err := server.New(opts)
	Expect(err).NotTo(HaveOccurred())
	var listeners server.Listeners
	for _, l := range []*net.Listener{&listeners.Webhook, &listeners.Metrics} {
		*l, err = net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
	}
	serveCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx, listeners) }()
	DeferCleanup(func() { stop(); Expect(<-done).To(Succeed()) })
	return listeners.Metrics.Addr().(*net.TCPAddr).Port, listeners.Webhook.Addr().(*net.TCPAddr).Port
}

// createReadyPod creates a pod of the endpoint as its ReplicaSet would, ready at 127.0.0.1 with its metrics
// port at metricsPort (envtest runs no kubelet: the test plays it).
func createReadyPod(endpoint *fulfillmentv1alpha1.WebhookEndpoint, name string, metricsPort int) *corev1.Pod {
	GinkgoHelper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: endpoint.Namespace, Name: name, Labels: controllers.Labels(endpoint)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "webhookserver", Image: image,
			Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: int32(metricsPort)}}}}},
	}
	Expect(k8sClient.Create(ctx, pod)).To(Succeed())
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1",
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}}
	Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
	// Gone with the spec, before its server stops: a ready pod left behind would fail its report on the
	// endpoint's next periodic recheck, a status write in the middle of a later spec's quiet period.
	DeferCleanup(func() {
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, pod, client.GracePeriodSeconds(0)))).To(Succeed())
	})
	return pod
}

// expectReady waits for Ready with reason (True for Available) and a message containing text.
func expectReady(namespace, name, reason, text string, timeout time.Duration) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		if err := k8sClient.Get(ctx, key(namespace, name), &appsv1.StatefulSet{}); err == nil {
			playStatefulSetController(g, namespace, name)
		} else {
			playDeploymentController(g, namespace, name)
		}
		endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
		g.Expect(k8sClient.Get(ctx, key(namespace, name), endpoint)).To(Succeed())
		ready := meta.FindStatusCondition(endpoint.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(reason), ready.Message)
		g.Expect(ready.Status == metav1.ConditionTrue).To(Equal(reason == fulfillmentv1alpha1.ReasonAvailable), ready.Message)
		g.Expect(ready.Message).To(ContainSubstring(text))
	}).WithTimeout(timeout).Should(Succeed())
}

var _ = Describe("Confirming the configuration the pods serve", func() {
	It("is Ready only while every ready pod serves the rendered configuration, and stalls on a refusal", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, basicSecret(ns, "bank-basic"))).To(Succeed())
		endpoint := bankEndpoint(ns)
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		route := respondRoute(ns, "balance", "bank-bot", "balance", "Your balance is fine.")
		Expect(k8sClient.Create(ctx, route)).To(Succeed())
		expectReady(ns, "bank-bot", fulfillmentv1alpha1.ReasonAvailable, "replicas available", 30*time.Second)

		// One pod, serving what its volumes hold: the ConfigMap and the Secret as they are now.
		files := podFiles{root: GinkgoT().TempDir()}
		files.write("secrets/bank-basic/username", "dialogflow")
		files.write("secrets/bank-basic/password", "s3cret-password")
		Eventually(func(g Gomega) {
			// The route is accepted once the ConfigMap renders it.
			configMap := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, "bank-bot-config"), configMap)).To(Succeed())
			g.Expect(configMap.Data["config.yaml"]).To(ContainSubstring("Your balance is fine."))
		}).Should(Succeed())
		first := files.mountConfigMap(ns, "bank-bot")
		port := startPodServer(files)
		pod := createReadyPod(endpoint, "bank-bot-1", port)
		expectReady(ns, "bank-bot", fulfillmentv1alpha1.ReasonAvailable, "ready pod serves configuration "+first[:12], 30*time.Second)

		// A route edit renders a new configuration: not Ready until the pod loads it.
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(route), route)).To(Succeed())
			route.Spec.Respond.Text = "Your balance is great."
			g.Expect(k8sClient.Update(ctx, route)).To(Succeed())
		}).Should(Succeed())
		expectReady(ns, "bank-bot", fulfillmentv1alpha1.ReasonConfigurationLoading, "0/1 ready pods serve configuration", 30*time.Second)
		second := files.mountConfigMap(ns, "bank-bot")
		Expect(second).NotTo(Equal(first))
		expectReady(ns, "bank-bot", fulfillmentv1alpha1.ReasonAvailable, "ready pod serves configuration "+second[:12], 30*time.Second)

		// The pod's mounted Secret loses a key the API's copy has (the operator's checks see nothing wrong), and
		// the next configuration is refused: Stalled, naming the pod and the key, while the pod keeps serving.
		Expect(os.Remove(filepath.Join(files.root, "secrets/bank-basic/username"))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(route), route)).To(Succeed())
			route.Spec.Respond.Text = "Your balance is splendid."
			g.Expect(k8sClient.Update(ctx, route)).To(Succeed())
		}).Should(Succeed())
		expectReady(ns, "bank-bot", fulfillmentv1alpha1.ReasonConfigurationLoading, "waiting for bank-bot-1", 30*time.Second)
		third := files.mountConfigMap(ns, "bank-bot")
		expectReady(ns, "bank-bot", fulfillmentv1alpha1.ReasonConfigurationRefused, "pod bank-bot-1 refuses it", 30*time.Second)
		Eventually(func(g Gomega) {
			endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
			g.Expect(k8sClient.Get(ctx, key(ns, "bank-bot"), endpoint)).To(Succeed())
			stalled := meta.FindStatusCondition(endpoint.Status.Conditions, fulfillmentv1alpha1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Message).To(And(ContainSubstring(third[:12]), ContainSubstring("username"),
				ContainSubstring("keeps serving configuration "+second[:12])))
		}).Should(Succeed())

		// Mended on the pod: Ready again, without any change in the cluster.
		files.write("secrets/bank-basic/username", "dialogflow")
		expectReady(ns, "bank-bot", fulfillmentv1alpha1.ReasonAvailable, "ready pod serves configuration "+third[:12], 30*time.Second)

		// A ready pod whose report cannot be read: not Ready on it.
		closed, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		closedPort := closed.Addr().(*net.TCPAddr).Port
		Expect(closed.Close()).To(Succeed())
		unreachable := createReadyPod(endpoint, "bank-bot-2", closedPort)
		expectReady(ns, "bank-bot", fulfillmentv1alpha1.ReasonConfigurationUnconfirmed, "pod bank-bot-2", 30*time.Second)
		Expect(k8sClient.Delete(ctx, unreachable, client.GracePeriodSeconds(0))).To(Succeed())
		expectReady(ns, "bank-bot", fulfillmentv1alpha1.ReasonAvailable, "ready pod serves configuration "+third[:12], 30*time.Second)
		Expect(k8sClient.Delete(ctx, pod, client.GracePeriodSeconds(0))).To(Succeed())
	})
})
