package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
)

// durableEndpoint is an Async endpoint with the Local queue whose route applies each event at upstream, with
// enough attempts for the events to outlast the outage and short backoffs so that the test does not wait long.
const durableEndpoint = `apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata:
  name: %[1]s
spec:
  dialect: Generic
  path: /events
  auth: {allowUnauthenticated: true}
  delivery:
    mode: Async
    queue: Local
    maxAttempts: 100
    backoff: {initial: 500ms, max: 3s}
  replicas: 2
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata:
  name: %[1]s-apply
spec:
  endpointRef: {name: %[1]s}
  match: {events: [order.paid]}
  call: {url: "%[2]s/apply", body: 'request.body.id', timeout: 2s, retry: {attempts: 1}}
`

// deliveries is an upstream that counts the events applied, by id, without deduplicating; it answers 503 while
// down, and takes delay per event. It applies an event even when its sender is gone meanwhile, as an upstream
// does that has no way to know, and keeps when each request it is handling started, by the sender's address.
type deliveries struct {
	down     atomic.Bool
	delay    atomic.Int64 // nanoseconds
	mu       sync.Mutex
	applied  map[string]int
	handling map[string]time.Time
}

func startDeliveries(t *testing.T) (*deliveries, string) {
	t.Helper()
	d := &deliveries{applied: map[string]int{}, handling: map[string]time.Time{}}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upstream := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.handling[r.RemoteAddr] = time.Now()
		d.mu.Unlock()
		defer func() {
			d.mu.Lock()
			delete(d.handling, r.RemoteAddr)
			d.mu.Unlock()
		}()
		time.Sleep(time.Duration(d.delay.Load()))
		if d.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		d.mu.Lock()
		d.applied[strings.Trim(string(body), `"`)]++
		d.mu.Unlock()
	})}
	go func() { _ = upstream.Serve(listener) }()
	t.Cleanup(func() { _ = upstream.Close() })
	return d, "http://" + listener.Addr().String()
}

// handlingFrom counts the requests being handled that came from one of ports and started at most within ago:
// their answer is still at least delay-within away.
func (d *deliveries) handlingFrom(ports map[string]bool, within time.Duration) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for address, started := range d.handling {
		if _, port, err := net.SplitHostPort(address); err == nil && ports[port] && time.Since(started) <= within {
			n++
		}
	}
	return n
}

// socketPorts are the local ports of the TCP sockets process holds open, from its file descriptors and the
// kernel's socket tables: the pods of the local kubelet share the machine's network namespace.
func socketPorts(t *testing.T, process int) map[string]bool {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", process))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", process, fd.Name()))
		if inode, found := strings.CutPrefix(target, "socket:["); err == nil && found {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	ports := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		content, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(content), "\n")[1:] {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			fields := strings.Fields(line)
			if len(fields) < 10 || !inodes[fields[9]] {
				continue
			}
			if _, hexPort, found := strings.Cut(fields[1], ":"); found {
				if port, err := strconv.ParseUint(hexPort, 16, 16); err == nil {
					ports[strconv.FormatUint(port, 10)] = true
				}
			}
		}
	}
	return ports
}

// missingAndDuplicates are the ids of acknowledged events never applied, and how many applications were
// repeats.
func (d *deliveries) missingAndDuplicates(acknowledged []string) (missing []string, duplicates int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range acknowledged {
		switch n := d.applied[id]; {
		case n == 0:
			missing = append(missing, id)
		case n > 1:
			duplicates += n - 1
		}
	}
	return missing, duplicates
}

// acknowledge sends events until each is answered 202, as a sender retries a 503 or a refused connection (a
// retiring or restarting pod), and returns their ids. Each event comes on a connection of its own, as from
// senders that do not keep one open, so that the Service spreads them over the pods.
func acknowledge(t *testing.T, url, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := range n {
		id := fmt.Sprintf("%s_%03d", prefix, i)
		body := []byte(fmt.Sprintf(`{"event":"order.paid","id":%q}`, id))
		eventually(t, 30*time.Second, "event "+id+" acknowledged", func() error {
			status, answer, err := post(url, body, http.Header{"Connection": {"close"}})
			if err != nil || status != http.StatusAccepted {
				return fmt.Errorf("status %d, answer %s: %w", status, answer, err)
			}
			return nil
		})
		ids = append(ids, id)
	}
	return ids
}

// waitDelivered waits until every acknowledged event was applied, and reports and returns the duplicates.
func waitDelivered(t *testing.T, d *deliveries, acknowledged []string, timeout time.Duration) int {
	t.Helper()
	eventually(t, timeout, "every acknowledged event delivered", func() error {
		if missing, _ := d.missingAndDuplicates(acknowledged); len(missing) > 0 {
			return fmt.Errorf("%d of %d not delivered yet, e.g. %s", len(missing), len(acknowledged), missing[0])
		}
		return nil
	})
	_, duplicates := d.missingAndDuplicates(acknowledged)
	t.Logf("all %d acknowledged events delivered, %d duplicate deliveries", len(acknowledged), duplicates)
	return duplicates
}

// queuedOnPod is what the pod's Local queue holds, by state (pending, in_flight, delayed, dead), from the pod's
// own metrics.
func queuedOnPod(t *testing.T, namespace, pod, state string) float64 {
	t.Helper()
	return metric(t, podURL(t, namespace, pod, controllers.MetricsPort), "fulfillment_queue_events", `state="`+state+`"`)
}

func readyCondition(t *testing.T, namespace, name string) *metav1.Condition {
	t.Helper()
	return meta.FindStatusCondition(endpoint(t, namespace, name).Status.Conditions, fulfillmentv1alpha1.ConditionReady)
}

// TestNoAcknowledgedEventLostAcrossRolloutAndScaleDown: while the upstream is down, 200 events are
// acknowledged; the pod template changes (a rollout replaces both pods) and the endpoint scales from 2 pods to
// 1; once the upstream is back, every one of the 200 is delivered.
func TestNoAcknowledgedEventLostAcrossRolloutAndScaleDown(t *testing.T) {
	const ns, name = "e2e-durable", "durable"
	upstream, upstreamURL := startDeliveries(t)
	kubectl(t, "create", "namespace", ns)
	apply(t, ns, fmt.Sprintf(durableEndpoint, name, upstreamURL))
	kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "webhookendpoint/"+name, "--timeout=120s")
	url := localURL(t, ns, name)

	upstream.down.Store(true)
	start := time.Now()
	acknowledged := acknowledge(t, url, "evt", 200)
	t.Logf("200 events acknowledged in %s with the upstream down", time.Since(start).Round(time.Millisecond))
	eventually(t, 60*time.Second, "status.queue to show the 200 events", func() error {
		if queue := endpoint(t, ns, name).Status.Queue; queue == nil || queue.Waiting != 200 {
			return fmt.Errorf("status.queue is %+v", queue)
		}
		return nil
	})
	// The stack's volumes are host folders, which a cluster loses with the node: the endpoint says so.
	eventually(t, 60*time.Second, "QueueDurable to flag the node's volumes", func() error {
		durable := meta.FindStatusCondition(endpoint(t, ns, name).Status.Conditions, fulfillmentv1alpha1.ConditionQueueDurable)
		if durable == nil || durable.Status != metav1.ConditionFalse || durable.Reason != controllers.ReasonNodeLocalVolume {
			return fmt.Errorf("QueueDurable is %+v", durable)
		}
		return nil
	})
	wide := kubectl(t, "get", "whe", name, "-n", ns, "-o", "wide")
	if header, row, _ := strings.Cut(wide, "\n"); !strings.Contains(header, "QUEUED") || !strings.Contains(header, "OLDEST") ||
		!strings.Contains(row, " 200 ") {
		t.Fatalf("kubectl get whe -o wide does not show the 200 queued events:\n%s", wide)
	}

	// A rollout: every pod is replaced, one at a time, and comes back with its claim.
	patched := time.Now()
	kubectl(t, "patch", "webhookendpoint", name, "-n", ns, "--type", "merge",
		"-p", `{"spec":{"podTemplate":{"metadata":{"annotations":{"e2e/rollout":"1"}}}}}`)
	kubectl(t, "rollout", "status", "statefulset/"+name, "-n", ns, "--timeout=120s")
	t.Logf("both pods replaced %s after the patch", time.Since(patched).Round(time.Millisecond))

	// A scale-down: the retired pod keeps its events, so the StatefulSet keeps it, draining.
	kubectl(t, "patch", "webhookendpoint", name, "-n", ns, "--type", "merge", "-p", `{"spec":{"replicas":1}}`)
	eventually(t, 60*time.Second, "the scale-down to wait for the retired pod's events", func() error {
		ready := readyCondition(t, ns, name)
		if ready == nil || ready.Reason != "QueueDraining" || !strings.Contains(ready.Message, "pod "+name+"-1 delivers its") {
			return fmt.Errorf("Ready is %+v", ready)
		}
		return nil
	})
	if replicas := kubectl(t, "get", "statefulset", name, "-n", ns, "-o", "jsonpath={.spec.replicas}"); replicas != "2" {
		t.Fatalf("the StatefulSet has %s replicas while its retired pod holds events", replicas)
	}

	upstream.down.Store(false)
	back := time.Now()
	waitDelivered(t, upstream, acknowledged, 2*time.Minute)
	t.Logf("delivered %s after the upstream came back", time.Since(back).Round(time.Millisecond))
	eventually(t, 60*time.Second, "the scale-down to finish", func() error {
		replicas := kubectl(t, "get", "statefulset", name, "-n", ns, "-o", "jsonpath={.spec.replicas}")
		if ready := readyCondition(t, ns, name); replicas != "1" || ready == nil || ready.Status != metav1.ConditionTrue {
			return fmt.Errorf("%s replicas, Ready %+v", replicas, ready)
		}
		return nil
	})
	kubectl(t, "delete", "namespace", ns, "--wait=false")
}

// TestNoAcknowledgedEventLostWhenAPodIsKilled: while the upstream is down, 200 events are acknowledged, spread
// over both pods; the upstream comes back, slow, and a pod's process is killed with SIGKILL while the upstream
// handles one of its deliveries (from one of the process's sockets); it restarts with its claim, and every one
// of the 200 is delivered, the ones cut off in flight again (duplicates, counted and reported).
func TestNoAcknowledgedEventLostWhenAPodIsKilled(t *testing.T) {
	const ns, name = "e2e-killed", "killed"
	victim := name + "-0"
	upstream, upstreamURL := startDeliveries(t)
	kubectl(t, "create", "namespace", ns)
	apply(t, ns, fmt.Sprintf(durableEndpoint, name, upstreamURL))
	kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "webhookendpoint/"+name, "--timeout=120s")
	url := localURL(t, ns, name)

	upstream.down.Store(true)
	acknowledged := acknowledge(t, url, "kill", 200)
	held := queuedOnPod(t, ns, victim, "pending") + queuedOnPod(t, ns, victim, "delayed") + queuedOnPod(t, ns, victim, "in_flight")
	if held <= 0 {
		t.Fatalf("%s holds no acknowledged event (%v): the kill would not be mid-delivery", victim, held)
	}

	upstream.delay.Store(int64(300 * time.Millisecond))
	upstream.down.Store(false)
	back := time.Now()
	// Mid-delivery: the upstream is handling a request of the victim's that started at most 100 ms ago, so that
	// its answer is still 200 ms away when the process dies.
	process := containerPID(t, statefulPod(t, ns, victim))
	var cutOff int
	eventually(t, 30*time.Second, victim+" mid-delivery", func() error {
		if cutOff = upstream.handlingFrom(socketPorts(t, process), 100*time.Millisecond); cutOff == 0 {
			return fmt.Errorf("no request of %s at the upstream", victim)
		}
		if err := syscall.Kill(process, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		return nil
	})
	missingBefore, _ := upstream.missingAndDuplicates(acknowledged)
	t.Logf("killed %s (pid %d) holding %v events, with %d of its deliveries under way at the upstream; %d of the 200 "+
		"not delivered yet", victim, process, held, cutOff, len(missingBefore))
	eventually(t, 60*time.Second, "the killed container restarted", func() error {
		if restarts := kubectl(t, "get", "pod", victim, "-n", ns, "-o", "jsonpath={.status.containerStatuses[0].restartCount}"); restarts == "0" {
			return fmt.Errorf("restartCount %s", restarts)
		}
		return nil
	})
	duplicates := waitDelivered(t, upstream, acknowledged, 3*time.Minute)
	t.Logf("delivered %s after the upstream came back", time.Since(back).Round(time.Millisecond))
	if duplicates < cutOff {
		t.Errorf("%d duplicate deliveries: the %d events %s was delivering when it was killed were not all delivered again",
			duplicates, cutOff, victim)
	}
	kubectl(t, "delete", "namespace", ns, "--wait=false")
}
