package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testredis"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/server"
)

var _ = Describe("An Async endpoint on a WebhookGateway", func() {
	It("shows its queue from the gateway's pods, and says when their Redis can lose its events", func() {
		redis := testredis.Start(GinkgoT(), "--appendonly", "no", "--save", "")
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, sharedGateway(ns))).To(Succeed())
		member := localQueueEndpoint(ns, "pay-events", 1)
		member.Spec.Replicas = nil
		member.Spec.Path = "/pay"
		member.Spec.GatewayRef = &fulfillmentv1alpha1.LocalObjectReference{Name: "shared"}
		member.Spec.Redis = &fulfillmentv1alpha1.RedisConnection{URL: redis.URL()}
		member.Spec.Delivery.Queue = fulfillmentv1alpha1.QueueRedis
		Expect(k8sClient.Create(ctx, member)).To(Succeed())

		// The gateway's pod serves the gateway's configuration once the member is in it.
		files := podFiles{root: GinkgoT().TempDir()}
		Eventually(func(g Gomega) {
			g.Expect(servedEndpoints(g, ns, "shared")).To(HaveKey("pay-events"))
		}).Should(Succeed())
		files.mountConfigMap(ns, "shared")
		metrics, _ := startPodServerWith(files, server.Options{PodName: "shared-5c8d-q7w2e"})
		createReadyPod(controllers.GatewayWorkload(mustGetGateway(ns, "shared")), "shared-5c8d-q7w2e", metrics)

		Eventually(func(g Gomega) {
			files.mountConfigMap(ns, "shared")
			playDeploymentController(g, ns, "shared")
			current := mustGetEndpoint(ns, "pay-events")
			g.Expect(current.Status.Queue).NotTo(BeNil(), "status.queue of a gateway member")
			g.Expect(current.Status.Queue.Waiting).To(BeZero())
			condition := meta.FindStatusCondition(current.Status.Conditions, fulfillmentv1alpha1.ConditionQueueDurable)
			g.Expect(condition).NotTo(BeNil(), "QueueDurable of a gateway member: %+v", current.Status.Conditions)
			g.Expect(condition.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(condition.Reason).To(Equal("None"))
			g.Expect(condition.Message).To(ContainSubstring("a Redis restart loses every queued event"))
			g.Expect(eventNotes(g, ns, fulfillmentv1alpha1.ReasonEventsAtRisk)).To(HaveLen(1))
		}).WithTimeout(60 * time.Second).Should(Succeed())
	})
})
