package kubelet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// errVolumeNotReady marks a volume that cannot be mounted yet: its claim is missing, not bound yet, or being
// deleted. The containers wait in ContainerCreating, as the kubelet waits for a volume, and start once it is
// there.
var errVolumeNotReady = errors.New("waiting for the volume")

// claimFolder is the folder of the pod's claim mounted as volume. It is looked up once and then kept: the
// kubelet mounts a volume once for the pod's life, so a container restarted after its claim was deleted (the
// claim stays, Terminating, while a pod uses it) still gets it.
func (w *worker) claimFolder(namespace, volume, claim string) (string, error) {
	if folder, ok := w.claimFolders[volume]; ok {
		return folder, nil
	}
	folder, err := w.k.boundFolder(namespace, claim)
	if err != nil {
		return "", err
	}
	w.claimFolders[volume] = folder
	return folder, nil
}

// boundFolder is the folder of the volume bound to a claim: the hostPath of its PersistentVolume. The claim
// must be bound and not being deleted, as the kubelet requires to mount it.
func (k *Kubelet) boundFolder(namespace, claimName string) (string, error) {
	claim, err := k.claims.PersistentVolumeClaims(namespace).Get(claimName)
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("%w: persistentvolumeclaim %q not found", errVolumeNotReady, claimName)
	case err != nil:
		return "", err
	case claim.DeletionTimestamp != nil:
		return "", fmt.Errorf("%w: persistentvolumeclaim %q is being deleted", errVolumeNotReady, claimName)
	case claim.Status.Phase != corev1.ClaimBound || claim.Spec.VolumeName == "":
		return "", fmt.Errorf("%w: persistentvolumeclaim %q is not bound", errVolumeNotReady, claimName)
	}
	volume, err := k.volumes.Get(claim.Spec.VolumeName)
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("%w: persistentvolume %q not found", errVolumeNotReady, claim.Spec.VolumeName)
	case err != nil:
		return "", err
	case volume.Spec.ClaimRef == nil || volume.Spec.ClaimRef.UID != claim.UID:
		return "", fmt.Errorf("%w: persistentvolume %q is not bound to persistentvolumeclaim %q", errVolumeNotReady, volume.Name, claimName)
	case volume.Spec.HostPath == nil:
		return "", fmt.Errorf("persistentvolume %q: only hostPath volumes are mounted: %w", volume.Name, errUnsupported)
	}
	folder := volume.Spec.HostPath.Path
	if info, err := os.Stat(folder); err != nil || !info.IsDir() {
		return "", fmt.Errorf("%w: the hostPath %s of persistentvolume %q is not a folder", errVolumeNotReady, folder, volume.Name)
	}
	return folder, nil
}

// linkFolder mounts folder at target as a symbolic link. The pod's own folder holds only the link, so the
// pod's removal leaves the data in place (os.RemoveAll removes a link, not what it points to), and bbolt's
// exclusive lock works through it, on the file itself.
func linkFolder(target, folder string) error {
	if current, err := os.Readlink(target); err == nil && current == folder {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	_ = os.Remove(target) // a link to another folder; an empty folder
	return os.Symlink(folder, target)
}

// volumeWaiting is a container's waiting state while its pod's volumes cannot be mounted: ContainerCreating
// while one is not ready yet (retried every syncPeriod), CreateContainerConfigError when a volume is wrong.
func volumeWaiting(err error) *corev1.ContainerStateWaiting {
	if errors.Is(err, errVolumeNotReady) {
		return &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: err.Error()}
	}
	return &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: err.Error()}
}
