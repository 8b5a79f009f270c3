package kubelet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// statefulPod is pod <name> with the volume "queue" from the claim queue-<name>, mounted at /var/lib/queue.
func statefulPod(name string, uid types.UID) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: uid},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "server", Image: "img",
				VolumeMounts: []corev1.VolumeMount{{Name: "queue", MountPath: "/var/lib/queue"}}}},
			Volumes: []corev1.Volume{{Name: "queue", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "queue-" + name}}}},
		},
	}
}

// bind makes claim bound to a volume with a folder of its own, as provisioning and the PV controller do.
func (n *fakeNode) bind(t *testing.T, c *corev1.PersistentVolumeClaim) string {
	t.Helper()
	folder := filepath.Join(n.k.cfg.VolumesDir, c.Name)
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	volume := persistentVolume(c, StorageClass(), folder, "dev-local")
	volume.Status.Phase = corev1.VolumeBound
	bound := c.DeepCopy()
	bound.Spec.VolumeName, bound.Status.Phase = volume.Name, corev1.ClaimBound
	n.cache(t, volume, bound)
	return folder
}

// A pod waits in ContainerCreating, without starting, until its claim exists and is bound, then gets the
// claim's folder at its mount path.
func TestClaimVolumeWaitsUntilTheClaimIsBound(t *testing.T) {
	n := newFakeNode(t)
	pod := statefulPod("events-0", "uid-1")
	w := newWorker(n.k, pod)
	ctx := context.Background()
	waiting := func(want string) {
		t.Helper()
		w.sync(ctx, pod)
		c := w.containers[0]
		if c.cmd != nil || c.waiting == nil || c.waiting.Reason != "ContainerCreating" || !strings.Contains(c.waiting.Message, want) {
			t.Fatalf("container started %v, waiting %+v; want ContainerCreating with %q", c.cmd != nil, c.waiting, want)
		}
		if status := w.status(pod); status.ContainerStatuses[0].State.Waiting.Reason != "ContainerCreating" {
			t.Fatalf("status %+v, want waiting in ContainerCreating", status.ContainerStatuses[0].State)
		}
	}
	waiting(`persistentvolumeclaim "queue-events-0" not found`)

	pending := claim("queue-events-0", "claim-1")
	n.cache(t, pending)
	waiting(`persistentvolumeclaim "queue-events-0" is not bound`)

	folder := n.bind(t, pending)
	if err := w.syncVolumes(pod); err != nil {
		t.Fatalf("a bound claim: %v", err)
	}
	mounted := filepath.Join(w.rootfs, "var/lib/queue")
	if target, err := os.Readlink(mounted); err != nil || target != folder {
		t.Fatalf("%s links to %q (%v), want the claim's folder %s", mounted, target, err, folder)
	}
}

// The claim's data outlives the pod: a deleted pod's folder goes, and the next pod with the same claim finds
// what the first one wrote.
func TestClaimDataOutlivesThePod(t *testing.T) {
	n := newFakeNode(t)
	folder := n.bind(t, claim("queue-events-0", "claim-1"))
	first := newWorker(n.k, statefulPod("events-0", "uid-1"))
	if err := first.syncVolumes(statefulPod("events-0", "uid-1")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(first.rootfs, "tmp"), 0o755); err != nil { // an emptyDir's place
		t.Fatal(err)
	}
	queueFile := "var/lib/queue/ns_events.db"
	if err := os.WriteFile(filepath.Join(first.rootfs, queueFile), []byte("queued"), 0o600); err != nil {
		t.Fatal(err)
	}
	first.removeFolder()
	if _, err := os.Stat(first.dir); !os.IsNotExist(err) {
		t.Fatalf("the deleted pod's folder is still there (%v)", err)
	}
	if content, err := os.ReadFile(filepath.Join(folder, "ns_events.db")); err != nil || string(content) != "queued" {
		t.Fatalf("the claim's folder lost the file with the pod: %q, %v", content, err)
	}

	next := newWorker(n.k, statefulPod("events-0", "uid-2"))
	if err := next.syncVolumes(statefulPod("events-0", "uid-2")); err != nil {
		t.Fatal(err)
	}
	if content, err := os.ReadFile(filepath.Join(next.rootfs, queueFile)); err != nil || string(content) != "queued" {
		t.Fatalf("the next pod with the claim reads %q (%v), want what the first wrote", content, err)
	}
}

// A claim deleted while the pod uses it stays mounted for the pod's life (a restarted container gets it), and
// no new pod mounts it.
func TestClaimBeingDeletedStaysMountedOnlyWhereItWas(t *testing.T) {
	n := newFakeNode(t)
	c := claim("queue-events-0", "claim-1")
	n.bind(t, c)
	running := newWorker(n.k, statefulPod("events-0", "uid-1"))
	if err := running.syncVolumes(statefulPod("events-0", "uid-1")); err != nil {
		t.Fatal(err)
	}
	deleting, err := n.k.claims.PersistentVolumeClaims("ns").Get(c.Name)
	if err != nil {
		t.Fatal(err)
	}
	deleting = deleting.DeepCopy()
	deleting.DeletionTimestamp = ptr.To(metav1.Now())
	n.cache(t, deleting)
	if err := running.syncVolumes(statefulPod("events-0", "uid-1")); err != nil {
		t.Errorf("the pod that mounted the claim: %v", err)
	}
	next := newWorker(n.k, statefulPod("events-0", "uid-2"))
	if err := next.syncVolumes(statefulPod("events-0", "uid-2")); !errors.Is(err, errVolumeNotReady) ||
		!strings.Contains(err.Error(), "is being deleted") {
		t.Errorf("a new pod with a claim being deleted: %v, want to wait", err)
	}
}

// A volume the kubelet cannot mount at all is a configuration error, not a wait.
func TestClaimOnAnUnsupportedVolumeIsAConfigError(t *testing.T) {
	n := newFakeNode(t)
	c := claim("queue-events-0", "claim-1")
	n.bind(t, c)
	volume, err := n.k.volumes.Get(volumeName(c))
	if err != nil {
		t.Fatal(err)
	}
	volume = volume.DeepCopy()
	volume.Spec.HostPath, volume.Spec.NFS = nil, &corev1.NFSVolumeSource{Server: "nfs", Path: "/"}
	n.cache(t, volume)
	err = newWorker(n.k, statefulPod("events-0", "uid-1")).syncVolumes(statefulPod("events-0", "uid-1"))
	if !errors.Is(err, errUnsupported) || volumeWaiting(err).Reason != "CreateContainerConfigError" {
		t.Errorf("an NFS volume: %v, waiting %+v; want CreateContainerConfigError", err, volumeWaiting(err))
	}
}

// A pod deleted without a grace period (kubectl delete --force) loses its folder, emptyDirs included, at once;
// its claim's folder stays.
func TestForceDeletedPodLosesItsFolderButNotItsClaim(t *testing.T) {
	n := newFakeNode(t)
	folder := n.bind(t, claim("queue-events-0", "claim-1"))
	pod := statefulPod("events-0", "uid-1")
	w := newWorker(n.k, pod)
	if err := w.syncVolumes(pod); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.rootfs, "var/lib/queue/ns_events.db"), []byte("queued"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The pod is gone from the API: the worker's first look finds nothing.
	n.k.pods = corelisters.NewPodLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}))
	w.run(context.Background())
	if _, err := os.Stat(w.dir); !os.IsNotExist(err) {
		t.Errorf("the force-deleted pod's folder is still there (%v)", err)
	}
	if content, err := os.ReadFile(filepath.Join(folder, "ns_events.db")); err != nil || string(content) != "queued" {
		t.Errorf("the claim's folder lost the file: %q, %v", content, err)
	}
}
