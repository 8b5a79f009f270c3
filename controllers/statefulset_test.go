package controllers_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testredis"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/server"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

// localQueueEndpoint is a Generic Async endpoint with the Local queue.
func localQueueEndpoint(namespace, name string, replicas int32) *fulfillmentv1alpha1.WebhookEndpoint {
	return &fulfillmentv1alpha1.WebhookEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
			Dialect:  fulfillmentv1alpha1.DialectGeneric,
			Auth:     fulfillmentv1alpha1.EndpointAuth{AllowUnauthenticated: true},
			Delivery: &fulfillmentv1alpha1.Delivery{Mode: fulfillmentv1alpha1.DeliveryAsync, Queue: fulfillmentv1alpha1.QueueLocal},
			Replicas: ptr.To(replicas),
		},
	}
}

// playStatefulSetController writes the status the StatefulSet controller would write once every replica runs
// the current revision and is available (envtest runs no controller-manager).
func playStatefulSetController(g Gomega, namespace, name string) {
	set := &appsv1.StatefulSet{}
	g.Expect(k8sClient.Get(ctx, key(namespace, name), set)).To(Succeed())
	replicas := ptr.Deref(set.Spec.Replicas, 1)
	if set.Status.ObservedGeneration == set.Generation && set.Status.AvailableReplicas == replicas && set.Status.Replicas == replicas {
		return
	}
	set.Status = appsv1.StatefulSetStatus{ObservedGeneration: set.Generation, Replicas: replicas, ReadyReplicas: replicas,
		CurrentReplicas: replicas, UpdatedReplicas: replicas, AvailableReplicas: replicas,
		CurrentRevision: name + "-1", UpdateRevision: name + "-1"}
	g.Expect(k8sClient.Status().Update(ctx, set)).To(Succeed())
}

var _ = Describe("An endpoint with a Local queue", func() {
	It("runs as a StatefulSet whose pods keep their queue on claims of their own", func() {
		startGarbageCollector() // replacing the StatefulSet below orphans its pods through it
		ns := newNamespace()
		endpoint := localQueueEndpoint(ns, "events", 2)
		endpoint.Spec.Delivery.Storage = &fulfillmentv1alpha1.QueueStorage{Size: ptr.To(resource.MustParse("3Gi"))}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())

		set := &appsv1.StatefulSet{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(ns, "events"), set)).To(Succeed())
		}).Should(Succeed())
		Expect(set).To(beControlledBy(endpoint))
		Expect(*set.Spec.Replicas).To(Equal(int32(2)))
		Expect(set.Spec.VolumeClaimTemplates).To(HaveLen(1))
		size := set.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]
		Expect(size.String()).To(Equal("3Gi"))
		Expect(set.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted).To(Equal(appsv1.RetainPersistentVolumeClaimRetentionPolicyType))
		Expect(set.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled).To(Equal(appsv1.RetainPersistentVolumeClaimRetentionPolicyType))
		Expect(k8sClient.Get(ctx, key(ns, "events"), &appsv1.Deployment{})).To(Satisfy(apierrors.IsNotFound),
			"an endpoint with a Local queue has no Deployment")

		Eventually(func(g Gomega) {
			playStatefulSetController(g, ns, "events")
			current := &fulfillmentv1alpha1.WebhookEndpoint{}
			g.Expect(k8sClient.Get(ctx, key(ns, "events"), current)).To(Succeed())
			ready := meta.FindStatusCondition(current.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
			g.Expect(ready.Message).To(ContainSubstring("2/2 replicas available"))
			g.Expect(current.Status.Replicas).To(Equal(int32(2)))
		}).WithTimeout(30 * time.Second).Should(Succeed())

		// A new volume size cannot change the immutable claim templates: the StatefulSet is replaced, its pods
		// and claims left to the new one.
		uid := set.UID
		Eventually(func(g Gomega) {
			current := &fulfillmentv1alpha1.WebhookEndpoint{}
			g.Expect(k8sClient.Get(ctx, key(ns, "events"), current)).To(Succeed())
			current.Spec.Delivery.Storage.Size = ptr.To(resource.MustParse("5Gi"))
			g.Expect(k8sClient.Update(ctx, current)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(ns, "events"), set)).To(Succeed())
			g.Expect(set.UID).NotTo(Equal(uid))
			size := set.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]
			g.Expect(size.String()).To(Equal("5Gi"))
			g.Expect(eventNotes(g, ns, "StatefulSetReplaced")).To(HaveLen(1))
		}).WithTimeout(90 * time.Second).Should(Succeed())
	})
})

// eventCounter is an upstream that counts the events it applied by id, and fails while failing is set.
type eventCounter struct {
	failing atomic.Bool
	mu      sync.Mutex
	applied map[string]int
}

func startEventCounter() (*eventCounter, string) {
	counter := &eventCounter{applied: map[string]int{}}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if counter.failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		counter.mu.Lock()
		counter.applied[strings.Trim(string(body), `"`)]++
		counter.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	DeferCleanup(upstream.Close)
	return counter, upstream.URL
}

func (c *eventCounter) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.applied[id]
}

var _ = Describe("Scaling down an endpoint with a Local queue", func() {
	It("retires a pod only once it delivered every event it acknowledged", func() {
		counter, upstream := startEventCounter()
		ns := newNamespace()
		endpoint := localQueueEndpoint(ns, "events", 2)
		endpoint.Spec.Delivery.MaxAttempts = ptr.To(int32(100))
		endpoint.Spec.Delivery.Backoff = &fulfillmentv1alpha1.Backoff{Initial: &metav1.Duration{Duration: 20 * time.Millisecond},
			Max: &metav1.Duration{Duration: 200 * time.Millisecond}}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		route := &fulfillmentv1alpha1.IntentRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "apply"},
			Spec: fulfillmentv1alpha1.IntentRouteSpec{
				EndpointRef: fulfillmentv1alpha1.LocalObjectReference{Name: "events"},
				Match:       fulfillmentv1alpha1.RouteMatch{Events: []string{"order.paid"}},
				Call: &fulfillmentv1alpha1.CallAction{URL: upstream + "/apply", Body: "request.body.id",
					Retry: &fulfillmentv1alpha1.Retry{Attempts: 1}},
			},
		}
		Expect(k8sClient.Create(ctx, route)).To(Succeed())
		Eventually(func(g Gomega) {
			configMap := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, "events-config"), configMap)).To(Succeed())
			g.Expect(configMap.Data["config.yaml"]).To(ContainSubstring("/apply"))
		}).Should(Succeed())

		// Two pods, as the StatefulSet controller and the kubelet would run them: each serves the mounted
		// ConfigMap under its own name, with its queue on its own volume.
		pods := map[string]podFiles{}
		webhookPorts := map[string]int{}
		for _, name := range []string{"events-0", "events-1"} {
			files := podFiles{root: GinkgoT().TempDir()}
			files.mountConfigMap(ns, "events")
			metrics, webhook := startPodServerWith(files, server.Options{PodName: name, QueueDir: GinkgoT().TempDir(),
				BreakerOpenTimeout: 100 * time.Millisecond})
			createReadyPod(endpoint, name, metrics)
			pods[name], webhookPorts[name] = files, webhook
		}
		expectReady(ns, "events", fulfillmentv1alpha1.ReasonAvailable, "2 ready pods serve configuration", 30*time.Second)

		// The upstream is down: events-1 acknowledges five events and keeps them.
		counter.failing.Store(true)
		for i := range 5 {
			body := fmt.Sprintf(`{"event":"order.paid","id":"evt_%d"}`, i)
			response, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/webhook", webhookPorts["events-1"]), "application/json", strings.NewReader(body))
			Expect(err).NotTo(HaveOccurred())
			Expect(response.Body.Close()).To(Succeed())
			Expect(response.StatusCode).To(Equal(http.StatusAccepted))
		}

		// Scaled to one pod: events-1 is named in the configuration and, once it loaded it, drains; the
		// StatefulSet keeps it while it holds the events.
		Eventually(func(g Gomega) {
			current := &fulfillmentv1alpha1.WebhookEndpoint{}
			g.Expect(k8sClient.Get(ctx, key(ns, "events"), current)).To(Succeed())
			current.Spec.Replicas = ptr.To(int32(1))
			g.Expect(k8sClient.Update(ctx, current)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			configMap := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, "events-config"), configMap)).To(Succeed())
			g.Expect(configMap.Data["config.yaml"]).To(ContainSubstring("drainPods:\n- events-1"))
		}).Should(Succeed())
		for _, files := range pods {
			files.mountConfigMap(ns, "events")
		}
		Eventually(func(g Gomega) {
			current := &fulfillmentv1alpha1.WebhookEndpoint{}
			g.Expect(k8sClient.Get(ctx, key(ns, "events"), current)).To(Succeed())
			ready := meta.FindStatusCondition(current.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(fulfillmentv1alpha1.ReasonQueueDraining))
			g.Expect(ready.Message).To(ContainSubstring("pod events-1 delivers its 5 queued events first"))
			g.Expect(current.Status.Queue).NotTo(BeNil())
			g.Expect(current.Status.Queue.Waiting).To(Equal(int64(5)))
			g.Expect(current.Status.Queue.OldestEventTime).NotTo(BeNil())
		}).WithTimeout(30 * time.Second).Should(Succeed())
		set := &appsv1.StatefulSet{}
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(ns, "events"), set)).To(Succeed())
			g.Expect(*set.Spec.Replicas).To(Equal(int32(2)), "a pod holding events was retired")
		}).WithTimeout(3 * time.Second).Should(Succeed())

		// The upstream is back: events-1 delivers everything, then it is retired.
		counter.failing.Store(false)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(ns, "events"), set)).To(Succeed())
			g.Expect(*set.Spec.Replicas).To(Equal(int32(1)))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		for i := range 5 {
			Expect(counter.count(fmt.Sprintf("evt_%d", i))).To(BeNumerically(">=", 1), "evt_%d was not delivered", i)
		}
		retired := &corev1.Pod{}
		Expect(k8sClient.Get(ctx, key(ns, "events-1"), retired)).To(Succeed())
		Expect(k8sClient.Delete(ctx, retired, client.GracePeriodSeconds(0))).To(Succeed())
		// The configuration no longer names a pod to retire: the remaining pod loads it, and the endpoint is Ready.
		Eventually(func(g Gomega) {
			configMap := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, "events-config"), configMap)).To(Succeed())
			g.Expect(configMap.Data["config.yaml"]).NotTo(ContainSubstring("drainPods"))
		}).Should(Succeed())
		// Once retired, the configuration stays put (no drain list flapping back).
		first := pods["events-0"].mountConfigMap(ns, "events")
		Consistently(func(g Gomega) {
			configMap := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, "events-config"), configMap)).To(Succeed())
			g.Expect(configMap.Annotations[controllers.AnnotationConfigHash]).To(Equal(first), "%s", configMap.Data["config.yaml"])
		}).WithTimeout(2 * time.Second).Should(Succeed())
		expectReady(ns, "events", fulfillmentv1alpha1.ReasonAvailable, "1 ready pod serves configuration", 30*time.Second)
	})
})

var _ = Describe("An endpoint moving to a Local queue", func() {
	It("keeps its Deployment until the Deployment's pods delivered what they queued", func() {
		counter, upstream := startEventCounter()
		ns := newNamespace()
		endpoint := localQueueEndpoint(ns, "moving", 1)
		endpoint.Spec.Delivery = nil // Sync: a Deployment
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		route := &fulfillmentv1alpha1.IntentRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "apply"},
			Spec: fulfillmentv1alpha1.IntentRouteSpec{
				EndpointRef: fulfillmentv1alpha1.LocalObjectReference{Name: "moving"},
				Match:       fulfillmentv1alpha1.RouteMatch{Events: []string{"order.paid"}},
				Call:        &fulfillmentv1alpha1.CallAction{URL: upstream + "/apply", Body: "request.body.id", Retry: &fulfillmentv1alpha1.Retry{Attempts: 1}},
			},
		}
		Expect(k8sClient.Create(ctx, route)).To(Succeed())
		deployment := &appsv1.Deployment{}
		Eventually(func(g Gomega) { g.Expect(k8sClient.Get(ctx, key(ns, "moving"), deployment)).To(Succeed()) }).Should(Succeed())
		// The Deployment's pod, as its ReplicaSet and the kubelet run it.
		files := podFiles{root: GinkgoT().TempDir()}
		Eventually(func(g Gomega) {
			configMap := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, "moving-config"), configMap)).To(Succeed())
			g.Expect(configMap.Data["config.yaml"]).To(ContainSubstring("/apply"))
		}).Should(Succeed())
		files.mountConfigMap(ns, "moving")
		metrics, webhook := startPodServerWith(files, server.Options{PodName: "moving-7d9f-x2k4p", QueueDir: GinkgoT().TempDir(),
			BreakerOpenTimeout: 100 * time.Millisecond})
		pod := createReadyPod(endpoint, "moving-7d9f-x2k4p", metrics)
		pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "moving-7d9f",
			UID: "0b0c5f1e-2f4c-4a37-9c1e-6a3d9a2b7c11", Controller: ptr.To(true)}}
		Expect(k8sClient.Update(ctx, pod)).To(Succeed())

		// The endpoint turns Async with the Local queue, as with an operator that kept Local queues in the
		// Deployment's emptyDir: its pod, still running, loads the new configuration and queues events.
		Eventually(func(g Gomega) {
			current := &fulfillmentv1alpha1.WebhookEndpoint{}
			g.Expect(k8sClient.Get(ctx, key(ns, "moving"), current)).To(Succeed())
			current.Spec.Delivery = &fulfillmentv1alpha1.Delivery{Mode: fulfillmentv1alpha1.DeliveryAsync,
				MaxAttempts: ptr.To(int32(100)), Backoff: &fulfillmentv1alpha1.Backoff{Initial: &metav1.Duration{Duration: 20 * time.Millisecond},
					Max: &metav1.Duration{Duration: 200 * time.Millisecond}}}
			g.Expect(k8sClient.Update(ctx, current)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) { g.Expect(k8sClient.Get(ctx, key(ns, "moving"), &appsv1.StatefulSet{})).To(Succeed()) }).Should(Succeed())
		// What an older operator rendered: the same configuration, without naming the pod to retire, so that the
		// pod takes events into its Local queue.
		Eventually(func(g Gomega) {
			configMap := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, "moving-config"), configMap)).To(Succeed())
			rendered := configMap.Data["config.yaml"]
			g.Expect(rendered).To(ContainSubstring("drainPods:\n- moving-7d9f-x2k4p\n"))
			files.write("config/config.yaml", strings.Replace(rendered, "drainPods:\n- moving-7d9f-x2k4p\n", "", 1))
			response, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/statusz", metrics))
			g.Expect(err).NotTo(HaveOccurred())
			defer response.Body.Close()
			var report statusz.Report
			g.Expect(json.NewDecoder(response.Body).Decode(&report)).To(Succeed())
			g.Expect(report.Queues).To(HaveLen(1))
		}).Should(Succeed())
		counter.failing.Store(true)
		for i := range 3 {
			body := fmt.Sprintf(`{"event":"order.paid","id":"old_%d"}`, i)
			response, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/webhook", webhook), "application/json", strings.NewReader(body))
			Expect(err).NotTo(HaveOccurred())
			Expect(response.Body.Close()).To(Succeed())
			Expect(response.StatusCode).To(Equal(http.StatusAccepted))
		}

		// The Deployment's pod is named in the configuration, drains, and holds the Deployment back.
		Eventually(func(g Gomega) {
			files.mountConfigMap(ns, "moving")
			current := &fulfillmentv1alpha1.WebhookEndpoint{}
			g.Expect(k8sClient.Get(ctx, key(ns, "moving"), current)).To(Succeed())
			ready := meta.FindStatusCondition(current.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Message).To(ContainSubstring("Deployment moving is removed once its pods delivered their events: " +
				"pod moving-7d9f-x2k4p delivers its 3 queued events first"))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(ns, "moving"), &appsv1.Deployment{})).To(Succeed())
		}).WithTimeout(3 * time.Second).Should(Succeed())

		// Delivered: the Deployment goes.
		counter.failing.Store(false)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(ns, "moving"), &appsv1.Deployment{})).To(Satisfy(apierrors.IsNotFound))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		for i := range 3 {
			Expect(counter.count(fmt.Sprintf("old_%d", i))).To(BeNumerically(">=", 1), "old_%d was not delivered", i)
		}
	})
})

var _ = Describe("An endpoint with a Redis queue", func() {
	It("says when Redis's persistence can lose acknowledged events, with a Warning", func() {
		redis := testredis.Start(GinkgoT(), "--appendonly", "no", "--save", "")
		ns := newNamespace()
		endpoint := localQueueEndpoint(ns, "redis-events", 1)
		endpoint.Spec.Redis = &fulfillmentv1alpha1.RedisConnection{URL: redis.URL()}
		endpoint.Spec.Delivery.Queue = fulfillmentv1alpha1.QueueRedis
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		files := podFiles{root: GinkgoT().TempDir()}
		Eventually(func(g Gomega) {
			configMap := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, "redis-events-config"), configMap)).To(Succeed())
		}).Should(Succeed())
		files.mountConfigMap(ns, "redis-events")
		metrics, _ := startPodServerWith(files, server.Options{PodName: "redis-events-5c8d-q7w2e"})
		createReadyPod(endpoint, "redis-events-5c8d-q7w2e", metrics)

		Eventually(func(g Gomega) {
			playDeploymentController(g, ns, "redis-events")
			current := &fulfillmentv1alpha1.WebhookEndpoint{}
			g.Expect(k8sClient.Get(ctx, key(ns, "redis-events"), current)).To(Succeed())
			condition := meta.FindStatusCondition(current.Status.Conditions, fulfillmentv1alpha1.ConditionQueueDurable)
			g.Expect(condition).NotTo(BeNil())
			g.Expect(condition.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(condition.Reason).To(Equal("None"))
			g.Expect(condition.Message).To(ContainSubstring("a Redis restart loses every queued event"))
			g.Expect(eventNotes(g, ns, fulfillmentv1alpha1.ReasonEventsAtRisk)).To(HaveLen(1))
			// It informs; the endpoint serves.
			ready := meta.FindStatusCondition(current.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})
})
