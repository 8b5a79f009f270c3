package devcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// applyInstaller applies the release installer (Options.Installer) as a user installs a release: one
// server-side apply with kubectl. It brings the operator's Namespace, ServiceAccount, RBAC and Deployment.
func (c *Cluster) applyInstaller(ctx context.Context) error {
	apply := osexec.CommandContext(ctx, filepath.Join(c.opts.Assets, "kubectl"), "apply", "--server-side", "-f", c.opts.Installer)
	apply.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig, "KUBECACHEDIR="+filepath.Join(c.opts.Dir, "kube-cache"))
	if out, err := apply.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl apply --server-side -f %s: %w\n%s", c.opts.Installer, err, out)
	}
	return nil
}

// installedOperatorRun is how the installer's Deployment runs the manager, run as a process: with a token of
// the Deployment's ServiceAccount, and the manager container's args and env. What differs from a pod is what
// a process lacks: the bind addresses become free loopback addresses (the pod's network is the machine's
// here), the leader election namespace is a flag (a pod reads it from its mounted ServiceAccount), and the API
// server is found through a kubeconfig (a pod has in-cluster variables). It returns the process's env and args.
func (c *Cluster) installedOperatorRun(ctx context.Context, probe string) ([]string, []string, error) {
	deployment, err := c.installedDeployment(ctx)
	if err != nil {
		return nil, nil, err
	}
	pod := deployment.Spec.Template.Spec
	container, err := managerContainer(pod.Containers)
	if err != nil {
		return nil, nil, err
	}
	if err := c.writeServiceAccountKubeconfig(ctx, deployment.Namespace, pod.ServiceAccountName); err != nil {
		return nil, nil, err
	}
	env, err := containerEnv(container, deployment.Namespace)
	if err != nil {
		return nil, nil, err
	}
	metrics, err := freeAddress()
	if err != nil {
		return nil, nil, err
	}
	args := withAddresses(container.Args, map[string]string{"metrics-bind-address": metrics, "health-probe-bind-address": probe})
	args = append(args, "--leader-election-namespace="+deployment.Namespace)
	return append(env, "KUBECONFIG="+c.OperatorKubeconfig), args, nil
}

// installedDeployment is the installer's only Deployment, as the API server holds it after the apply.
func (c *Cluster) installedDeployment(ctx context.Context) (*appsv1.Deployment, error) {
	content, err := os.ReadFile(c.opts.Installer)
	if err != nil {
		return nil, err
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(content), 4096)
	for {
		var object metav1.PartialObjectMetadata
		err := decoder.Decode(&object)
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s holds no Deployment", c.opts.Installer)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.opts.Installer, err)
		}
		if object.Kind == "Deployment" {
			return c.Client.AppsV1().Deployments(object.Namespace).Get(ctx, object.Name, metav1.GetOptions{})
		}
	}
}

// managerContainer is the Deployment's manager container, which must run the image's /manager.
func managerContainer(containers []corev1.Container) (corev1.Container, error) {
	for _, container := range containers {
		if container.Name != "manager" {
			continue
		}
		if len(container.Command) > 0 && container.Command[0] != "/manager" {
			return container, fmt.Errorf("the manager container runs %v, not /manager", container.Command)
		}
		return container, nil
	}
	return corev1.Container{}, errors.New("the installer's Deployment has no container named manager")
}

// writeServiceAccountKubeconfig writes OperatorKubeconfig: the API server, authenticated by a token the API
// server issues for the ServiceAccount, as a pod's projected token is.
func (c *Cluster) writeServiceAccountKubeconfig(ctx context.Context, namespace, serviceAccount string) error {
	request, err := c.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, serviceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](24 * 60 * 60)},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("a token for ServiceAccount %s/%s: %w", namespace, serviceAccount, err)
	}
	config := clientcmdapi.NewConfig()
	config.Clusters["dev"] = &clientcmdapi.Cluster{Server: c.Config.Host, CertificateAuthorityData: c.Config.CAData}
	config.AuthInfos[serviceAccount] = &clientcmdapi.AuthInfo{Token: request.Status.Token}
	config.Contexts["dev"] = &clientcmdapi.Context{Cluster: "dev", AuthInfo: serviceAccount}
	config.CurrentContext = "dev"
	c.OperatorKubeconfig = filepath.Join(c.opts.Dir, "operator.kubeconfig")
	return clientcmd.WriteToFile(*config, c.OperatorKubeconfig)
}

// containerEnv is the container's environment as the kubelet gives it; of the downward API only the
// namespace, the one field the manager reads.
func containerEnv(container corev1.Container, namespace string) ([]string, error) {
	if len(container.EnvFrom) > 0 {
		return nil, errors.New("the manager container's envFrom is not supported by the dev cluster")
	}
	env := make([]string, 0, len(container.Env))
	for _, variable := range container.Env {
		switch from := variable.ValueFrom; {
		case from == nil:
			env = append(env, variable.Name+"="+variable.Value)
		case from.FieldRef != nil && from.FieldRef.FieldPath == "metadata.namespace":
			env = append(env, variable.Name+"="+namespace)
		default:
			return nil, fmt.Errorf("env %s of the manager container: only values and metadata.namespace are supported", variable.Name)
		}
	}
	return env, nil
}

// withAddresses replaces the value of each flag of args named in addresses (-flag=value, --flag=value or
// --flag value), and adds the flags args lacks.
func withAddresses(args []string, addresses map[string]string) []string {
	result := make([]string, 0, len(args)+len(addresses))
	set := map[string]bool{}
	for i := 0; i < len(args); i++ {
		flag, _, hasValue := strings.Cut(args[i], "=")
		name := strings.TrimLeft(flag, "-")
		address, ok := addresses[name]
		if !ok || !strings.HasPrefix(flag, "-") {
			result = append(result, args[i])
			continue
		}
		if !hasValue {
			i++ // the value is the next argument
		}
		result, set[name] = append(result, "--"+name+"="+address), true
	}
	for name, address := range addresses {
		if !set[name] {
			result = append(result, "--"+name+"="+address)
		}
	}
	return result
}
