package send

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// The cluster is read with the dynamic client and typed by conversion: client-go's typed clientset would
// register every built-in API group in every webhookserver process at start, for a command that reads four
// kinds.
var (
	endpointsResource = fulfillmentv1alpha1.GroupVersion.WithResource("webhookendpoints")
	secretsResource   = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	servicesResource  = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	podsResource      = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
)

// webhookPortName is the Service port the operator gives the webhook listener.
const webhookPortName = "webhook"

// cluster is a connection to the cluster the endpoint is read from.
type cluster struct {
	config    *rest.Config
	client    dynamic.Interface
	namespace string
	endpoint  *fulfillmentv1alpha1.WebhookEndpoint
}

// connect reads the kubeconfig as kubectl does: kubeconfig (else $KUBECONFIG, else ~/.kube/config), context
// (else the current one), namespace (else the context's, else default).
func connect(kubeconfig, context, namespace string) (*cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	config, err := loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	if namespace == "" {
		if namespace, _, err = loader.Namespace(); err != nil {
			return nil, fmt.Errorf("reading the kubeconfig's namespace: %w", err)
		}
	}
	config.UserAgent = "webhookserver-send"
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	return &cluster{config: config, client: client, namespace: namespace}, nil
}

// get reads one object into out.
func (c *cluster) get(ctx context.Context, resource schema.GroupVersionResource, name string, out any) error {
	object, err := c.client.Resource(resource).Namespace(c.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(object.UnstructuredContent(), out)
}

// target reads the WebhookEndpoint named name (or namespace/name, which overrides -n).
func (c *cluster) target(ctx context.Context, name string) (*Target, error) {
	if namespace, short, ok := strings.Cut(name, "/"); ok {
		c.namespace, name = namespace, short
	}
	endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
	if err := c.get(ctx, endpointsResource, name, endpoint); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("--endpoint %s: no WebhookEndpoint %s in namespace %s (kubectl get whe -n %s lists them)", name, name, c.namespace, c.namespace)
		}
		return nil, fmt.Errorf("reading WebhookEndpoint %s/%s: %w", c.namespace, name, err)
	}
	c.endpoint = endpoint
	return &Target{Name: endpoint.Name, Namespace: endpoint.Namespace, Spec: endpoint.Spec, Secrets: clusterSecrets{c, ctx}}, nil
}

// clusterSecrets reads the endpoint's Secrets from the cluster, as the operator mounts them in its pods.
type clusterSecrets struct {
	cluster *cluster
	ctx     context.Context // the command's deadline, for the few reads Build makes
}

// Secret implements config.SecretSource.
func (s clusterSecrets) Secret(namespace, name, key string) ([]byte, error) {
	secret := &corev1.Secret{}
	if err := s.cluster.get(s.ctx, secretsResource, name, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("secret %s/%s not found", namespace, name)
		}
		return nil, fmt.Errorf("reading secret %s/%s: %w", namespace, name, err)
	}
	value, ok := secret.Data[key]
	if !ok {
		return nil, fmt.Errorf("secret %s/%s has no key %q", namespace, name, key)
	}
	return value, nil
}

// service reads the endpoint's Service and its webhook port.
func (c *cluster) service(ctx context.Context) (*corev1.Service, *corev1.ServicePort, error) {
	service := &corev1.Service{}
	if err := c.get(ctx, servicesResource, c.endpoint.Name, service); err != nil {
		return nil, nil, fmt.Errorf("reading the endpoint's Service %s/%s: %w", c.namespace, c.endpoint.Name, err)
	}
	for i := range service.Spec.Ports {
		if service.Spec.Ports[i].Name == webhookPortName {
			return service, &service.Spec.Ports[i], nil
		}
	}
	return nil, nil, fmt.Errorf("service %s/%s has no port named %s", c.namespace, service.Name, webhookPortName)
}

// serviceBase is the endpoint's address inside the cluster, from its status (or its Service's name).
func (c *cluster) serviceBase(ctx context.Context, tls bool) string {
	if u, err := url.Parse(c.endpoint.Status.URL); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	port := int32(80)
	if _, servicePort, err := c.service(ctx); err == nil {
		port = servicePort.Port
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s.%s.svc:%d", scheme, c.endpoint.Name, c.namespace, port)
}

// forwarding is a port-forward to one of the endpoint's pods, on a free loopback port.
type forwarding struct {
	localPort int
	stop      context.CancelFunc
	done      chan struct{}
}

func (f *forwarding) close() {
	f.stop()
	<-f.done
}

// forward forwards a free loopback port to the webhook port of a ready pod behind the endpoint's Service, as
// kubectl port-forward svc/NAME does.
func (c *cluster) forward(ctx context.Context) (*forwarding, error) {
	service, servicePort, err := c.service(ctx)
	if err != nil {
		return nil, err
	}
	pod, err := c.readyPod(ctx, service)
	if err != nil {
		return nil, err
	}
	podPort, err := containerPort(pod, servicePort.TargetPort)
	if err != nil {
		return nil, err
	}
	transport, upgrader, err := spdy.RoundTripperFor(c.config)
	if err != nil {
		return nil, err
	}
	podURL, _, err := rest.DefaultServerUrlFor(c.config)
	if err != nil {
		return nil, err
	}
	podURL.Path = strings.TrimRight(podURL.Path, "/") + "/api/v1/namespaces/" + url.PathEscape(pod.Namespace) + "/pods/" + url.PathEscape(pod.Name) + "/portforward"
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, podURL)

	forwardCtx, stop := context.WithCancel(context.Background())
	ready := make(chan struct{})
	forwarder, err := portforward.NewOnAddressesWithContext(forwardCtx, dialer, []string{"127.0.0.1"},
		[]string{fmt.Sprintf("0:%d", podPort)}, ready, io.Discard, io.Discard)
	if err != nil {
		stop()
		return nil, err
	}
	done := make(chan struct{})
	failed := make(chan error, 1)
	go func() {
		defer close(done)
		if err := forwarder.ForwardPorts(); err != nil {
			failed <- err
		}
	}()
	select {
	case <-ready:
	case err := <-failed:
		stop()
		return nil, fmt.Errorf("forwarding a port to pod %s/%s: %w", pod.Namespace, pod.Name, err)
	case <-ctx.Done():
		stop()
		<-done
		return nil, fmt.Errorf("forwarding a port to pod %s/%s: %w", pod.Namespace, pod.Name, ctx.Err())
	}
	ports, err := forwarder.GetPorts()
	if err == nil && len(ports) != 1 {
		err = fmt.Errorf("%d local ports, want 1", len(ports))
	}
	if err != nil {
		stop()
		<-done
		return nil, fmt.Errorf("forwarding a port to pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return &forwarding{localPort: int(ports[0].Local), stop: stop, done: done}, nil
}

// readyPod is a running, ready pod the Service selects.
func (c *cluster) readyPod(ctx context.Context, service *corev1.Service) (*corev1.Pod, error) {
	if len(service.Spec.Selector) == 0 {
		return nil, fmt.Errorf("service %s/%s selects no pods", c.namespace, service.Name)
	}
	selector := metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: service.Spec.Selector})
	list, err := c.client.Resource(podsResource).Namespace(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of service %s/%s: %w", c.namespace, service.Name, err)
	}
	for _, item := range list.Items {
		pod := &corev1.Pod{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(item.UnstructuredContent(), pod); err != nil {
			return nil, err
		}
		if pod.DeletionTimestamp == nil && pod.Status.Phase == corev1.PodRunning && podReady(pod) {
			return pod, nil
		}
	}
	return nil, fmt.Errorf("no ready pod behind service %s/%s (kubectl get whe %s -n %s says why)", c.namespace, service.Name,
		c.endpoint.Name, c.namespace)
}

func podReady(pod *corev1.Pod) bool {
	for _, condition := range pod.Status.Conditions {
		if condition.Type == corev1.PodReady {
			return condition.Status == corev1.ConditionTrue
		}
	}
	return false
}

// containerPort is the pod's port a Service's targetPort names.
func containerPort(pod *corev1.Pod, target intstr.IntOrString) (int32, error) {
	if target.Type == intstr.Int {
		return target.IntVal, nil
	}
	for _, container := range pod.Spec.Containers {
		for _, port := range container.Ports {
			if port.Name == target.StrVal {
				return port.ContainerPort, nil
			}
		}
	}
	return 0, errors.New("pod " + pod.Name + " has no container port named " + target.StrVal)
}
