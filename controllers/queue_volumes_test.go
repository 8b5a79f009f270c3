package controllers

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

func requiredAffinity(key string, values ...string) *corev1.VolumeNodeAffinity {
	return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: corev1.NodeSelectorOpIn, Values: values}}}}}}
}

func TestNodeLocalVolume(t *testing.T) {
	cases := map[string]struct {
		spec      corev1.PersistentVolumeSpec
		wantNode  string
		wantLocal bool
	}{
		"a hostPath volume (local-path-provisioner, a dev cluster)": {spec: corev1.PersistentVolumeSpec{
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/q"}},
			NodeAffinity:           requiredAffinity(corev1.LabelHostname, "node-a")}, wantNode: "node-a", wantLocal: true},
		"a local PersistentVolume": {spec: corev1.PersistentVolumeSpec{
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disks/q"}}},
			wantLocal: true},
		"a CSI volume pinned to a node (TopoLVM)": {spec: corev1.PersistentVolumeSpec{
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "topolvm.io"}},
			NodeAffinity:           requiredAffinity(corev1.LabelHostname, "node-b")}, wantNode: "node-b", wantLocal: true},
		"a zonal network disk": {spec: corev1.PersistentVolumeSpec{
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com"}},
			NodeAffinity:           requiredAffinity(corev1.LabelTopologyZone, "eu-west-1a")}},
		"a network file system": {spec: corev1.PersistentVolumeSpec{
			PersistentVolumeSource: corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/q"}}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			node, local := nodeLocalVolume(&corev1.PersistentVolume{Spec: c.spec})
			if node != c.wantNode || local != c.wantLocal {
				t.Errorf("nodeLocalVolume = (%q, %v), want (%q, %v)", node, local, c.wantNode, c.wantLocal)
			}
		})
	}
}

// A Local queue is fsynced on its volume; on a volume of one node it still loses its events with the node, and
// QueueDurable says so. Volumes not read, or all reachable from other nodes, leave the pods' verdict.
func TestQueueDurableOfNodeLocalVolumes(t *testing.T) {
	reports := []PodReport{report("bank-bot-0", false, statusz.Queue{Endpoint: "bots/bank-bot", Kind: "Local", Durability: "Fsync"})}
	cases := map[string]struct {
		facts      EndpointFacts
		wantStatus metav1.ConditionStatus
		wantReason string
		wantSays   string
	}{
		"on a node's volume": {facts: EndpointFacts{NodeLocalClaims: []string{"queue-bank-bot-0 (PersistentVolume pvc-1, on node node-a)"},
			QueueVolumesRead: true}, wantStatus: metav1.ConditionFalse, wantReason: ReasonNodeLocalVolume,
			wantSays: "queue-bank-bot-0 (PersistentVolume pvc-1, on node node-a); losing that node loses the events on it"},
		"on network-attached volumes": {facts: EndpointFacts{QueueVolumesRead: true}, wantStatus: metav1.ConditionTrue, wantReason: "Fsync"},
		"volumes not read":            {facts: EndpointFacts{}, wantStatus: metav1.ConditionTrue, wantReason: "Fsync"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			c.facts.PodReports, c.facts.PodsRead = reports, true
			status := ComputeEndpointStatus(localQueueEndpoint(nil), c.facts, endpointStatusNow)
			durable := meta.FindStatusCondition(status.Conditions, fulfillmentv1alpha1.ConditionQueueDurable)
			if durable == nil || durable.Status != c.wantStatus || durable.Reason != c.wantReason || !strings.Contains(durable.Message, c.wantSays) {
				t.Errorf("QueueDurable = %+v, want %s %s saying %q", durable, c.wantStatus, c.wantReason, c.wantSays)
			}
		})
	}
}
