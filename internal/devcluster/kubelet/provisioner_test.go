package kubelet

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// fakeNode is a kubelet whose informer caches are stores the test fills, with a fake API client.
type fakeNode struct {
	k                        *Kubelet
	client                   *fake.Clientset
	claims, volumes, classes cache.Indexer
}

func newFakeNode(t *testing.T, objects ...runtime.Object) *fakeNode {
	t.Helper()
	n := &fakeNode{client: fake.NewClientset(objects...)}
	n.k = New(Config{Client: n.client, NodeName: "dev-local", Dir: filepath.Join(t.TempDir(), "pods"),
		VolumesDir: filepath.Join(t.TempDir(), "volumes"), Log: slog.New(slog.DiscardHandler)})
	indexer := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	n.claims, n.volumes, n.classes = indexer(), indexer(), indexer()
	n.k.claims = corelisters.NewPersistentVolumeClaimLister(n.claims)
	n.k.volumes = corelisters.NewPersistentVolumeLister(n.volumes)
	n.k.storageClasses = storagelisters.NewStorageClassLister(n.classes)
	n.cache(t, objects...)
	return n
}

// cache puts objects in the kubelet's caches, as the informers do once the API server has them.
func (n *fakeNode) cache(t *testing.T, objects ...runtime.Object) {
	t.Helper()
	for _, object := range objects {
		var err error
		switch object.(type) {
		case *corev1.PersistentVolumeClaim:
			err = n.claims.Update(object)
		case *corev1.PersistentVolume:
			err = n.volumes.Update(object)
		case *storagev1.StorageClass:
			err = n.classes.Update(object)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// claim is a claim of 1Gi of StorageClassName.
func claim(name string, uid types.UID) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: uid},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			StorageClassName: ptr.To(StorageClassName),
		},
	}
}

// waitingClaim is a claim the PV controller has handed to provisioner.
func waitingClaim(name string, provisioner string) *corev1.PersistentVolumeClaim {
	c := claim(name, types.UID("uid-"+name))
	c.Annotations = map[string]string{annStorageProvisioner: provisioner}
	return c
}

func countCreates(n *fakeNode) int {
	creates := 0
	for _, action := range n.client.Actions() {
		if action.GetVerb() == "create" && action.GetResource().Resource == "persistentvolumes" {
			creates++
		}
	}
	return creates
}

// A claim handed to the provisioner gets a folder and a volume bound to it; claims of another provisioner, or
// already bound, are left alone.
func TestProvisionGivesAClaimAFolderAndAVolumeBoundToIt(t *testing.T) {
	mine := waitingClaim("queue-events-0", Provisioner)
	n := newFakeNode(t, StorageClass(), mine, waitingClaim("other", "example.com/nfs"))
	bound := waitingClaim("bound", Provisioner)
	bound.Spec.VolumeName = "pvc-elsewhere"
	block := waitingClaim("block", Provisioner)
	block.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
	n.cache(t, bound, block)
	ctx := context.Background()

	n.k.syncStorage(ctx)
	volumes, err := n.client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil || len(volumes.Items) != 1 {
		t.Fatalf("volumes %v (%v), want one, for %s", volumes, err, mine.Name)
	}
	volume := volumes.Items[0]
	ref := volume.Spec.ClaimRef
	if volume.Name != "pvc-uid-queue-events-0" || ref == nil || ref.UID != mine.UID || ref.Namespace != "ns" || ref.Name != mine.Name {
		t.Errorf("volume %s with claimRef %+v, want pvc-<claim uid> bound to ns/%s", volume.Name, ref, mine.Name)
	}
	if volume.Spec.StorageClassName != StorageClassName || volume.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		!volume.Spec.Capacity.Storage().Equal(*mine.Spec.Resources.Requests.Storage()) || volume.Annotations[annProvisionedBy] != Provisioner {
		t.Errorf("volume spec %+v, annotations %v: want the claim's class and size, Delete, provisioned by %s",
			volume.Spec, volume.Annotations, Provisioner)
	}
	folder := volume.Spec.HostPath.Path
	if info, err := os.Stat(folder); err != nil || !info.IsDir() || filepath.Dir(folder) != n.k.cfg.VolumesDir {
		t.Errorf("the volume's folder %s: %v; want a folder in %s", folder, err, n.k.cfg.VolumesDir)
	}

	// Once the volume is in the cache, the claim no longer waits for one.
	n.cache(t, &volume)
	n.k.syncStorage(ctx)
	if creates := countCreates(n); creates != 1 {
		t.Errorf("%d volumes created, want 1", creates)
	}
}

// A released volume of the provisioner with the Delete policy loses its folder and is deleted; other volumes
// are kept, and a folder outside VolumesDir is never removed.
func TestReclaimDeletesOnlyReleasedVolumesOfItsOwn(t *testing.T) {
	n := newFakeNode(t)
	volume := func(name string, phase corev1.PersistentVolumePhase, mutate func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
		folder := filepath.Join(n.k.cfg.VolumesDir, name)
		if err := os.MkdirAll(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(folder, "data"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		v := persistentVolume(claim(name, types.UID("uid-"+name)), StorageClass(), folder, "dev-local")
		v.Name, v.Status.Phase = name, phase
		if mutate != nil {
			mutate(v)
		}
		return v
	}
	outside := filepath.Join(t.TempDir(), "not-a-volume")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	volumes := map[string]*corev1.PersistentVolume{
		"released": volume("released", corev1.VolumeReleased, nil),
		"bound":    volume("bound", corev1.VolumeBound, nil),
		"retained": volume("retained", corev1.VolumeReleased, func(v *corev1.PersistentVolume) {
			v.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
		}),
		"foreign": volume("foreign", corev1.VolumeReleased, func(v *corev1.PersistentVolume) { v.Annotations = nil }),
		"outside": volume("outside", corev1.VolumeReleased, func(v *corev1.PersistentVolume) { v.Spec.HostPath.Path = outside }),
	}
	ctx := context.Background()
	for _, v := range volumes {
		if _, err := n.client.CoreV1().PersistentVolumes().Create(ctx, v, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		n.cache(t, v)
	}

	n.k.syncStorage(ctx)
	for name, v := range volumes {
		_, folderErr := os.Stat(v.Spec.HostPath.Path)
		_, getErr := n.client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		deleted := os.IsNotExist(folderErr) && apierrors.IsNotFound(getErr)
		kept := folderErr == nil && getErr == nil
		if want := name == "released"; deleted != want || (!want && !kept) {
			t.Errorf("volume %s: folder %v, object %v; want deleted %v", name, folderErr, getErr, want)
		}
	}
}
