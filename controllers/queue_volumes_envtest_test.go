package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/server"
)

// boundQueueClaim creates the claim the StatefulSet controller would create for the endpoint's pod ordinal 0,
// bound to a volume made with source and affinity, as a provisioner and the binder would (envtest runs neither).
func boundQueueClaim(endpoint *fulfillmentv1alpha1.WebhookEndpoint, volume string, source corev1.PersistentVolumeSource, affinity *corev1.VolumeNodeAffinity) {
	GinkgoHelper()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: volume},
		Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: source, NodeAffinity: affinity,
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
	}
	Expect(k8sClient.Create(ctx, pv)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, pv))).To(Succeed()) })
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: endpoint.Namespace, Name: "queue-" + endpoint.Name + "-0", Labels: controllers.Labels(endpoint)},
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: volume, AccessModes: pv.Spec.AccessModes,
			Resources: corev1.VolumeResourceRequirements{Requests: pv.Spec.Capacity}},
	}
	Expect(k8sClient.Create(ctx, claim)).To(Succeed())
}

// servedOnVolume creates the Local-queue endpoint "events" with one pod, binds its claim to a volume of the
// given source and node affinity, and runs that pod's server: what QueueDurable is then decided from.
func servedOnVolume(ns string, source corev1.PersistentVolumeSource, affinity *corev1.VolumeNodeAffinity) podFiles {
	GinkgoHelper()
	endpoint := localQueueEndpoint(ns, "events", 1)
	Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
	boundQueueClaim(endpoint, "pvc-"+ns, source, affinity)
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, key(ns, "events-config"), &corev1.ConfigMap{})).To(Succeed())
	}).Should(Succeed())
	files := podFiles{root: GinkgoT().TempDir()}
	files.mountConfigMap(ns, "events")
	metrics, _ := startPodServerWith(files, server.Options{PodName: "events-0", QueueDir: GinkgoT().TempDir()})
	createReadyPod(endpoint, "events-0", metrics)
	return files
}

// queueDurableOf plays the kubelet's ConfigMap refresh and the StatefulSet controller once for the endpoint
// "events" served from files, and returns the endpoint with its QueueDurable condition, which must be there.
func queueDurableOf(g Gomega, files podFiles, ns string) (*fulfillmentv1alpha1.WebhookEndpoint, *metav1.Condition) {
	files.mountConfigMap(ns, "events")
	playStatefulSetController(g, ns, "events")
	current := mustGetEndpoint(ns, "events")
	durable := meta.FindStatusCondition(current.Status.Conditions, fulfillmentv1alpha1.ConditionQueueDurable)
	g.Expect(durable).NotTo(BeNil())
	return current, durable
}

var _ = Describe("An endpoint with a Local queue on a node's volume", func() {
	It("says that losing the node loses its events, with a Warning, and not once on a network disk", func() {
		ns := newNamespace()
		files := servedOnVolume(ns, corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/q"}},
			&corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{"node-a"}}}}}}})

		Eventually(func(g Gomega) {
			_, durable := queueDurableOf(g, files, ns)
			g.Expect(durable.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(durable.Reason).To(Equal(controllers.ReasonNodeLocalVolume))
			g.Expect(durable.Message).To(ContainSubstring("queue-events-0 (PersistentVolume pvc-" + ns + ", on node node-a)"))
			g.Expect(eventNotes(g, ns, fulfillmentv1alpha1.ReasonEventsAtRisk)).To(ConsistOf(ContainSubstring("losing that node loses the events")))
		}).WithTimeout(60 * time.Second).Should(Succeed())
	})

	It("leaves QueueDurable True on a network-attached volume", func() {
		ns := newNamespace()
		files := servedOnVolume(ns, corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-1"}},
			&corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"eu-west-1a"}}}}}}})

		Eventually(func(g Gomega) {
			current, durable := queueDurableOf(g, files, ns)
			g.Expect(durable.Status).To(Equal(metav1.ConditionTrue), durable.Message)
			g.Expect(current).To(beReady())
		}).WithTimeout(60 * time.Second).Should(Succeed())
		Expect(eventNotes(Default, ns, fulfillmentv1alpha1.ReasonEventsAtRisk)).To(BeEmpty())
	})
})
