package kubelet

import (
	"context"
	"crypto/tls"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// syncVolumes mounts every volume under rootfs at each of its mount points: a ConfigMap or Secret is written
// there (an unchanged one is not touched, a changed one is swapped in at once), an emptyDir is a folder, and a
// claim is its volume's folder.
func (w *worker) syncVolumes(pod *corev1.Pod) error {
	for i := range pod.Spec.Volumes {
		if err := w.syncVolume(pod.Namespace, &pod.Spec.Volumes[i]); err != nil {
			return fmt.Errorf("volume %q: %w", pod.Spec.Volumes[i].Name, err)
		}
	}
	return nil
}

// syncVolume reads a volume's source, even when no container mounts it, as the kubelet sets up every volume
// of a pod, then mounts it at each of its mount points.
func (w *worker) syncVolume(namespace string, volume *corev1.Volume) error {
	mount, err := w.mounter(namespace, volume)
	if err != nil {
		return err
	}
	for _, c := range w.containers {
		for _, m := range c.spec.VolumeMounts {
			if m.Name != volume.Name {
				continue
			}
			if m.SubPath != "" || m.SubPathExpr != "" {
				return fmt.Errorf("subPath is %w", errUnsupported)
			}
			if err := mount(filepath.Join(w.rootfs, m.MountPath)); err != nil {
				return fmt.Errorf("at %s: %w", m.MountPath, err)
			}
		}
	}
	return nil
}

// mounter reads a volume's source and returns what mounts it at a path under rootfs.
func (w *worker) mounter(namespace string, volume *corev1.Volume) (func(target string) error, error) {
	if claim := volume.PersistentVolumeClaim; claim != nil {
		folder, err := w.claimFolder(namespace, volume.Name, claim.ClaimName)
		if err != nil {
			return nil, err
		}
		return func(target string) error { return linkFolder(target, folder) }, nil
	}
	files, mode, err := w.volumeFiles(namespace, volume)
	switch {
	case err != nil:
		return nil, err
	case files == nil:
		return func(target string) error { return os.MkdirAll(target, 0o755) }, nil
	default:
		return func(target string) error { _, err := writeAtomic(target, files, mode); return err }, nil
	}
}

// volumeFiles are a volume's files and mode; nil files for an emptyDir.
func (w *worker) volumeFiles(namespace string, volume *corev1.Volume) (map[string][]byte, os.FileMode, error) {
	switch source := volume.VolumeSource; {
	case source.EmptyDir != nil:
		return nil, 0, nil
	case source.ConfigMap != nil:
		return keyedVolume(w.configMapData(namespace, source.ConfigMap.Name, true), source.ConfigMap.Items,
			ptr.Deref(source.ConfigMap.Optional, false), source.ConfigMap.DefaultMode)
	case source.Secret != nil:
		return keyedVolume(w.secretData(namespace, source.Secret.SecretName), source.Secret.Items,
			ptr.Deref(source.Secret.Optional, false), source.Secret.DefaultMode)
	default:
		return nil, 0, fmt.Errorf("only configMap, secret, emptyDir and persistentVolumeClaim volumes are run: %w", errUnsupported)
	}
}

// objectData is a ConfigMap's or Secret's data by key, read from the kubelet's cache.
type objectData struct {
	what string // `configmap "name"` or `secret "name"`, for errors
	data map[string][]byte
	err  error
}

// configMapData has data and, for volumes, binaryData: env vars read only data, as the kubelet does.
func (w *worker) configMapData(namespace, name string, withBinary bool) objectData {
	d := objectData{what: fmt.Sprintf("configmap %q", name)}
	configMap, err := w.k.configMaps.ConfigMaps(namespace).Get(name)
	if d.err = err; err == nil {
		d.data = map[string][]byte{}
		for key, value := range configMap.Data {
			d.data[key] = []byte(value)
		}
		if withBinary {
			maps.Copy(d.data, configMap.BinaryData)
		}
	}
	return d
}

func (w *worker) secretData(namespace, name string) objectData {
	secret, err := w.k.secrets.Secrets(namespace).Get(name)
	d := objectData{what: fmt.Sprintf("secret %q", name), err: err}
	if err == nil {
		d.data = secret.Data
	}
	return d
}

// keyedVolume is the files and mode of a ConfigMap or Secret volume: a missing optional object is an empty
// volume.
func keyedVolume(d objectData, items []corev1.KeyToPath, optional bool, defaultMode *int32) (map[string][]byte, os.FileMode, error) {
	mode := os.FileMode(0o644)
	if defaultMode != nil {
		mode = os.FileMode(*defaultMode)
	}
	switch {
	case apierrors.IsNotFound(d.err) && optional:
		d.data = map[string][]byte{}
	case d.err != nil:
		return nil, 0, fmt.Errorf("%s: %w", d.what, d.err)
	}
	files, err := projectKeys(d.data, items, optional)
	return files, mode, err
}

// key is one key of a ConfigMap or Secret, for an env var: "" when the object or key is missing and optional.
func (d objectData) key(key string, optional bool) (string, error) {
	if d.err != nil {
		if apierrors.IsNotFound(d.err) && optional {
			return "", nil
		}
		return "", d.err
	}
	value, ok := d.data[key]
	if !ok && !optional {
		return "", fmt.Errorf("%s has no key %q", d.what, key)
	}
	return string(value), nil
}

// environment is a container's environment: PATH and HOSTNAME as a container has them, then its env, with
// values from the pod's fields, its resources, ConfigMaps and Secrets.
func (w *worker) environment(pod *corev1.Pod, c *container) ([]string, error) {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOSTNAME=" + pod.Name, "HOME=" + w.rootfs}
	if len(c.spec.EnvFrom) > 0 {
		return nil, fmt.Errorf("envFrom is %w", errUnsupported)
	}
	for _, variable := range c.spec.Env {
		value, err := w.envValue(pod, c, variable)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", variable.Name, err)
		}
		env = append(env, variable.Name+"="+value)
	}
	return env, nil
}

func (w *worker) envValue(pod *corev1.Pod, c *container, variable corev1.EnvVar) (string, error) {
	from := variable.ValueFrom
	switch {
	case from == nil:
		return variable.Value, nil
	case from.FieldRef != nil:
		return fieldValue(pod, w.ip, from.FieldRef.FieldPath)
	case from.ResourceFieldRef != nil:
		return resourceValue(pod, c, from.ResourceFieldRef)
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		return w.secretData(pod.Namespace, ref.Name).key(ref.Key, ptr.Deref(ref.Optional, false))
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		return w.configMapData(pod.Namespace, ref.Name, false).key(ref.Key, ptr.Deref(ref.Optional, false))
	default:
		return "", fmt.Errorf("valueFrom: %w", errUnsupported)
	}
}

// fieldValue is the value of a fieldRef of pod, whose address is ip.
func fieldValue(pod *corev1.Pod, ip, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP":
		return ip, nil
	case "status.hostIP":
		return loopback, nil
	}
	for prefix, values := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if rest, ok := strings.CutPrefix(path, prefix+"['"); ok && strings.HasSuffix(rest, "']") {
			return values[strings.TrimSuffix(rest, "']")], nil
		}
	}
	return "", fmt.Errorf("fieldRef %s: %w", path, errUnsupported)
}

// nodeAllocatable is what a resourceFieldRef on an unset limit reads, as on a real node.
var nodeAllocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("8Gi")}

// resourceValue is a resourceFieldRef's value: the quantity divided by the divisor, rounded up, as the
// downward API computes it.
func resourceValue(pod *corev1.Pod, c *container, ref *corev1.ResourceFieldSelector) (string, error) {
	target := &c.spec
	if ref.ContainerName != "" && ref.ContainerName != c.spec.Name {
		target = nil
		for i := range pod.Spec.Containers {
			if pod.Spec.Containers[i].Name == ref.ContainerName {
				target = &pod.Spec.Containers[i]
			}
		}
		if target == nil {
			return "", fmt.Errorf("resourceFieldRef: no container %q", ref.ContainerName)
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("resourceFieldRef %s: %w", ref.Resource, errUnsupported)
	}
	list := target.Resources.Limits
	if kind == "requests" {
		list = target.Resources.Requests
	}
	quantity, ok := list[corev1.ResourceName(name)]
	if !ok {
		quantity = nodeAllocatable[corev1.ResourceName(name)]
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if name == string(corev1.ResourceCPU) {
		return strconv.FormatInt((quantity.MilliValue()+divisor.MilliValue()-1)/divisor.MilliValue(), 10), nil
	}
	return strconv.FormatInt((quantity.Value()+divisor.Value()-1)/divisor.Value(), 10), nil
}

// probe runs a container's readiness probe once: ready when it passes, or when there is no probe.
func (w *worker) probe(ctx context.Context, c *container) (bool, string) {
	probe := c.spec.ReadinessProbe
	if probe == nil {
		return true, ""
	}
	timeout := time.Duration(max(probe.TimeoutSeconds, 1)) * time.Second
	switch {
	case probe.HTTPGet != nil:
		get := probe.HTTPGet
		port, ok := w.probePort(c, get.Port)
		if !ok {
			return false, fmt.Sprintf("probe port %s is not a container port", get.Port.String())
		}
		scheme := strings.ToLower(string(get.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(w.ip, strconv.Itoa(port)), get.Path)
		request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err.Error()
		}
		for _, header := range get.HTTPHeaders {
			request.Header.Set(header.Name, header.Value)
		}
		// The kubelet does not verify a probe's certificate either.
		client := &http.Client{Timeout: timeout, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}} //nolint:gosec // as the kubelet
		response, err := client.Do(request)
		if err != nil {
			return false, err.Error()
		}
		_ = response.Body.Close()
		if response.StatusCode < 200 || response.StatusCode >= 400 {
			return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", response.StatusCode)
		}
		return true, ""
	case probe.TCPSocket != nil:
		port, ok := w.probePort(c, probe.TCPSocket.Port)
		if !ok {
			return false, fmt.Sprintf("probe port %s is not a container port", probe.TCPSocket.Port.String())
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(w.ip, strconv.Itoa(port)), timeout)
		if err != nil {
			return false, err.Error()
		}
		_ = conn.Close()
		return true, ""
	default:
		return false, "only httpGet and tcpSocket probes are run by make dev"
	}
}

func (w *worker) probePort(c *container, port intstr.IntOrString) (int, bool) {
	for _, p := range c.spec.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			local, ok := c.ports[p.ContainerPort]
			return local, ok
		}
	}
	return 0, false
}

// writeStatus writes the pod's status when it changed: phase, conditions, IPs and container states.
func (w *worker) writeStatus(ctx context.Context, pod *corev1.Pod) {
	status := w.status(pod)
	if equality.Semantic.DeepEqual(status, pod.Status) {
		return
	}
	updated := pod.DeepCopy()
	updated.Status = status
	_, err := w.k.cfg.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		w.k.cfg.Log.Error("writing pod status", "pod", pod.Namespace+"/"+pod.Name, "error", err)
	}
}

// status is the pod's status from its containers' state, keeping transition times of unchanged conditions.
func (w *worker) status(pod *corev1.Pod) corev1.PodStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	status := *pod.Status.DeepCopy()
	now := metav1.Now()
	if status.StartTime == nil {
		status.StartTime = &now
	}
	status.HostIP, status.PodIP = loopback, w.ip
	status.HostIPs, status.PodIPs = []corev1.HostIP{{IP: loopback}}, []corev1.PodIP{{IP: w.ip}}
	status.Phase = corev1.PodPending
	allReady := !w.terminating
	status.ContainerStatuses = nil
	for _, c := range w.containers {
		s := corev1.ContainerStatus{Name: c.spec.Name, Image: c.spec.Image, ImageID: "process://" + c.spec.Image,
			RestartCount: c.restarts, Ready: c.ready && c.cmd != nil, Started: ptr.To(c.cmd != nil)}
		if c.terminated != nil {
			s.LastTerminationState.Terminated = c.terminated
		}
		if c.cmd != nil {
			status.Phase = corev1.PodRunning
			s.ContainerID = c.cmd.ID()
			s.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.cmd.StartedAt().Truncate(time.Second))}
		} else {
			s.State.Waiting = c.waiting
			if s.State.Waiting == nil {
				s.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
			}
		}
		allReady = allReady && s.Ready
		status.ContainerStatuses = append(status.ContainerStatuses, s)
	}
	if status.Phase == corev1.PodPending && len(status.ContainerStatuses) > 0 && pod.Status.Phase == corev1.PodRunning {
		status.Phase = corev1.PodRunning // a restarting container keeps the pod Running
	}
	ready, message := corev1.ConditionFalse, ""
	if allReady {
		ready = corev1.ConditionTrue
	} else {
		for _, c := range w.containers {
			if c.probeFailed != "" {
				message = "readiness probe: " + c.probeFailed
			}
		}
	}
	for _, condition := range []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
		{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue},
		{Type: corev1.ContainersReady, Status: ready, Message: message},
		{Type: corev1.PodReady, Status: ready, Message: message},
	} {
		setCondition(&status, condition, now)
	}
	return status
}

func setCondition(status *corev1.PodStatus, condition corev1.PodCondition, now metav1.Time) {
	for i := range status.Conditions {
		existing := &status.Conditions[i]
		if existing.Type != condition.Type {
			continue
		}
		if existing.Status != condition.Status {
			existing.LastTransitionTime = now
		}
		existing.Status, existing.Message = condition.Status, condition.Message
		return
	}
	condition.LastTransitionTime = now
	status.Conditions = append(status.Conditions, condition)
}
