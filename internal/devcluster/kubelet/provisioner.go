package kubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

// The dev cluster's storage: claims of StorageClassName are provisioned by the kubelet as folders, through the
// PV controller's contract with external provisioners (as local-path-provisioner does on a real node). The PV
// controller names the provisioner on a claim; the kubelet creates a folder and a hostPath PersistentVolume
// bound to that claim; the PV controller binds the claim. When the claim is deleted, the PV controller
// releases the volume and leaves its deletion to the provisioner: the kubelet removes the folder and the
// volume.
const (
	// StorageClassName is the dev cluster's default StorageClass (StorageClass).
	StorageClassName = "local-folder"
	// Provisioner is the provisioner name of StorageClassName.
	Provisioner = "fulfillment.dev/local-folder"

	// annStorageProvisioner on a claim names the provisioner the PV controller waits for.
	annStorageProvisioner = "volume.kubernetes.io/storage-provisioner"
	// annProvisionedBy on a volume names its provisioner: the PV controller leaves the deletion of a released
	// volume to a provisioner it does not know.
	annProvisionedBy = "pv.kubernetes.io/provisioned-by"
	// annDefaultClass makes a StorageClass the one a claim naming none gets.
	annDefaultClass = "storageclass.kubernetes.io/is-default-class"
)

// StorageClass is the dev cluster's default StorageClass, so that claims naming none (a StatefulSet's
// volumeClaimTemplates usually) get it from the DefaultStorageClass admission. Binding is Immediate: the
// kubelet is the scheduler too and binds pods at once, so there is no scheduling decision to wait for.
func StorageClass() *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: StorageClassName,
			Annotations: map[string]string{annDefaultClass: "true"}},
		Provisioner:       Provisioner,
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
	}
}

// provisionVolumes provisions and reclaims volumes until ctx ends: at once on a change of a claim or volume,
// and every syncPeriod, which retries what failed.
func (k *Kubelet) provisionVolumes(ctx context.Context) {
	ticker := time.NewTicker(syncPeriod)
	defer ticker.Stop()
	for {
		k.syncStorage(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-k.storageChanged:
		}
	}
}

// storageChangedFunc wakes provisionVolumes, for the claim and volume informers.
func (k *Kubelet) storageChangedFunc(any) {
	select {
	case k.storageChanged <- struct{}{}:
	default:
	}
}

// syncStorage provisions a volume for every claim that waits for Provisioner and reclaims every volume of
// Provisioner that the PV controller released.
func (k *Kubelet) syncStorage(ctx context.Context) {
	claims, err := k.claims.List(labels.Everything())
	if err != nil {
		k.cfg.Log.Error("listing claims", "error", err)
		return
	}
	for _, claim := range claims {
		if !k.waitsForVolume(claim) {
			continue
		}
		if err := k.provision(ctx, claim); err != nil && ctx.Err() == nil {
			k.cfg.Log.Error("provisioning a volume", "claim", claim.Namespace+"/"+claim.Name, "error", err)
		}
	}
	volumes, err := k.volumes.List(labels.Everything())
	if err != nil {
		k.cfg.Log.Error("listing volumes", "error", err)
		return
	}
	for _, volume := range volumes {
		if !releasedForDeletion(volume) {
			continue
		}
		if err := k.reclaim(ctx, volume); err != nil && ctx.Err() == nil {
			k.cfg.Log.Error("deleting a released volume", "volume", volume.Name, "error", err)
		}
	}
}

// waitsForVolume tells whether the PV controller waits for this provisioner to create claim's volume. Only
// file system volumes are provisioned: a block claim stays Pending.
func (k *Kubelet) waitsForVolume(claim *corev1.PersistentVolumeClaim) bool {
	if claim.Annotations[annStorageProvisioner] != Provisioner || claim.Spec.VolumeName != "" ||
		claim.DeletionTimestamp != nil || ptr.Deref(claim.Spec.VolumeMode, corev1.PersistentVolumeFilesystem) != corev1.PersistentVolumeFilesystem {
		return false
	}
	_, err := k.volumes.Get(volumeName(claim))
	return apierrors.IsNotFound(err)
}

// provision creates claim's folder and a PersistentVolume bound to claim that mounts it.
func (k *Kubelet) provision(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	class, err := k.storageClasses.Get(ptr.Deref(claim.Spec.StorageClassName, ""))
	if err != nil {
		return err
	}
	folder := filepath.Join(k.cfg.VolumesDir, fmt.Sprintf("%s_%s_%s", claim.Namespace, claim.Name, volumeName(claim)))
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return err
	}
	volume := persistentVolume(claim, class, folder, k.cfg.NodeName)
	_, err = k.cfg.Client.CoreV1().PersistentVolumes().Create(ctx, volume, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// volumeName is the name of claim's volume, unique to the claim, as dynamic provisioners name them.
func volumeName(claim *corev1.PersistentVolumeClaim) string { return "pvc-" + string(claim.UID) }

// persistentVolume is the volume of claim: folder as a hostPath on node, with the claim's size, access modes
// and class and the class's reclaim policy, bound to the claim (claimRef with its UID) so that the PV
// controller binds the claim to it and to no other.
func persistentVolume(claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, folder, node string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: volumeName(claim), Annotations: map[string]string{annProvisionedBy: Provisioner}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: claim.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   claim.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: ptr.Deref(class.ReclaimPolicy, corev1.PersistentVolumeReclaimDelete),
			StorageClassName:              class.Name,
			VolumeMode:                    ptr.To(corev1.PersistentVolumeFilesystem),
			ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: folder, Type: ptr.To(corev1.HostPathDirectory)}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
			}}}},
		},
	}
}

// releasedForDeletion tells whether volume is one of Provisioner's that the PV controller released (its
// claim is gone) and that is to be deleted with its data.
func releasedForDeletion(volume *corev1.PersistentVolume) bool {
	return volume.Annotations[annProvisionedBy] == Provisioner && volume.Status.Phase == corev1.VolumeReleased &&
		volume.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete && volume.DeletionTimestamp == nil
}

// reclaim removes a released volume's folder, then the volume. It refuses a folder outside VolumesDir: a
// volume of this provisioner points nowhere else, unless someone edited it.
func (k *Kubelet) reclaim(ctx context.Context, volume *corev1.PersistentVolume) error {
	if volume.Spec.HostPath == nil {
		return fmt.Errorf("volume %s is not a hostPath volume", volume.Name)
	}
	folder := volume.Spec.HostPath.Path
	if rel, err := filepath.Rel(k.cfg.VolumesDir, folder); err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("volume %s: %s is not a folder in %s: not removed", volume.Name, folder, k.cfg.VolumesDir)
	}
	if err := os.RemoveAll(folder); err != nil {
		return err
	}
	err := k.cfg.Client.CoreV1().PersistentVolumes().Delete(ctx, volume.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &volume.UID}})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
