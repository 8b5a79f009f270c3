// Package devcluster runs the whole product on one machine without a cluster, for `make dev` and the
// end-to-end tests: a control plane from the envtest binaries (etcd, kube-apiserver and kube-controller-manager,
// so garbage collection, ReplicaSets, StatefulSets, Deployment status and the binding of volume claims are
// real), the operator's own binary with its own RBAC, a local kubelet that runs the fulfillment pods as
// webhookserver processes and provisions their claims as folders, and a Service proxy that gives every
// Service a loopback address.
package devcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/internal/devcluster/kubelet"
	"github.com/fulfillment-dev/fulfillment-operator/internal/devcluster/proc"
	"github.com/fulfillment-dev/fulfillment-operator/internal/devcluster/serviceproxy"
)

// NodeName is the dev cluster's only node.
const NodeName = "dev-local"

// Image is the webhookserver image the operator is told to use; the local kubelet runs it from the binaries.
const Image = "fulfillment-operator:dev"

// OperatorUser is the operator's ServiceAccount as the API server sees it, as in a real deployment
// (config/default): the operator gets exactly the generated ClusterRole.
const OperatorUser = "system:serviceaccount:fulfillment-system:fulfillment-operator-controller-manager"

// Options say where the binaries are and where the cluster keeps its state.
type Options struct {
	// Dir holds the kubeconfig, the logs, the pods' folders and the volumes' folders. It is created if needed.
	Dir string
	// RepoRoot is the repository: CRDs, the ClusterRole and bin/k8s (control plane binaries) are found there.
	RepoRoot string
	// Assets holds the control plane binaries when they are not in RepoRoot's bin/k8s (a worktree without its
	// own build of them).
	Assets string
	// Manager and Webhookserver are the built binaries (bin/manager, bin/webhookserver).
	Manager, Webhookserver string
	// Installer, when set, is a release installer (make build-installer's install.yaml): it is applied with
	// kubectl, and the operator runs as its Deployment declares (ServiceAccount, RBAC, args, env) instead of
	// with config/rbac/role.yaml granted to OperatorUser.
	Installer string
	// APIServerFlags are extra kube-apiserver flags (an audit log, a wider Service range), set after the
	// dev cluster's own.
	APIServerFlags map[string]string
	// ManagerArgs are appended to the operator's arguments: a flag given again there overrides the value the
	// dev cluster or the installer sets.
	ManagerArgs []string
	// KubeletPods selects the pods the local kubelet runs as processes (default: the operator's fulfillment
	// pods, the only image here); the others stay Pending, unscheduled.
	KubeletPods labels.Selector
	Log         *slog.Logger
}

// Cluster is a running dev cluster. Stop it with Stop.
type Cluster struct {
	// Kubeconfig is the path of an admin kubeconfig for kubectl.
	Kubeconfig string
	// Config is the admin's REST config.
	Config  *rest.Config
	Client  kubernetes.Interface
	Kubelet *kubelet.Kubelet
	Proxy   *serviceproxy.Proxy
	// OperatorKubeconfig is the kubeconfig the operator runs with, as its user.
	OperatorKubeconfig string

	opts      Options
	env       *envtest.Environment
	processes []*proc.Process
	operator  *proc.Process
	cancel    context.CancelFunc
	done      chan struct{}
}

// Start starts the control plane, the operator, the kubelet and the proxy. It returns when the operator is
// ready; on error, whatever was started is stopped.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Dir, err = filepath.Abs(opts.Dir); err != nil {
		return nil, err
	}
	if opts.KubeletPods == nil {
		opts.KubeletPods = labels.SelectorFromSet(labels.Set{controllers.LabelName: "webhookserver"})
	}
	if opts.Assets == "" {
		opts.Assets = filepath.Join(opts.RepoRoot, "bin", "k8s")
	}
	assets := opts.Assets
	for _, binary := range []string{"etcd", "kube-apiserver", "kube-controller-manager"} {
		if _, err := os.Stat(filepath.Join(assets, binary)); err != nil {
			return nil, fmt.Errorf("%s not found in %s: run `hack/build-envtest.sh --with-controller-manager`", binary, assets)
		}
	}
	for _, binary := range []string{opts.Manager, opts.Webhookserver} {
		if _, err := os.Stat(binary); err != nil {
			return nil, fmt.Errorf("%s not found: run `make build`", binary)
		}
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "pods"), 0o755); err != nil {
		return nil, err
	}

	c := &Cluster{opts: opts, Kubeconfig: filepath.Join(opts.Dir, "kubeconfig"), done: make(chan struct{})}
	defer func() {
		if err != nil {
			_ = c.Stop()
		}
	}()
	apiserverLog, err := os.Create(filepath.Join(opts.Dir, "kube-apiserver.log"))
	if err != nil {
		return nil, err
	}
	controlPlane, err := dieWithParent(assets, filepath.Join(opts.Dir, "bin"), "etcd", "kube-apiserver")
	if err != nil {
		return nil, err
	}
	c.env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(opts.RepoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: controlPlane,
	}
	c.env.ControlPlane.GetAPIServer().Out, c.env.ControlPlane.GetAPIServer().Err = apiserverLog, apiserverLog
	// The node's InternalIP reaches the local kubelet's API (port-forward); its Hostname does not resolve.
	c.env.ControlPlane.GetAPIServer().Configure().Set("kubelet-preferred-address-types", "InternalIP")
	for name, value := range opts.APIServerFlags {
		c.env.ControlPlane.GetAPIServer().Configure().Set(name, value)
	}
	if _, err := c.env.Start(); err != nil {
		return nil, fmt.Errorf("starting etcd and kube-apiserver: %w", err)
	}

	admin, err := c.writeKubeconfig("dev-admin", []string{"system:masters"}, c.Kubeconfig)
	if err != nil {
		return nil, err
	}
	c.Config = admin
	if c.Client, err = kubernetes.NewForConfig(admin); err != nil {
		return nil, err
	}
	grant := c.grantOperatorRole
	if opts.Installer != "" {
		grant = c.applyInstaller
	}
	if err := grant(ctx); err != nil {
		return nil, err
	}
	// Before anything creates a claim, so that every claim naming no class gets this one at admission.
	if _, err := c.Client.StorageV1().StorageClasses().Create(ctx, kubelet.StorageClass(), metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating the StorageClass %s: %w", kubelet.StorageClassName, err)
	}
	if err := c.startControllerManager(); err != nil {
		return nil, err
	}
	if err := c.startOperator(ctx); err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	c.Kubelet = kubelet.New(kubelet.Config{
		Client: c.Client, NodeName: NodeName, Dir: filepath.Join(opts.Dir, "pods"), VolumesDir: filepath.Join(opts.Dir, "volumes"),
		Pods:       opts.KubeletPods,
		Binaries:   map[string]string{controllers.ServerCommand: opts.Webhookserver, "/manager": opts.Manager},
		Entrypoint: "/manager",
		Log:        opts.Log.With("component", "kubelet"),
	})
	c.Proxy = serviceproxy.New(c.Client, c.Kubelet.Endpoints, opts.Log.With("component", "service-proxy"))
	errs := make(chan error, 2)
	go func() { errs <- c.Kubelet.Run(runCtx) }()
	go func() { errs <- c.Proxy.Run(runCtx) }()
	go func() {
		defer close(c.done)
		for range 2 {
			if err := <-errs; err != nil {
				opts.Log.Error("dev cluster component stopped", "error", err)
			}
		}
	}()
	return c, nil
}

// writeKubeconfig provisions a user with a client certificate and writes its kubeconfig to path.
func (c *Cluster) writeKubeconfig(name string, groups []string, path string) (*rest.Config, error) {
	user, err := c.env.AddUser(envtest.User{Name: name, Groups: groups}, &rest.Config{QPS: 50, Burst: 100})
	if err != nil {
		return nil, fmt.Errorf("provisioning user %s: %w", name, err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		return nil, err
	}
	return user.Config(), nil
}

// grantOperatorRole binds the generated ClusterRole (config/rbac/role.yaml) to the operator's user, as
// config/default binds it to its ServiceAccount.
func (c *Cluster) grantOperatorRole(ctx context.Context) error {
	content, err := os.ReadFile(filepath.Join(c.opts.RepoRoot, "config", "rbac", "role.yaml"))
	if err != nil {
		return err
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(content, role); err != nil {
		return fmt.Errorf("config/rbac/role.yaml: %w", err)
	}
	if _, err := c.Client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		return err
	}
	_, err = c.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "fulfillment-operator-dev"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: OperatorUser}},
	}, metav1.CreateOptions{})
	return err
}

// controllerManagerControllers are the kube-controller-manager controllers the dev cluster needs: Deployments,
// ReplicaSets, StatefulSets, garbage collection of owned objects, namespace deletion, PodDisruptionBudget
// status, ServiceAccounts and ResourceQuotas, and for the StatefulSets' PersistentVolumeClaims the binder (it
// binds each claim to the PersistentVolume the local kubelet provisions, as in a cluster with an external
// provisioner) and both protection controllers: the API server's StorageObjectInUseProtection admission puts
// a finalizer on every claim and volume, which only they remove, so without them a deleted claim would stay
// Terminating for ever. Not node lifecycle (the local kubelet sends no heartbeats), not EndpointSlices (every
// pod has the loopback address, which EndpointSlices refuse; the Service proxy asks the kubelet instead), not
// the HPA (no metrics API), not attach-detach or expansion (the volumes are local folders: nothing to attach
// or grow).
var controllerManagerControllers = []string{
	"deployment-controller", "replicaset-controller", "statefulset-controller", "garbage-collector-controller",
	"namespace-controller", "disruption-controller", "serviceaccount-controller", "resourcequota-controller",
	"persistentvolume-binder-controller", "persistentvolumeclaim-protection-controller",
	"persistentvolume-protection-controller",
}

func (c *Cluster) startControllerManager() error {
	kubeconfig := filepath.Join(c.opts.Dir, "kube-controller-manager.kubeconfig")
	if _, err := c.writeKubeconfig("system:kube-controller-manager", []string{"system:masters"}, kubeconfig); err != nil {
		return err
	}
	_, err := c.startProcess("kube-controller-manager", filepath.Join(c.opts.Assets, "kube-controller-manager"),
		nil,
		"--kubeconfig", kubeconfig,
		"--controllers", strings.Join(controllerManagerControllers, ","),
		"--leader-elect=false",
		"--secure-port=0",
		"--concurrent-gc-syncs=5",
	)
	return err
}

// startOperator runs bin/manager as its ServiceAccount and waits until its readiness probe passes.
func (c *Cluster) startOperator(ctx context.Context) error {
	probe, err := freeAddress()
	if err != nil {
		return err
	}
	run := c.operatorRun
	if c.opts.Installer != "" {
		run = c.installedOperatorRun
	}
	env, args, err := run(ctx, probe)
	if err != nil {
		return err
	}
	operator, err := c.startProcess("operator", c.opts.Manager, env, append(args, c.opts.ManagerArgs...)...)
	if err != nil {
		return err
	}
	c.operator = operator
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if ok, err := httpOK(ctx, "http://"+probe+"/readyz"); ok {
			return nil
		} else if ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the operator was not ready within a minute: see %s", filepath.Join(c.opts.Dir, "operator.log"))
}

// operatorRun is the operator's env and args as OperatorUser, with a client certificate.
func (c *Cluster) operatorRun(_ context.Context, probe string) ([]string, []string, error) {
	c.OperatorKubeconfig = filepath.Join(c.opts.Dir, "operator.kubeconfig")
	if _, err := c.writeKubeconfig(OperatorUser, []string{"system:serviceaccounts", "system:serviceaccounts:fulfillment-system",
		"system:authenticated"}, c.OperatorKubeconfig); err != nil {
		return nil, nil, err
	}
	return []string{"KUBECONFIG=" + c.OperatorKubeconfig},
		[]string{"--webhookserver-image", Image, "--metrics-bind-address", "0", "--health-probe-bind-address", probe}, nil
}

// startProcess starts a binary with its output in <Dir>/<name>.log.
func (c *Cluster) startProcess(name, binary string, env []string, args ...string) (*proc.Process, error) {
	cmd := osexec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	process, err := proc.Start(cmd, filepath.Join(c.opts.Dir, name+".log"), nil)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c.processes = append(c.processes, process)
	return process, nil
}

// OperatorPID is the process ID of the running operator (bin/manager).
func (c *Cluster) OperatorPID() int { return c.operator.PID() }

// Stop stops everything, in order: the pods' processes, the operator and the controller manager, then the
// API server and etcd. Nothing is left running.
func (c *Cluster) Stop() error {
	if c.cancel != nil {
		c.cancel()
		<-c.done
	}
	var errs []error
	for i := len(c.processes) - 1; i >= 0; i-- {
		c.processes[i].Stop(10 * time.Second)
	}
	if c.env != nil {
		errs = append(errs, c.env.Stop())
	}
	return errors.Join(errs...)
}

// EndpointURL is the local URL of a WebhookEndpoint: its status.url (http(s)://<service>.<namespace>.svc:<port>
// <path>) with the host replaced by the Service proxy's loopback address.
func (c *Cluster) EndpointURL(endpoint *fulfillmentv1alpha1.WebhookEndpoint) (string, bool) {
	if endpoint.Status.URL == "" {
		return "", false
	}
	parsed, err := url.Parse(endpoint.Status.URL)
	if err != nil {
		return "", false
	}
	service, _, _ := strings.Cut(parsed.Hostname(), ".")
	port, err := strconv.ParseInt(parsed.Port(), 10, 32)
	if err != nil {
		return "", false
	}
	address, ok := c.Proxy.Address(types.NamespacedName{Namespace: endpoint.Namespace, Name: service}, int32(port))
	if !ok {
		return "", false
	}
	parsed.Host = address
	return parsed.String(), true
}

// Pods is the number of pods the local kubelet runs.
func (c *Cluster) Pods() int { return c.Kubelet.Running() }

func freeAddress() (string, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = listener.Close() }()
	return listener.Addr().String(), nil
}

// dieWithParent writes, into dir, a wrapper for each of binaries (in assets) that runs it with a parent-death
// signal (setpriv --pdeathsig KILL): envtest starts etcd and kube-apiserver without one, so a dev cluster that
// crashes or is killed would leave them running. Without setpriv the binaries are linked as they are.
func dieWithParent(assets, dir string, binaries ...string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	setpriv, lookErr := osexec.LookPath("setpriv")
	for _, binary := range binaries {
		wrapper, real := filepath.Join(dir, binary), filepath.Join(assets, binary)
		_ = os.Remove(wrapper)
		if lookErr != nil {
			if err := os.Symlink(real, wrapper); err != nil {
				return "", err
			}
			continue
		}
		script := fmt.Sprintf("#!/bin/sh\nexec %s --pdeathsig KILL -- %s \"$@\"\n", setpriv, real)
		if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil { //nolint:gosec // an executable script
			return "", err
		}
	}
	return dir, nil
}

// httpOK tells whether GET url answers 200.
func httpOK(ctx context.Context, url string) (bool, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return false, err
	}
	_ = response.Body.Close()
	return response.StatusCode == http.StatusOK, nil
}
