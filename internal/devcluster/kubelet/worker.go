package kubelet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/fulfillment-dev/fulfillment-operator/internal/devcluster/proc"
)

const (
	loopback = "127.0.0.1"
	// syncPeriod is how often a pod's volumes, probes and status are checked: every second, so that `make dev`
	// and the end-to-end tests see changes at once (a real kubelet takes up to a minute for volumes).
	syncPeriod = time.Second
	// shutdownGrace bounds each process's SIGTERM grace when the whole dev cluster stops.
	shutdownGrace = 10 * time.Second
	// Restart backoff after a container exits, doubling up to maxBackoff like the kubelet's CrashLoopBackOff.
	minBackoff, maxBackoff = time.Second, 30 * time.Second
)

// worker runs one pod: its folder, its processes and its status.
type worker struct {
	k         *Kubelet
	namespace string
	name      string
	uid       types.UID
	labels    map[string]string
	dir       string
	rootfs    string
	// ip is the pod's own address, on the host's loopback: its container ports listen there at their own
	// numbers, as on a pod network.
	ip string
	// wake is signalled when a process exits, so the restart and status do not wait for the next tick.
	wake chan struct{}
	// claimFolders are the folders of the pod's mounted claims, by volume name (claimFolder).
	claimFolders map[string]string

	// mu guards what Endpoints reads from other goroutines.
	mu          sync.Mutex
	terminating bool
	containers  []*container
}

// container is one container's process and state.
type container struct {
	spec corev1.Container
	// ports are the container ports the pod listens on, at its ip.
	ports map[int32]int
	// podLoopback maps each port of a loopback address in the arguments (a listener private to the pod, such as
	// webhookserver's admin listener) to the host loopback port it listens on instead.
	podLoopback map[int]int

	cmd         *proc.Process
	restarts    int32
	nextStart   time.Time
	backoff     time.Duration
	ready       bool
	waiting     *corev1.ContainerStateWaiting
	terminated  *corev1.ContainerStateTerminated
	probeFailed string
}

func newWorker(k *Kubelet, pod *corev1.Pod) *worker {
	dir := filepath.Join(k.cfg.Dir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
	w := &worker{
		k: k, namespace: pod.Namespace, name: pod.Name, uid: pod.UID, labels: pod.Labels,
		dir: dir, rootfs: filepath.Join(dir, "rootfs"), wake: make(chan struct{}, 1), claimFolders: map[string]string{},
	}
	for i := range pod.Spec.Containers {
		w.containers = append(w.containers, &container{spec: pod.Spec.Containers[i], ports: map[int32]int{}, podLoopback: map[int]int{}})
	}
	return w
}

// run keeps the pod running until it is deleted (terminated with its grace period, then deleted for good) or
// ctx ends (processes stopped, the pod left to the stopping control plane).
func (w *worker) run(ctx context.Context) {
	log := w.k.cfg.Log.With("pod", w.namespace+"/"+w.name)
	if err := w.allocatePorts(); err != nil {
		log.Error("allocating loopback ports", "error", err)
		return
	}
	defer w.k.releaseIP(w.ip)
	ticker := time.NewTicker(syncPeriod)
	defer ticker.Stop()
	for {
		pod, err := w.k.pods.Pods(w.namespace).Get(w.name)
		switch {
		case err != nil || pod.UID != w.uid:
			// Deleted without a grace period (kubectl delete --force): stop at once.
			w.stop(0)
			w.removeFolder()
			return
		case pod.DeletionTimestamp != nil:
			w.terminate(ctx, pod)
			return
		}
		w.sync(ctx, pod)
		select {
		case <-ctx.Done():
			w.stop(shutdownGrace)
			return
		case <-ticker.C:
		case <-w.wake:
		}
	}
}

// allocatePorts gives the pod an address of its own on the host's loopback, where every container port is
// free, and every port the arguments name on the pod's own loopback a free port on 127.0.0.1: pods here share
// one network namespace, where a pod's own loopback is not its own.
func (w *worker) allocatePorts() error {
	var ports []int32
	for _, c := range w.containers {
		for _, port := range c.spec.Ports {
			if port.Protocol != "" && port.Protocol != corev1.ProtocolTCP {
				continue
			}
			c.ports[port.ContainerPort] = int(port.ContainerPort)
			ports = append(ports, port.ContainerPort)
		}
	}
	ip, err := w.k.allocateIP(w.uid, ports)
	if err != nil {
		return err
	}
	w.ip = ip
	for _, c := range w.containers {
		for _, arg := range append(slices.Clone(c.spec.Command), c.spec.Args...) {
			port, ok := podLoopbackPort(arg)
			if !ok || c.podLoopback[port] != 0 {
				continue
			}
			free, err := freeLoopbackPort()
			if err != nil {
				return err
			}
			c.podLoopback[port] = free
		}
	}
	return nil
}

func freeLoopbackPort() (int, error) {
	listener, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

// sync writes the volumes, starts what is not running, probes readiness and writes the status.
func (w *worker) sync(ctx context.Context, pod *corev1.Pod) {
	volumeErr := w.syncVolumes(pod)
	now := time.Now()
	for _, c := range w.containers {
		w.reap(c, now)
		switch {
		case c.cmd != nil:
			ready, failure := w.probe(ctx, c)
			w.mu.Lock()
			c.ready, c.probeFailed = ready, failure
			w.mu.Unlock()
		case volumeErr != nil:
			c.waiting = volumeWaiting(volumeErr)
		case now.Before(c.nextStart):
			c.waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off %s restarting failed container %s", c.backoff, c.spec.Name)}
		default:
			if err := w.start(pod, c); err != nil {
				c.waiting = &corev1.ContainerStateWaiting{Reason: "RunContainerError", Message: err.Error()}
				w.backOff(c, now)
			} else {
				c.waiting = nil
			}
		}
	}
	w.writeStatus(ctx, pod)
}

// reap notices an exited process: its last state, a restart count and the next start after a backoff.
func (w *worker) reap(c *container, now time.Time) {
	if c.cmd == nil || !c.cmd.Exited() {
		return
	}
	code := c.cmd.ExitCode()
	c.terminated = &corev1.ContainerStateTerminated{ExitCode: int32(code), Reason: terminationReason(code),
		StartedAt: metav1.NewTime(c.cmd.StartedAt()), FinishedAt: metav1.NewTime(now),
		ContainerID: c.cmd.ID()}
	w.mu.Lock()
	c.cmd, c.ready = nil, false
	w.mu.Unlock()
	c.restarts++
	if now.Sub(c.terminated.StartedAt.Time) > 2*maxBackoff {
		c.backoff = 0 // it ran well for a while: restart at once, as the kubelet resets its backoff
	}
	w.backOff(c, now)
	w.k.cfg.Log.Warn("container exited", "pod", w.namespace+"/"+w.name, "container", c.spec.Name, "exitCode", code,
		"log", w.logPath(c))
}

func (w *worker) backOff(c *container, now time.Time) {
	c.backoff = min(max(2*c.backoff, minBackoff), maxBackoff)
	c.nextStart = now.Add(c.backoff)
}

func terminationReason(code int) string {
	if code == 0 {
		return "Completed"
	}
	return "Error"
}

// terminate runs the pod's graceful termination: not ready at once (Services stop sending), SIGTERM, the grace
// period, SIGKILL; then the final deletion, as the kubelet confirms a pod is gone.
func (w *worker) terminate(ctx context.Context, pod *corev1.Pod) {
	w.mu.Lock()
	w.terminating = true
	w.mu.Unlock()
	w.writeStatus(ctx, pod)
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.DeletionGracePeriodSeconds != nil {
		grace = *pod.DeletionGracePeriodSeconds
	}
	w.stop(time.Duration(grace) * time.Second)
	err := w.k.cfg.Client.CoreV1().Pods(w.namespace).Delete(context.WithoutCancel(ctx), w.name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To(int64(0)), Preconditions: &metav1.Preconditions{UID: &w.uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		w.k.cfg.Log.Error("deleting a terminated pod", "pod", w.namespace+"/"+w.name, "error", err)
	}
	w.removeFolder()
}

// removeFolder removes a deleted pod's folder: its emptyDirs, its copies of ConfigMaps and Secrets, its logs,
// and the links to its claims' folders, which stay for the next pod.
func (w *worker) removeFolder() {
	if err := os.RemoveAll(w.dir); err != nil {
		w.k.cfg.Log.Error("removing a deleted pod's folder", "pod", w.namespace+"/"+w.name, "error", err)
	}
}

// stop sends SIGTERM to every process and SIGKILL to those still running after grace.
func (w *worker) stop(grace time.Duration) {
	w.mu.Lock()
	w.terminating = true
	w.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range w.containers {
		if c.cmd == nil {
			continue
		}
		wg.Add(1)
		go func(process *proc.Process) {
			defer wg.Done()
			process.Stop(grace)
		}(c.cmd)
	}
	wg.Wait()
}

// readyAddress is the pod's address of targetPort when its container is ready and the pod not terminating.
func (w *worker) readyAddress(targetPort intstr.IntOrString) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.terminating {
		return "", false
	}
	for _, c := range w.containers {
		for _, port := range c.spec.Ports {
			named := targetPort.Type == intstr.String && port.Name == targetPort.StrVal
			numbered := targetPort.Type == intstr.Int && port.ContainerPort == targetPort.IntVal
			if local, ok := c.ports[port.ContainerPort]; (named || numbered) && ok && c.ready && c.cmd != nil {
				return net.JoinHostPort(w.ip, strconv.Itoa(local)), true
			}
		}
	}
	return "", false
}

func (w *worker) logPath(c *container) string { return filepath.Join(w.dir, c.spec.Name+".log") }

// errUnsupported marks pod features `make dev` does not run.
var errUnsupported = errors.New("not supported by make dev's local kubelet")
