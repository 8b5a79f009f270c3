package kubelet

import (
	"errors"
	"net"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLocalArgMovesPathsAndPorts(t *testing.T) {
	w := &worker{rootfs: "/dev/pod/rootfs", ip: "127.0.1.7"}
	c := &container{
		spec:        corev1.Container{VolumeMounts: []corev1.VolumeMount{{MountPath: "/etc/fulfillment/config"}, {MountPath: "/var/lib/q/"}}},
		ports:       map[int32]int{8080: 8080},
		podLoopback: map[int]int{9091: 41001},
	}
	for arg, want := range map[string]string{
		"/etc/fulfillment/config/config.yaml": filepath.Join(w.rootfs, "/etc/fulfillment/config/config.yaml"),
		"/etc/fulfillment/config":             filepath.Join(w.rootfs, "/etc/fulfillment/config"),
		"--queue-dir=/var/lib/q/x":            "--queue-dir=" + filepath.Join(w.rootfs, "/var/lib/q/x"),
		"/etc/fulfillment/configuration":      "/etc/fulfillment/configuration", // not under the mount point
		":8080":                               "127.0.1.7:8080",                 // the pod's own address
		"0.0.0.0:8080":                        "127.0.1.7:8080",
		"--listen=:8080":                      "--listen=127.0.1.7:8080",
		":9999":                               ":9999", // not a container port
		"--admin-listen=127.0.0.1:9091":       "--admin-listen=127.0.0.1:41001",
		"localhost:9091":                      "127.0.0.1:41001",
		"127.0.0.1:9999":                      "127.0.0.1:9999", // not allocated
		"serve":                               "serve",
	} {
		if got := w.localArg(c, arg); got != want {
			t.Errorf("localArg(%q) = %q, want %q", arg, got, want)
		}
	}
}

func TestEnvironmentFromTheDownwardAPI(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"app": "x"}}}
	c := &container{spec: corev1.Container{Name: "c", Resources: corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")},
	}}}
	pod.Spec.Containers = []corev1.Container{c.spec}
	for _, tc := range []struct {
		ref  *corev1.ResourceFieldSelector
		want string
	}{
		{&corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1")}, "134217728"},
		{&corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}, "128"},
		{&corev1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}, "50"},
		{&corev1.ResourceFieldSelector{Resource: "requests.cpu"}, "1"}, // rounded up
		{&corev1.ResourceFieldSelector{Resource: "limits.cpu"}, "2"},   // unset: the node's allocatable
	} {
		if got, err := resourceValue(pod, c, tc.ref); err != nil || got != tc.want {
			t.Errorf("%s / %s = %q (%v), want %s", tc.ref.Resource, tc.ref.Divisor.String(), got, err, tc.want)
		}
	}
	for path, want := range map[string]string{"metadata.name": "p", "metadata.namespace": "ns", "status.podIP": "127.0.1.7", "status.hostIP": "127.0.0.1",
		"metadata.labels['app']": "x"} {
		if got, err := fieldValue(pod, "127.0.1.7", path); err != nil || got != want {
			t.Errorf("fieldRef %s = %q (%v), want %q", path, got, err, want)
		}
	}
	if _, err := fieldValue(pod, "127.0.1.7", "status.hostIPs"); !errors.Is(err, errUnsupported) {
		t.Errorf("an unknown fieldRef: %v, want errUnsupported", err)
	}
}

func TestStatusKeepsTransitionTimesAndReportsReadiness(t *testing.T) {
	w := &worker{containers: []*container{{spec: corev1.Container{Name: "c", Image: "img"}}}}
	pod := &corev1.Pod{}
	status := w.status(pod)
	if status.Phase != corev1.PodPending || status.ContainerStatuses[0].State.Waiting == nil {
		t.Fatalf("not started: phase %s, state %+v", status.Phase, status.ContainerStatuses[0].State)
	}
	ready := func(s corev1.PodStatus) corev1.PodCondition {
		for _, condition := range s.Conditions {
			if condition.Type == corev1.PodReady {
				return condition
			}
		}
		t.Fatal("no Ready condition")
		return corev1.PodCondition{}
	}
	if ready(status).Status != corev1.ConditionFalse {
		t.Errorf("Ready %s before the container runs", ready(status).Status)
	}
	pod.Status = status
	again := w.status(pod)
	before := ready(pod.Status).LastTransitionTime
	if after := ready(again).LastTransitionTime; !after.Equal(&before) {
		t.Errorf("an unchanged condition got a new transition time")
	}
	w.terminating = true
	if ready(w.status(pod)).Status != corev1.ConditionFalse {
		t.Errorf("a terminating pod is Ready")
	}
}

// Each pod gets an address of its own where its container ports are free, and gives it back when it ends.
func TestAllocateIPSkipsTakenAddressesAndPorts(t *testing.T) {
	k := New(Config{})
	first, err := k.allocateIP("a", []int32{0})
	if err != nil {
		t.Fatal(err)
	}
	// Something else listens at the next address's port: that address is skipped.
	busy, err := net.Listen("tcp", "127.0.1.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := int32(busy.Addr().(*net.TCPAddr).Port)
	second, err := k.allocateIP("b", []int32{port})
	if err != nil {
		t.Fatal(err)
	}
	if first != "127.0.1.1" || second != "127.0.1.3" {
		t.Fatalf("addresses %s and %s, want 127.0.1.1 and 127.0.1.3 (127.0.1.2 has port %d taken)", first, second, port)
	}
	k.releaseIP(first)
	if again, _ := k.allocateIP("c", nil); again != first {
		t.Fatalf("a released address was not reused: %s", again)
	}
}
