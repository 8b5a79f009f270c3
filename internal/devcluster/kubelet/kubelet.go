// Package kubelet runs the pods of one local node as processes, for `make dev`: a kubelet without containers.
//
// It registers a Node, binds the pods it is given to it (it is the cluster's only node, so it is the scheduler
// too), and runs each container's command as a local binary in a folder laid out like the container's file
// system: every ConfigMap, Secret and emptyDir volume is materialised under <pod>/rootfs/<mountPath>, with the
// kubelet's atomic ..data layout, and kept up to date as the objects change; a persistentVolumeClaim volume is
// a link there to its volume's folder, which outlives the pod. The kubelet is the node's storage provisioner
// too (provisioner.go): each claim of the StorageClass local-folder gets a folder under VolumesDir and a
// hostPath PersistentVolume, which the PV controller binds. Paths in the arguments are moved under rootfs.
// All pods share the host's network, so each gets an address of its own on the loopback (127.0.x.y, its
// status.podIP), where its container ports listen at their own numbers (arguments naming ":<port>" are moved
// to it), as on a pod network; every port an argument names on the pod's own loopback ("127.0.0.1:<port>")
// gets a free port on 127.0.0.1 instead. Readiness probes run every second; the pod's status is written as the
// kubelet writes it, so ReplicaSets, StatefulSets, Deployments and everything reading them see real status.
// A deleted pod gets SIGTERM, its grace period, SIGKILL, then its final deletion; its folder goes with it, its
// claims' folders stay.
package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
)

// Config says which pods the kubelet runs and how.
type Config struct {
	Client kubernetes.Interface
	// NodeName is the Node the kubelet registers and binds pods to.
	NodeName string
	// Dir holds a folder per pod.
	Dir string
	// VolumesDir holds a folder per PersistentVolume the kubelet provisions: they outlive the pods.
	VolumesDir string
	// Pods selects the pods the kubelet schedules and runs; others stay Pending.
	Pods labels.Selector
	// Binaries maps a path inside the image (a container's command, or Entrypoint) to a local binary.
	Binaries map[string]string
	// Entrypoint is the image's entrypoint, run when a container has no command.
	Entrypoint string
	Log        *slog.Logger
}

// Kubelet runs pods as processes. Run it with Run; Endpoints tells where a Service's ready pods listen.
type Kubelet struct {
	cfg        Config
	pods       corelisters.PodLister
	configMaps corelisters.ConfigMapLister
	secrets    corelisters.SecretLister
	// claims, volumes and storageClasses are read to mount claims and to provision their volumes.
	claims         corelisters.PersistentVolumeClaimLister
	volumes        corelisters.PersistentVolumeLister
	storageClasses storagelisters.StorageClassLister
	// storageChanged wakes the provisioner when a claim or a volume changes.
	storageChanged chan struct{}

	mu      sync.Mutex
	workers map[types.UID]*worker
	// ips are the pods' addresses in use, by pod.
	ips map[string]types.UID
	wg  sync.WaitGroup
}

// New returns a kubelet for cfg.
func New(cfg Config) *Kubelet {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Kubelet{cfg: cfg, workers: map[types.UID]*worker{}, ips: map[string]types.UID{}, storageChanged: make(chan struct{}, 1)}
}

// allocateIP gives pod an address of its own in 127.0.1.0-127.0.255.255 (Linux routes all of 127.0.0.0/8 to
// the loopback interface), one where every one of ports is free: something else on the host may listen on
// every address at one of them.
func (k *Kubelet) allocateIP(pod types.UID, ports []int32) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for third := 1; third <= 255; third++ {
		for fourth := 1; fourth <= 254; fourth++ {
			ip := fmt.Sprintf("127.0.%d.%d", third, fourth)
			if _, used := k.ips[ip]; used || !portsFree(ip, ports) {
				continue
			}
			k.ips[ip] = pod
			return ip, nil
		}
	}
	return "", fmt.Errorf("no loopback address with ports %v free", ports)
}

func (k *Kubelet) releaseIP(ip string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.ips, ip)
}

// portsFree tells whether every one of ports can be listened on at ip.
func portsFree(ip string, ports []int32) bool {
	for _, port := range ports {
		listener, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(int(port))))
		if err != nil {
			return false
		}
		_ = listener.Close()
	}
	return true
}

// Run registers the node and runs pods and provisions volumes until ctx ends, then stops every process (each
// gets SIGTERM and a short grace) and returns.
func (k *Kubelet) Run(ctx context.Context) error {
	listener, err := listenAPI()
	if err != nil {
		return err
	}
	api := &http.Server{Handler: k.apiHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = api.Serve(listener) }()
	defer api.Close()
	if err := k.registerNode(ctx, listener.Addr().(*net.TCPAddr).Port); err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(k.cfg.Client, 0)
	podInformer := factory.Core().V1().Pods()
	k.pods = podInformer.Lister()
	k.configMaps = factory.Core().V1().ConfigMaps().Lister()
	k.secrets = factory.Core().V1().Secrets().Lister()
	k.storageClasses = factory.Storage().V1().StorageClasses().Lister()
	storage := cache.ResourceEventHandlerFuncs{AddFunc: k.storageChangedFunc,
		UpdateFunc: func(_, obj any) { k.storageChangedFunc(obj) }, DeleteFunc: k.storageChangedFunc}
	for _, informer := range []cache.SharedIndexInformer{
		factory.Core().V1().PersistentVolumeClaims().Informer(), factory.Core().V1().PersistentVolumes().Informer(),
	} {
		if _, err := informer.AddEventHandler(storage); err != nil {
			return err
		}
	}
	k.claims = factory.Core().V1().PersistentVolumeClaims().Lister()
	k.volumes = factory.Core().V1().PersistentVolumes().Lister()
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.observe(ctx, obj) },
		UpdateFunc: func(_, obj any) { k.observe(ctx, obj) },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	for informer, synced := range factory.WaitForCacheSync(ctx.Done()) {
		if !synced {
			return fmt.Errorf("kubelet: the %v cache did not sync", informer)
		}
	}
	k.provisionVolumes(ctx)
	factory.Shutdown()
	k.wg.Wait()
	return nil
}

// registerNode creates the Node (or takes over an existing one) with a Ready condition. There is no node
// lifecycle controller in the dev control plane, so no heartbeat is needed.
func (k *Kubelet) registerNode(ctx context.Context, apiPort int) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.cfg.NodeName,
		Labels: map[string]string{corev1.LabelHostname: k.cfg.NodeName, corev1.LabelOSStable: "linux"}}}
	created, err := k.cfg.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = k.cfg.Client.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("kubelet: registering node %s: %w", k.cfg.NodeName, err)
	}
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("2"),
		corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	created.Status = corev1.NodeStatus{
		Capacity: capacity, Allocatable: capacity,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "make dev runs this node's pods as local processes", LastHeartbeatTime: now, LastTransitionTime: now}},
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: loopback}, {Type: corev1.NodeHostName, Address: k.cfg.NodeName}},
		NodeInfo:  corev1.NodeSystemInfo{OperatingSystem: "linux", KubeletVersion: "dev", ContainerRuntimeVersion: "process://"},
		// Where the API server proxies pods/portforward to (portforward.go).
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(apiPort)}},
	}
	if _, err := k.cfg.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("kubelet: node %s status: %w", k.cfg.NodeName, err)
	}
	return nil
}

// observe binds a selected unscheduled pod to the node and starts a worker for each pod bound to it.
func (k *Kubelet) observe(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	switch {
	case pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil && k.cfg.Pods.Matches(labels.Set(pod.Labels)):
		binding := &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: k.cfg.NodeName},
		}
		if err := k.cfg.Client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{}); err != nil &&
			!apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			k.cfg.Log.Error("binding a pod", "pod", pod.Namespace+"/"+pod.Name, "error", err)
		}
	case pod.Spec.NodeName == k.cfg.NodeName:
		k.mu.Lock()
		defer k.mu.Unlock()
		if _, running := k.workers[pod.UID]; running || ctx.Err() != nil {
			return
		}
		w := newWorker(k, pod)
		k.workers[pod.UID] = w
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			w.run(ctx)
			k.mu.Lock()
			delete(k.workers, pod.UID)
			k.mu.Unlock()
		}()
	}
}

// Endpoints are the loopback addresses of the ready, not terminating pods in namespace that selector selects,
// at targetPort (a container port's name or number), sorted. This is what the endpoints controller would
// publish, with each pod's own loopback port.
func (k *Kubelet) Endpoints(namespace string, selector labels.Selector, targetPort intstr.IntOrString) []string {
	k.mu.Lock()
	workers := make([]*worker, 0, len(k.workers))
	for _, w := range k.workers {
		workers = append(workers, w)
	}
	k.mu.Unlock()
	var addresses []string
	for _, w := range workers {
		if w.namespace != namespace || !selector.Matches(labels.Set(w.labels)) {
			continue
		}
		if address, ok := w.readyAddress(targetPort); ok {
			addresses = append(addresses, address)
		}
	}
	sort.Strings(addresses)
	return addresses
}

// Running is the number of pods with a worker, for tests and the dev summary.
func (k *Kubelet) Running() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.workers)
}
