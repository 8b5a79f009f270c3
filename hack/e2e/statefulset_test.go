package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/internal/devcluster/kubelet"
)

// statefulSetManifest is an Async endpoint with a Local queue served by a StatefulSet of two pods, each with
// its queue in a claim from the volumeClaimTemplate "queue", kept when the StatefulSet is deleted or scaled
// down: how the operator runs Async Local endpoints. Its one route calls an upstream that refuses
// connections, and a failed event waits 10 minutes for its retry: an event queued once stays in the queue for
// the whole test, where it could be lost.
var statefulSetManifest = fmt.Sprintf(`
apiVersion: v1
kind: ConfigMap
metadata: {name: events-manifests}
data:
  endpoint.yaml: |
    apiVersion: fulfillment.dev/v1alpha1
    kind: WebhookEndpoint
    metadata: {name: events}
    spec:
      dialect: Generic
      timeout: 5s
      auth: {allowUnauthenticated: true}
      delivery: {mode: Async, queue: Local, maxAttempts: 3, backoff: {initial: 10m, max: 10m}}
    ---
    apiVersion: fulfillment.dev/v1alpha1
    kind: IntentRoute
    metadata: {name: apply}
    spec:
      endpointRef: {name: events}
      match: {events: [order.paid]}
      call: {url: "http://127.0.0.1:1/refused", retry: {attempts: 1}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: events}
spec:
  replicas: 2
  serviceName: events
  selector:
    matchLabels: {%[1]s: webhookserver, %[2]s: events}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Retain}
  template:
    metadata:
      labels: {%[1]s: webhookserver, %[2]s: events}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: server
        image: %[3]s
        command: [%[4]s]
        args: [serve, --manifests, /etc/manifests/endpoint.yaml, --listen, ":%[5]d", --metrics-listen, ":%[6]d",
          --admin-listen, "127.0.0.1:%[7]d", --queue-dir, %[8]s]
        ports:
        - {name: http, containerPort: %[5]d}
        - {name: metrics, containerPort: %[6]d}
        readinessProbe:
          httpGet: {path: /readyz, port: metrics}
        volumeMounts:
        - {name: manifests, mountPath: /etc/manifests}
        - {name: queue, mountPath: %[8]s}
      volumes:
      - name: manifests
        configMap: {name: events-manifests}
  volumeClaimTemplates:
  - metadata: {name: queue}
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests: {storage: 64Mi}
`, controllers.LabelName, controllers.LabelInstance, "fulfillment-operator:dev", controllers.ServerCommand,
	controllers.WebhookPort, controllers.MetricsPort, controllers.AdminPort, controllers.QueueDir)

// queueFile is the Local queue the server opens in --queue-dir for the endpoint default/events.
const queueFile = "default_events.db"

// TestStatefulSetPodsKeepTheirQueue shows that a StatefulSet's pods keep their claims, and so their Local
// queue, when the process is killed, when the pod is deleted (gracefully or by force), and when the
// StatefulSet is scaled down and up; and that a deleted claim's volume and folder are removed. The steps
// share the StatefulSet and run in order.
func TestStatefulSetPodsKeepTheirQueue(t *testing.T) {
	const ns = "e2e-statefulset"
	kubectl(t, "create", "namespace", ns)
	defer func() { _, _ = kubectlResult("delete", "namespace", ns, "--wait=false") }()
	start := time.Now()
	apply(t, ns, statefulSetManifest)
	kubectl(t, "rollout", "status", "statefulset/events", "-n", ns, "--timeout=60s")
	t.Logf("2 pods of the StatefulSet Ready %s after kubectl apply", time.Since(start).Round(time.Millisecond))

	folders := map[string]string{}
	t.Run("each pod's claim is Bound to a volume of its own, where its server opened its queue", func(t *testing.T) {
		for _, claim := range []string{"queue-events-0", "queue-events-1"} {
			folders[claim] = claimFolder(t, ns, claim)
			if _, err := os.Stat(filepath.Join(folders[claim], queueFile)); err != nil {
				t.Errorf("the queue file in the volume of %s: %v", claim, err)
			}
		}
		if folders["queue-events-0"] == folders["queue-events-1"] {
			t.Errorf("both claims have the folder %s", folders["queue-events-0"])
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	queueFolder := folders["queue-events-0"]

	// events-0 queues an event and fails its first attempt: the event waits for its retry.
	body := []byte(`{"type":"order.paid","id":"evt_statefulset_1"}`)
	status, answer, err := post(podURL(t, ns, "events-0", controllers.WebhookPort)+"/webhook", body, http.Header{})
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("queueing an event on events-0: status %d, error %v, answer %s; want 202", status, err, answer)
	}
	waitForDelayedEvent(t, ns, "events-0")

	t.Run("a process killed with SIGKILL restarts in the same pod with its queue", func(t *testing.T) {
		before := statefulPod(t, ns, "events-0")
		pid := containerPID(t, before)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		eventually(t, 30*time.Second, "events-0 restarted", func() error {
			p := statefulPod(t, ns, "events-0")
			s := p.Status.ContainerStatuses
			switch {
			case p.UID != before.UID:
				return fmt.Errorf("the pod was replaced (uid %s, was %s)", p.UID, before.UID)
			case len(s) != 1 || s[0].RestartCount != 1 || !s[0].Ready:
				return fmt.Errorf("container statuses %+v, want one ready container restarted once", s)
			case s[0].LastTerminationState.Terminated == nil || s[0].LastTerminationState.Terminated.ExitCode != 137:
				return fmt.Errorf("last state %+v, want terminated with exit code 137", s[0].LastTerminationState)
			}
			return nil
		})
		if processAlive(pid) {
			t.Errorf("the killed process %d still runs", pid)
		}
		waitForDelayedEvent(t, ns, "events-0")
		t.Logf("restarted in the same pod and serving its queue %s after SIGKILL", time.Since(killed).Round(time.Millisecond))
	})

	for _, deletion := range []struct {
		name string
		args []string
	}{
		{"a deleted pod's replacement gets the claim and the queue", nil},
		{"a force-deleted pod's replacement gets the claim and the queue", []string{"--grace-period=0", "--force"}},
	} {
		t.Run(deletion.name, func(t *testing.T) {
			before := statefulPod(t, ns, "events-0")
			deleted := time.Now()
			kubectl(t, append([]string{"delete", "pod", "events-0", "-n", ns, "--wait=false"}, deletion.args...)...)
			replacement := waitForReplacement(t, ns, "events-0", before)
			if got := claimFolder(t, ns, "queue-events-0"); got != queueFolder {
				t.Errorf("the claim's folder is %s, was %s", got, queueFolder)
			}
			waitForDelayedEvent(t, ns, "events-0")
			t.Logf("replacement %s Ready with the queued event %s after kubectl delete pod %s", replacement.UID,
				time.Since(deleted).Round(time.Millisecond), strings.Join(append([]string{"events-0"}, deletion.args...), " "))
		})
	}

	t.Run("a pod scaled away and back gets its claim back", func(t *testing.T) {
		kubectl(t, "scale", "statefulset/events", "-n", ns, "--replicas=1")
		eventually(t, 30*time.Second, "events-1 gone", func() error {
			if _, err := kubectlResult("get", "pod", "events-1", "-n", ns); err == nil {
				return errors.New("events-1 is still there")
			}
			return nil
		})
		if got := claimFolder(t, ns, "queue-events-1"); got != folders["queue-events-1"] {
			t.Errorf("scaled down, queue-events-1 has the folder %s, had %s", got, folders["queue-events-1"])
		}
		kubectl(t, "scale", "statefulset/events", "-n", ns, "--replicas=2")
		kubectl(t, "rollout", "status", "statefulset/events", "-n", ns, "--timeout=60s")
		if got := claimFolder(t, ns, "queue-events-1"); got != folders["queue-events-1"] {
			t.Errorf("scaled up, queue-events-1 has the folder %s, had %s", got, folders["queue-events-1"])
		}
		waitForDelayedEvent(t, ns, "events-0")
	})

	t.Run("a deleted claim's volume and folder are removed", func(t *testing.T) {
		volumes := map[string]string{}
		for _, claim := range []string{"queue-events-0", "queue-events-1"} {
			volumes[claim] = kubectl(t, "get", "pvc", claim, "-n", ns, "-o", "jsonpath={.spec.volumeName}")
		}
		kubectl(t, "delete", "statefulset", "events", "-n", ns, "--cascade=foreground", "--timeout=60s")
		// The claims outlive the StatefulSet (whenDeleted: Retain) until they are deleted.
		kubectl(t, "delete", "pvc", "queue-events-0", "queue-events-1", "-n", ns, "--timeout=60s")
		eventually(t, 30*time.Second, "the released volumes deleted", func() error {
			for claim, volume := range volumes {
				if _, err := kubectlResult("get", "pv", volume); err == nil {
					return fmt.Errorf("the volume %s of %s is still there", volume, claim)
				}
				if _, err := os.Stat(folders[claim]); !os.IsNotExist(err) {
					return fmt.Errorf("the folder %s of %s is still there (%w)", folders[claim], claim, err)
				}
			}
			return nil
		})
	})
}

// statefulPod reads a pod, typed.
func statefulPod(t testing.TB, namespace, name string) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{}
	if err := json.Unmarshal([]byte(kubectl(t, "get", "pod", name, "-n", namespace, "-o", "json")), pod); err != nil {
		t.Fatal(err)
	}
	return pod
}

// podURL is http://<pod IP>:<port>: the local kubelet gives every pod an address of its own.
func podURL(t testing.TB, namespace, name string, port int) string {
	t.Helper()
	return "http://" + net.JoinHostPort(statefulPod(t, namespace, name).Status.PodIP, strconv.Itoa(port))
}

// containerPID is the process of the pod's container, from its container ID (process://<pid>).
func containerPID(t testing.TB, pod *corev1.Pod) int {
	t.Helper()
	if len(pod.Status.ContainerStatuses) != 1 {
		t.Fatalf("pod %s has %d container statuses, want 1", pod.Name, len(pod.Status.ContainerStatuses))
	}
	pid, err := strconv.Atoi(strings.TrimPrefix(pod.Status.ContainerStatuses[0].ContainerID, "process://"))
	if err != nil {
		t.Fatalf("container ID %q is not process://<pid>", pod.Status.ContainerStatuses[0].ContainerID)
	}
	return pid
}

// waitForReplacement waits until the StatefulSet has replaced before with a new pod of the same name, Ready.
func waitForReplacement(t testing.TB, namespace, name string, before *corev1.Pod) *corev1.Pod {
	t.Helper()
	var replacement *corev1.Pod
	eventually(t, 60*time.Second, "a Ready replacement of "+name, func() error {
		out, err := kubectlResult("get", "pod", name, "-n", namespace, "-o", "json")
		if err != nil {
			return err
		}
		replacement = &corev1.Pod{}
		if err := json.Unmarshal([]byte(out), replacement); err != nil {
			return err
		}
		if replacement.UID == before.UID {
			return errors.New("the deleted pod is still there")
		}
		for _, condition := range replacement.Status.Conditions {
			if condition.Type == corev1.PodReady && condition.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("the replacement %s is not Ready: %+v", replacement.UID, replacement.Status.ContainerStatuses)
	})
	return replacement
}

// waitForDelayedEvent waits until the pod's server reports the one queued event waiting for its retry.
func waitForDelayedEvent(t testing.TB, namespace, name string) {
	t.Helper()
	eventually(t, 20*time.Second, "the queued event on "+name, func() error {
		url := podURL(t, namespace, name, controllers.MetricsPort)
		if delayed := metric(t, url, "fulfillment_queue_events", `state="delayed"`); delayed != 1 {
			return fmt.Errorf("%v events waiting for a retry, want 1", delayed)
		}
		return nil
	})
}

// claimFolder checks that claim is Bound to a volume of the dev StorageClass that is bound to it, and returns
// the volume's folder.
func claimFolder(t testing.TB, namespace, claim string) string {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{}
	if err := json.Unmarshal([]byte(kubectl(t, "get", "pvc", claim, "-n", namespace, "-o", "json")), pvc); err != nil {
		t.Fatal(err)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != kubelet.StorageClassName {
		t.Fatalf("claim %s: phase %s, class %v; want Bound, %s", claim, pvc.Status.Phase, pvc.Spec.StorageClassName, kubelet.StorageClassName)
	}
	pv := &corev1.PersistentVolume{}
	if err := json.Unmarshal([]byte(kubectl(t, "get", "pv", pvc.Spec.VolumeName, "-o", "json")), pv); err != nil {
		t.Fatal(err)
	}
	if pv.Status.Phase != corev1.VolumeBound || pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != pvc.UID || pv.Spec.HostPath == nil {
		t.Fatalf("volume %s of claim %s: phase %s, claimRef %+v, hostPath %+v; want a Bound hostPath volume bound to the claim",
			pv.Name, claim, pv.Status.Phase, pv.Spec.ClaimRef, pv.Spec.HostPath)
	}
	return pv.Spec.HostPath.Path
}
