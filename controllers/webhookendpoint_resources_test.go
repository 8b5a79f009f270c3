package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
)

const fxImage = "ghcr.io/fulfillment-dev/webhookserver:v1.2.3"

// Fixtures: a valid Dialogflow ES endpoint with basic auth, changed by modifiers. The fx prefix keeps these
// names apart from other fixtures of the package.
type fxEndpointMod func(*fulfillmentv1alpha1.WebhookEndpoint)

func fixtureEndpoint(mods ...fxEndpointMod) *fulfillmentv1alpha1.WebhookEndpoint {
	endpoint := &fulfillmentv1alpha1.WebhookEndpoint{
		TypeMeta: metav1.TypeMeta{APIVersion: fulfillmentv1alpha1.GroupVersion.String(), Kind: "WebhookEndpoint"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "bank-bot", Namespace: "bots", UID: types.UID("2f1c0d7e-5b8a-4f0e-9a57-1c1f3a2b4c5d"), Generation: 3,
		},
		Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
			Dialect: fulfillmentv1alpha1.DialectDialogflowES,
			Path:    "/bank-bot",
			Methods: []fulfillmentv1alpha1.HTTPMethod{"POST"},
			Timeout: &metav1.Duration{Duration: 4500 * time.Millisecond},
			Auth: fulfillmentv1alpha1.EndpointAuth{
				Basic: &fulfillmentv1alpha1.BasicAuth{SecretRef: fulfillmentv1alpha1.LocalObjectReference{Name: "bank-bot-basic-auth"}},
			},
			Fallback: &fulfillmentv1alpha1.Fallback{Text: "Sorry, I can't reach the bank right now."},
			TLS:      &fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeDisabled},
		},
	}
	for _, mod := range mods {
		mod(endpoint)
	}
	return endpoint
}

func fxReplicas(n int32) fxEndpointMod {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Replicas = ptr.To(n) }
}

func fxAutoscaling(minReplicas *int32, maxReplicas int32, cpu *int32) fxEndpointMod {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Autoscaling = &fulfillmentv1alpha1.Autoscaling{MinReplicas: minReplicas, MaxReplicas: maxReplicas, TargetCPUUtilizationPercentage: cpu}
	}
}

func fxSuspend() fxEndpointMod {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Suspend = true }
}

func fxName(name string) fxEndpointMod {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Name = name }
}

func fxPath(path string) fxEndpointMod {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Path = path }
}

func fxPodTemplate(overrides fulfillmentv1alpha1.PodTemplateOverrides) fxEndpointMod {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.PodTemplate = &overrides }
}

func fxResources(resources corev1.ResourceRequirements) fxEndpointMod {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Resources = &resources }
}

func fxService(serviceType fulfillmentv1alpha1.ServiceType, port int32, annotations map[string]string) fxEndpointMod {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Service = &fulfillmentv1alpha1.ServiceSettings{Type: serviceType, Port: port, Annotations: annotations}
	}
}

func fxIngress(settings fulfillmentv1alpha1.IngressSettings) fxEndpointMod {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Ingress = &settings }
}

func fxHTTPRoute(settings fulfillmentv1alpha1.HTTPRouteSettings) fxEndpointMod {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.HTTPRoute = &settings }
}

// fxGenericEvents is a Generic endpoint using every Secret reference an endpoint can have: bearer, a generated
// HMAC key, a client CA for mutual TLS, and a Redis URL for the store and the queue.
func fxGenericEvents() fxEndpointMod {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Dialect = fulfillmentv1alpha1.DialectGeneric
		e.Spec.Path = "/events"
		e.Spec.Timeout = &metav1.Duration{Duration: 15 * time.Second}
		e.Spec.Auth = fulfillmentv1alpha1.EndpointAuth{
			Bearer: &fulfillmentv1alpha1.BearerAuth{SecretRef: fulfillmentv1alpha1.SecretKeySelector{Name: "events-token", Key: "token"}},
			HMAC:   &fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeStandardWebhooks},
		}
		e.Spec.TLS = &fulfillmentv1alpha1.EndpointTLS{
			Mode: fulfillmentv1alpha1.TLSModeSecret, SecretName: "events-tls",
			ClientAuth: &fulfillmentv1alpha1.ClientAuth{
				Mode:        fulfillmentv1alpha1.ClientAuthRequire,
				CASecretRef: &fulfillmentv1alpha1.SecretKeySelector{Name: "partner-ca", Key: "ca.crt"},
			},
		}
		e.Spec.Redis = &fulfillmentv1alpha1.RedisConnection{URLSecretRef: &fulfillmentv1alpha1.SecretKeySelector{Name: "redis-url", Key: "url"}}
		e.Spec.Idempotency = &fulfillmentv1alpha1.Idempotency{Enabled: true, Store: fulfillmentv1alpha1.IdempotencyStoreRedis}
		e.Spec.Delivery = &fulfillmentv1alpha1.Delivery{Mode: fulfillmentv1alpha1.DeliveryAsync, Queue: fulfillmentv1alpha1.QueueRedis}
		e.Spec.Fallback = nil
	}
}

type fxRouteMod func(*fulfillmentv1alpha1.IntentRoute)

// fixtureRoute is a valid respond route of bank-bot created at a fixed time.
func fixtureRoute(name string, mods ...fxRouteMod) fulfillmentv1alpha1.IntentRoute {
	route := fulfillmentv1alpha1.IntentRoute{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "bots", CreationTimestamp: metav1.NewTime(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)),
		},
		Spec: fulfillmentv1alpha1.IntentRouteSpec{
			EndpointRef: fulfillmentv1alpha1.LocalObjectReference{Name: "bank-bot"},
			Match:       fulfillmentv1alpha1.RouteMatch{Intents: []string{"Welcome " + name}},
			Respond:     &fulfillmentv1alpha1.RespondAction{Text: "Hi from " + name + "!"},
		},
	}
	for _, mod := range mods {
		mod(&route)
	}
	return route
}

// fxCall replaces the action with a call whose headers read the given Secrets (name/key).
func fxCall(secrets ...string) fxRouteMod {
	return func(r *fulfillmentv1alpha1.IntentRoute) {
		call := &fulfillmentv1alpha1.CallAction{
			URL:     "http://bank-api.bank.svc.cluster.local/accounts/${params.account}/balance",
			Method:  "GET",
			Respond: &fulfillmentv1alpha1.RespondAction{Text: "Your balance is ${response.body.balance}."},
			Headers: []fulfillmentv1alpha1.Header{{Name: "X-Caller", Value: "bank-bot"}},
		}
		for i, secret := range secrets {
			name, key, _ := strings.Cut(secret, "/")
			call.Headers = append(call.Headers, fulfillmentv1alpha1.Header{
				Name:      "X-Secret-" + string(rune('A'+i)),
				ValueFrom: &fulfillmentv1alpha1.HeaderSource{SecretKeyRef: fulfillmentv1alpha1.SecretKeySelector{Name: name, Key: key}},
			})
		}
		r.Spec.Respond, r.Spec.Call = nil, call
	}
}

func fxPriority(priority int32) fxRouteMod {
	return func(r *fulfillmentv1alpha1.IntentRoute) { r.Spec.Priority = priority }
}

func fxInputs(endpoint *fulfillmentv1alpha1.WebhookEndpoint, secrets []string, tlsSecret string) DeploymentInputs {
	return DeploymentInputs{Endpoint: endpoint, Image: fxImage, Secrets: secrets, TLSSecretName: tlsSecret}
}

func TestDesiredObjectsCarryMetadataAndControllerReference(t *testing.T) {
	endpoint := fixtureEndpoint(
		fxReplicas(3), fxAutoscaling(nil, 5, nil),
		fxIngress(fulfillmentv1alpha1.IngressSettings{Host: "bot.example.com"}),
	)
	orders := fixtureEndpoint(fxName("orders"), fxHTTPRoute(fulfillmentv1alpha1.HTTPRouteSettings{
		ParentRefs: []fulfillmentv1alpha1.ParentReference{{Name: "public"}},
	}))
	cases := map[string]struct {
		object         client.Object
		owner          *fulfillmentv1alpha1.WebhookEndpoint
		wantAPIVersion string
		wantKind       string
		wantName       string
	}{
		"service account": {DesiredServiceAccount(endpoint), endpoint, "v1", "ServiceAccount", "bank-bot"},
		"config map":      {DesiredConfigMap(endpoint, []byte("x"), "0123"), endpoint, "v1", "ConfigMap", "bank-bot-config"},
		"deployment":      {DesiredDeployment(fxInputs(endpoint, nil, "")), endpoint, "apps/v1", "Deployment", "bank-bot"},
		"service":         {DesiredService(endpoint), endpoint, "v1", "Service", "bank-bot"},
		"pdb":             {DesiredPodDisruptionBudget(endpoint), endpoint, "policy/v1", "PodDisruptionBudget", "bank-bot"},
		"hpa":             {DesiredHorizontalPodAutoscaler(endpoint), endpoint, "autoscaling/v2", "HorizontalPodAutoscaler", "bank-bot"},
		"network policy":  {DesiredNetworkPolicy(endpoint, ""), endpoint, "networking.k8s.io/v1", "NetworkPolicy", "bank-bot"},
		"ingress":         {DesiredIngress(endpoint), endpoint, "networking.k8s.io/v1", "Ingress", "bank-bot"},
		"http route":      {DesiredHTTPRoute(orders), orders, "gateway.networking.k8s.io/v1", "HTTPRoute", "orders"},
		"another config":  {DesiredConfigMap(orders, nil, ""), orders, "v1", "ConfigMap", "orders-config"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			gvk := tc.object.GetObjectKind().GroupVersionKind()
			if gvk.GroupVersion().String() != tc.wantAPIVersion || gvk.Kind != tc.wantKind {
				t.Errorf("apiVersion/kind %s %s, want %s %s", gvk.GroupVersion(), gvk.Kind, tc.wantAPIVersion, tc.wantKind)
			}
			if tc.object.GetName() != tc.wantName || tc.object.GetNamespace() != "bots" {
				t.Errorf("object %s/%s, want bots/%s", tc.object.GetNamespace(), tc.object.GetName(), tc.wantName)
			}
			wantLabels := map[string]string{
				LabelName: "webhookserver", LabelInstance: tc.owner.Name, LabelManagedBy: "fulfillment-operator",
				LabelComponent: "fulfillment", LabelEndpoint: tc.owner.Name,
			}
			if !reflect.DeepEqual(tc.object.GetLabels(), wantLabels) {
				t.Errorf("labels %v, want %v", tc.object.GetLabels(), wantLabels)
			}
			wantOwner := metav1.OwnerReference{
				APIVersion: "fulfillment.dev/v1alpha1", Kind: "WebhookEndpoint", Name: tc.owner.Name,
				UID: tc.owner.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}
			if owners := tc.object.GetOwnerReferences(); len(owners) != 1 || !reflect.DeepEqual(owners[0], wantOwner) {
				t.Errorf("owner references %+v, want [%+v]", owners, wantOwner)
			}
		})
	}
}

func TestDesiredServiceAccountAndConfigMap(t *testing.T) {
	endpoint := fixtureEndpoint()
	account := DesiredServiceAccount(endpoint)
	if account.AutomountServiceAccountToken == nil || *account.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken %v, want false", account.AutomountServiceAccountToken)
	}
	configMap := DesiredConfigMap(endpoint, []byte("apiVersion: x\n"), "0123456789abcdef")
	if want := map[string]string{ConfigKey: "apiVersion: x\n"}; !reflect.DeepEqual(configMap.Data, want) {
		t.Errorf("data %v, want %v", configMap.Data, want)
	}
	if got := configMap.Annotations[AnnotationConfigHash]; got != "0123456789abcdef" {
		t.Errorf("annotation %s = %q, want the config hash", AnnotationConfigHash, got)
	}
}

func TestDesiredDeploymentReplicasAndInputs(t *testing.T) {
	cases := map[string]struct {
		endpoint      *fulfillmentv1alpha1.WebhookEndpoint
		secrets       []string
		tlsSecret     string
		wantReplicas  *int32
		wantTLSArgs   bool
		wantSecretDir []string // mount paths of Secrets, TLS included
	}{
		"defaults": {
			endpoint: fixtureEndpoint(), secrets: []string{"bank-bot-basic-auth"},
			wantReplicas: ptr.To(int32(2)), wantSecretDir: []string{SecretsDir + "/bank-bot-basic-auth"},
		},
		"replicas 3": {endpoint: fixtureEndpoint(fxReplicas(3)), wantReplicas: ptr.To(int32(3))},
		"replicas 0": {endpoint: fixtureEndpoint(fxReplicas(0)), wantReplicas: ptr.To(int32(0))},
		"suspended":  {endpoint: fixtureEndpoint(fxReplicas(3), fxSuspend()), wantReplicas: ptr.To(int32(0))},
		"autoscaling leaves the count to the autoscaler": {
			endpoint: fixtureEndpoint(fxReplicas(3), fxAutoscaling(ptr.To(int32(2)), 6, nil)), wantReplicas: nil,
		},
		"suspended while autoscaling": {
			endpoint: fixtureEndpoint(fxAutoscaling(nil, 6, nil), fxSuspend()), wantReplicas: ptr.To(int32(0)),
		},
		"TLS mounts the certificate and serves HTTPS": {
			endpoint: fixtureEndpoint(fxGenericEvents()), secrets: []string{"redis-url", "events-token", "partner-ca", "bank-bot-hmac"},
			tlsSecret: "events-tls", wantReplicas: ptr.To(int32(2)), wantTLSArgs: true,
			wantSecretDir: []string{
				SecretsDir + "/bank-bot-hmac", SecretsDir + "/events-token", SecretsDir + "/partner-ca", SecretsDir + "/redis-url", TLSDir,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			deployment := DesiredDeployment(fxInputs(tc.endpoint, tc.secrets, tc.tlsSecret))
			if !reflect.DeepEqual(deployment.Spec.Replicas, tc.wantReplicas) {
				t.Errorf("replicas %v, want %v", fxPtr(deployment.Spec.Replicas), fxPtr(tc.wantReplicas))
			}
			container := deployment.Spec.Template.Spec.Containers[0]
			wantArgs := []string{
				"serve", "--config", "/etc/fulfillment/config/config.yaml", "--listen", ":8080", "--metrics-listen", ":9090",
				"--admin-listen", "127.0.0.1:9091", "--shutdown-delay", "5s", "--shutdown-timeout", "30s", "--queue-dir", "/var/lib/fulfillment/queue",
			}
			if tc.wantTLSArgs {
				wantArgs = append(wantArgs, "--tls-cert-file", "/etc/fulfillment/tls/tls.crt", "--tls-key-file", "/etc/fulfillment/tls/tls.key")
			}
			if !reflect.DeepEqual(container.Args, wantArgs) {
				t.Errorf("args %q, want %q", container.Args, wantArgs)
			}
			// The server sets its Go memory limit from the container's (webhookserver/cmd/webhookserver).
			// It finds itself among the pods a configuration retires by its name (POD_NAME).
			if len(container.Env) != 2 || container.Env[0].Name != "FULFILLMENT_MEMORY_LIMIT" ||
				container.Env[0].ValueFrom == nil || container.Env[0].ValueFrom.ResourceFieldRef == nil ||
				container.Env[0].ValueFrom.ResourceFieldRef.Resource != "limits.memory" ||
				container.Env[1].Name != "POD_NAME" || container.Env[1].ValueFrom == nil || container.Env[1].ValueFrom.FieldRef == nil ||
				container.Env[1].ValueFrom.FieldRef.FieldPath != "metadata.name" {
				t.Errorf("env %+v, want FULFILLMENT_MEMORY_LIMIT from limits.memory and POD_NAME from metadata.name", container.Env)
			}
			// The image's entrypoint is the operator; the pod must name the server.
			if !reflect.DeepEqual(container.Command, []string{"/webhookserver"}) {
				t.Errorf("command %q, want the image's /webhookserver", container.Command)
			}
			var secretDirs []string
			for _, mount := range container.VolumeMounts {
				if strings.HasPrefix(mount.MountPath, SecretsDir+"/") || mount.MountPath == TLSDir {
					secretDirs = append(secretDirs, mount.MountPath)
				}
			}
			if !fxSameSet(secretDirs, tc.wantSecretDir) {
				t.Errorf("Secrets mounted at %v, want %v", secretDirs, tc.wantSecretDir)
			}
			if container.Image != fxImage {
				t.Errorf("image %q, want %q", container.Image, fxImage)
			}
			// The server reloads the configuration in place: nothing of the configuration is on the Deployment,
			// whose annotations bump its generation, nor on the pods, which would roll.
			if _, ok := deployment.Annotations[AnnotationConfigHash]; ok {
				t.Errorf("the Deployment carries %s; every configuration change would bump its generation", AnnotationConfigHash)
			}
			if _, ok := deployment.Spec.Template.Annotations[AnnotationConfigHash]; ok {
				t.Errorf("the pod template carries %s; configuration changes would restart the pods", AnnotationConfigHash)
			}
		})
	}
}

// The pod's command must be where the Dockerfile puts the server: the image's entrypoint is the operator.
func TestServerCommandIsInTheImage(t *testing.T) {
	dockerfile, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if want := "COPY --from=build /out/webhookserver " + ServerCommand + "\n"; !strings.Contains(string(dockerfile), want) {
		t.Errorf("the Dockerfile does not copy the server to %s (no line %q)", ServerCommand, strings.TrimSpace(want))
	}
}

func TestDesiredDeploymentIsHardened(t *testing.T) {
	deployment := DesiredDeployment(fxInputs(fixtureEndpoint(), []string{"bank-bot-basic-auth"}, ""))
	pod := deployment.Spec.Template.Spec
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
		t.Fatalf("containers %d, init containers %d, want 1 and 0", len(pod.Containers), len(pod.InitContainers))
	}
	container := pod.Containers[0]
	psc, csc := pod.SecurityContext, container.SecurityContext
	if psc == nil || csc == nil {
		t.Fatal("pod or container security context missing")
	}
	checks := map[string]struct {
		got, want any
	}{
		"pod runAsNonRoot":                   {psc.RunAsNonRoot, ptr.To(true)},
		"pod runAsUser":                      {psc.RunAsUser, ptr.To(int64(65532))},
		"pod runAsGroup":                     {psc.RunAsGroup, ptr.To(int64(65532))},
		"pod fsGroup":                        {psc.FSGroup, ptr.To(int64(65532))},
		"pod seccompProfile":                 {psc.SeccompProfile, &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		"container allowPrivilegeEscalation": {csc.AllowPrivilegeEscalation, ptr.To(false)},
		"container readOnlyRootFilesystem":   {csc.ReadOnlyRootFilesystem, ptr.To(true)},
		"container runAsNonRoot":             {csc.RunAsNonRoot, ptr.To(true)},
		"container capabilities":             {csc.Capabilities, &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
		"container privileged":               {csc.Privileged, (*bool)(nil)},
		"pod automountServiceAccountToken":   {pod.AutomountServiceAccountToken, ptr.To(false)},
		"pod serviceAccountName":             {pod.ServiceAccountName, "bank-bot"},
		"pod enableServiceLinks":             {pod.EnableServiceLinks, ptr.To(false)},
		"pod hostNetwork":                    {pod.HostNetwork, false},
		"pod terminationGracePeriodSeconds":  {pod.TerminationGracePeriodSeconds, ptr.To(int64(45))},
		"selector":                           {deployment.Spec.Selector, &metav1.LabelSelector{MatchLabels: map[string]string{LabelName: "webhookserver", LabelInstance: "bank-bot"}}},
		"strategy":                           {deployment.Spec.Strategy.Type, appsv1.RollingUpdateDeploymentStrategyType},
		"maxUnavailable":                     {deployment.Spec.Strategy.RollingUpdate.MaxUnavailable, ptr.To(intstr.FromInt32(0))},
		"maxSurge":                           {deployment.Spec.Strategy.RollingUpdate.MaxSurge, ptr.To(intstr.FromInt32(1))},
		"container name":                     {container.Name, "webhookserver"},
		"container ports":                    {container.Ports, []corev1.ContainerPort{{Name: "webhook", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}, {Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP}}},
		"readiness path":                     {container.ReadinessProbe.HTTPGet.Path, "/readyz"},
		"readiness port":                     {container.ReadinessProbe.HTTPGet.Port, intstr.FromString("metrics")},
		"liveness path":                      {container.LivenessProbe.HTTPGet.Path, "/healthz"},
		"liveness port":                      {container.LivenessProbe.HTTPGet.Port, intstr.FromString("metrics")},
		"probes over plain HTTP":             {container.LivenessProbe.HTTPGet.Scheme, corev1.URISchemeHTTP},
		"no startup probe":                   {container.StartupProbe, (*corev1.Probe)(nil)},
		"default requests and a memory limit": {container.Resources, corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
		}},
	}
	for name, check := range checks {
		if !reflect.DeepEqual(check.got, check.want) {
			t.Errorf("%s: %#v, want %#v", name, check.got, check.want)
		}
	}
	// The root file system is read-only: every place the server writes is a volume.
	writable := map[string]bool{}
	for _, mount := range container.VolumeMounts {
		if !mount.ReadOnly {
			writable[mount.MountPath] = true
		}
	}
	if want := map[string]bool{QueueDir: true, "/tmp": true}; !reflect.DeepEqual(writable, want) {
		t.Errorf("writable mounts %v, want %v", writable, want)
	}
}

func TestDesiredDeploymentResources(t *testing.T) {
	resources := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
	endpoint := fixtureEndpoint(fxResources(resources))
	container := DesiredDeployment(fxInputs(endpoint, nil, "")).Spec.Template.Spec.Containers[0]
	if !reflect.DeepEqual(container.Resources, resources) {
		t.Errorf("resources %v, want spec.resources %v", container.Resources, resources)
	}
	container.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("1Gi")
	if endpoint.Spec.Resources.Limits.Memory().String() != "512Mi" {
		t.Error("the Deployment shares spec.resources with the endpoint: changing one changed the other")
	}
}

func TestDesiredDeploymentVolumes(t *testing.T) {
	long := strings.Repeat("a", 60)
	dotted := "partner.ca.example"
	in := fxInputs(fixtureEndpoint(), []string{long, dotted, "bank-bot-basic-auth", dotted}, "bank-bot-tls")
	pod := DesiredDeployment(in).Spec.Template.Spec
	volumes := map[string]corev1.Volume{}
	for i, volume := range pod.Volumes {
		if errs := validation.IsDNS1123Label(volume.Name); len(errs) > 0 {
			t.Errorf("volume name %q: %v", volume.Name, errs)
		}
		if i > 0 && pod.Volumes[i-1].Name >= volume.Name {
			t.Errorf("volumes not sorted by name: %q then %q", pod.Volumes[i-1].Name, volume.Name)
		}
		volumes[volume.Name] = volume
	}
	if len(volumes) != 7 {
		t.Errorf("%d volumes, want 7 (config, queue, tmp, tls and 3 Secrets, the duplicate mounted once): %v", len(volumes), pod.Volumes)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, mount := range pod.Containers[0].VolumeMounts {
		mounts[mount.MountPath] = mount
	}
	secretMounts := map[string]string{
		SecretsDir + "/" + long: long, SecretsDir + "/" + dotted: dotted, SecretsDir + "/bank-bot-basic-auth": "bank-bot-basic-auth",
		TLSDir: "bank-bot-tls",
	}
	for path, secret := range secretMounts {
		mount, ok := mounts[path]
		if !ok {
			t.Errorf("Secret %s not mounted at %s", secret, path)
			continue
		}
		source := volumes[mount.Name].Secret
		if source == nil || source.SecretName != secret || !mount.ReadOnly {
			t.Errorf("mount %s: volume %+v, read-only %v, want Secret %s read-only", path, volumes[mount.Name], mount.ReadOnly, secret)
			continue
		}
		// Owned by root and the fsGroup; the server runs in the fsGroup, so group read is what it needs.
		if source.DefaultMode == nil || *source.DefaultMode != 0o440 {
			t.Errorf("mount %s: defaultMode %v, want 0440", path, fxPtr(source.DefaultMode))
		}
		if source.Optional != nil && *source.Optional {
			t.Errorf("mount %s: optional; a missing Secret must keep the pod from starting", path)
		}
	}
	if config := volumes[mounts[ConfigDir].Name].ConfigMap; config == nil || config.Name != "bank-bot-config" || !mounts[ConfigDir].ReadOnly {
		t.Errorf("config volume %+v, want ConfigMap bank-bot-config read-only at %s", volumes[mounts[ConfigDir].Name], ConfigDir)
	}
	for _, path := range []string{QueueDir, "/tmp"} {
		if volumes[mounts[path].Name].EmptyDir == nil {
			t.Errorf("%s: volume %+v, want an emptyDir", path, volumes[mounts[path].Name])
		}
	}
}

func TestDesiredDeploymentSecretVolumeNames(t *testing.T) {
	cases := map[string]struct {
		secret     string
		wantPlain  bool
		wantPrefix string
	}{
		"short":                     {secret: "bank-bot-basic-auth", wantPlain: true},
		"56 characters is the most": {secret: strings.Repeat("b", 56), wantPlain: true},
		"57 characters is hashed":   {secret: strings.Repeat("b", 57), wantPrefix: "secrethash-"},
		"253 characters":            {secret: strings.Repeat("c", 253), wantPrefix: "secrethash-"},
		"dots are not in a label":   {secret: "tls.example.com", wantPrefix: "secrethash-"},
	}
	seen := map[string]string{}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			volume := SecretVolumeName(tc.secret)
			if errs := validation.IsDNS1123Label(volume); len(errs) > 0 {
				t.Errorf("%q: %v", volume, errs)
			}
			if tc.wantPlain && volume != "secret-"+tc.secret {
				t.Errorf("%q, want secret-%s", volume, tc.secret)
			}
			if !tc.wantPlain && !strings.HasPrefix(volume, tc.wantPrefix) {
				t.Errorf("%q, want prefix %s", volume, tc.wantPrefix)
			}
			if SecretVolumeName(tc.secret) != volume {
				t.Error("not stable")
			}
		})
		if other, ok := seen[SecretVolumeName(tc.secret)]; ok {
			t.Errorf("Secrets %s and %s share a volume name", other, tc.secret)
		}
		seen[SecretVolumeName(tc.secret)] = tc.secret
	}
}

func TestDesiredDeploymentPodTemplate(t *testing.T) {
	tolerations := []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "bots", Effect: corev1.TaintEffectNoSchedule}}
	affinity := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
			Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"},
		}}}},
	}}}
	spread := []corev1.TopologySpreadConstraint{{
		MaxSkew: 2, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelInstance: "bank-bot"}},
	}}
	wantDefaultSpread := []corev1.TopologySpreadConstraint{
		{
			MaxSkew: 1, TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector:  &metav1.LabelSelector{MatchLabels: map[string]string{LabelName: "webhookserver", LabelInstance: "bank-bot"}},
			MatchLabelKeys: []string{"pod-template-hash"},
		},
		{
			MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector:  &metav1.LabelSelector{MatchLabels: map[string]string{LabelName: "webhookserver", LabelInstance: "bank-bot"}},
			MatchLabelKeys: []string{"pod-template-hash"},
		},
	}
	ownLabels := Labels(fixtureEndpoint())
	cases := map[string]struct {
		overrides       *fulfillmentv1alpha1.PodTemplateOverrides
		wantLabels      map[string]string
		wantAnnotations map[string]string
		wantNodes       map[string]string
		wantTolerations []corev1.Toleration
		wantAffinity    *corev1.Affinity
		wantPriority    string
		wantSpread      []corev1.TopologySpreadConstraint
	}{
		"none": {wantLabels: ownLabels, wantSpread: wantDefaultSpread},
		"metadata and scheduling": {
			overrides: &fulfillmentv1alpha1.PodTemplateOverrides{
				Metadata: &fulfillmentv1alpha1.PodMetadata{
					Labels:      map[string]string{"team": "payments", "sidecar.istio.io/inject": "false"},
					Annotations: map[string]string{"prometheus.io/scrape": "true"},
				},
				NodeSelector: map[string]string{"pool": "bots"}, Tolerations: tolerations, Affinity: affinity,
				PriorityClassName: "high", TopologySpreadConstraints: spread,
			},
			wantLabels:      fxMerged(ownLabels, map[string]string{"team": "payments", "sidecar.istio.io/inject": "false"}),
			wantAnnotations: map[string]string{"prometheus.io/scrape": "true"},
			wantNodes:       map[string]string{"pool": "bots"}, wantTolerations: tolerations, wantAffinity: affinity,
			wantPriority: "high", wantSpread: spread,
		},
		"affinity alone keeps the default spread": {
			overrides:  &fulfillmentv1alpha1.PodTemplateOverrides{Affinity: affinity},
			wantLabels: ownLabels, wantAffinity: affinity, wantSpread: wantDefaultSpread,
		},
		"labels cannot override the operator's": {
			overrides: &fulfillmentv1alpha1.PodTemplateOverrides{Metadata: &fulfillmentv1alpha1.PodMetadata{Labels: map[string]string{
				LabelInstance: "other-bot", LabelName: "evil", LabelEndpoint: "other-bot", "team": "payments",
			}}},
			wantLabels: fxMerged(ownLabels, map[string]string{"team": "payments"}), wantSpread: wantDefaultSpread,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			endpoint := fixtureEndpoint()
			if tc.overrides != nil {
				endpoint = fixtureEndpoint(fxPodTemplate(*tc.overrides))
			}
			deployment := DesiredDeployment(fxInputs(endpoint, nil, ""))
			template := deployment.Spec.Template
			checks := map[string]struct{ got, want any }{
				"labels":                    {template.Labels, tc.wantLabels},
				"annotations":               {template.Annotations, tc.wantAnnotations},
				"nodeSelector":              {template.Spec.NodeSelector, tc.wantNodes},
				"tolerations":               {template.Spec.Tolerations, tc.wantTolerations},
				"affinity":                  {template.Spec.Affinity, tc.wantAffinity},
				"priorityClassName":         {template.Spec.PriorityClassName, tc.wantPriority},
				"topologySpreadConstraints": {template.Spec.TopologySpreadConstraints, tc.wantSpread},
			}
			for field, check := range checks {
				if !reflect.DeepEqual(check.got, check.want) {
					t.Errorf("%s: %v, want %v", field, check.got, check.want)
				}
			}
			selector, _ := metav1.LabelSelectorAsSelector(deployment.Spec.Selector)
			if !selector.Matches(labels.Set(template.Labels)) {
				t.Errorf("the selector %v does not select the pod labels %v", deployment.Spec.Selector, template.Labels)
			}
		})
	}
}

func TestDesiredService(t *testing.T) {
	webhook := corev1.ServicePort{Name: "webhook", Port: 80, TargetPort: intstr.FromString("webhook"), Protocol: corev1.ProtocolTCP}
	metrics := corev1.ServicePort{Name: "metrics", Port: 9090, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP}
	cases := map[string]struct {
		endpoint        *fulfillmentv1alpha1.WebhookEndpoint
		wantType        corev1.ServiceType
		wantPorts       []corev1.ServicePort
		wantAnnotations map[string]string
	}{
		"defaults": {endpoint: fixtureEndpoint(), wantType: corev1.ServiceTypeClusterIP, wantPorts: []corev1.ServicePort{webhook, metrics}},
		"empty settings": {
			endpoint: fixtureEndpoint(fxService("", 0, nil)), wantType: corev1.ServiceTypeClusterIP, wantPorts: []corev1.ServicePort{webhook, metrics},
		},
		"ClusterIP on 443": {
			endpoint: fixtureEndpoint(fxService("ClusterIP", 443, nil)), wantType: corev1.ServiceTypeClusterIP,
			wantPorts: []corev1.ServicePort{fxWithPort(webhook, 443), metrics},
		},
		"LoadBalancer publishes the webhook only": {
			endpoint: fixtureEndpoint(fxService("LoadBalancer", 443, map[string]string{"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"})),
			wantType: corev1.ServiceTypeLoadBalancer, wantPorts: []corev1.ServicePort{fxWithPort(webhook, 443)},
			wantAnnotations: map[string]string{"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
		},
		"NodePort publishes the webhook only": {
			endpoint: fixtureEndpoint(fxService("NodePort", 0, nil)), wantType: corev1.ServiceTypeNodePort, wantPorts: []corev1.ServicePort{webhook},
		},
		"TLS on 443": {
			endpoint: fixtureEndpoint(fxTLS(fulfillmentv1alpha1.TLSModeSelfSigned)), wantType: corev1.ServiceTypeClusterIP,
			wantPorts: []corev1.ServicePort{fxWithPort(webhook, 443), metrics},
		},
		"TLS on the port set": {
			endpoint: fixtureEndpoint(fxTLS(fulfillmentv1alpha1.TLSModeSelfSigned), fxService("", 8443, nil)), wantType: corev1.ServiceTypeClusterIP,
			wantPorts: []corev1.ServicePort{fxWithPort(webhook, 8443), metrics},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			service := DesiredService(tc.endpoint)
			if service.Spec.Type != tc.wantType {
				t.Errorf("type %s, want %s", service.Spec.Type, tc.wantType)
			}
			if !reflect.DeepEqual(service.Spec.Ports, tc.wantPorts) {
				t.Errorf("ports %+v, want %+v", service.Spec.Ports, tc.wantPorts)
			}
			if !reflect.DeepEqual(service.Annotations, tc.wantAnnotations) {
				t.Errorf("annotations %v, want %v", service.Annotations, tc.wantAnnotations)
			}
			if !reflect.DeepEqual(service.Spec.Selector, SelectorLabels(tc.endpoint)) {
				t.Errorf("selector %v, want %v", service.Spec.Selector, SelectorLabels(tc.endpoint))
			}
		})
	}
}

func fxTLS(mode fulfillmentv1alpha1.TLSMode) func(*fulfillmentv1alpha1.WebhookEndpoint) {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.TLS = &fulfillmentv1alpha1.EndpointTLS{Mode: mode}
	}
}

// The URL names the Service's port: 443 for a TLS endpoint, what clients expect of https.
func TestServiceURL(t *testing.T) {
	cases := map[string]struct {
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		want     string
	}{
		"plain":         {fixtureEndpoint(), "http://bank-bot.bots.svc:80/bank-bot"},
		"TLS":           {fixtureEndpoint(fxTLS(fulfillmentv1alpha1.TLSModeSelfSigned)), "https://bank-bot.bots.svc:443/bank-bot"},
		"TLS disabled":  {fixtureEndpoint(fxTLS(fulfillmentv1alpha1.TLSModeDisabled)), "http://bank-bot.bots.svc:80/bank-bot"},
		"TLS on a port": {fixtureEndpoint(fxTLS(fulfillmentv1alpha1.TLSModeSelfSigned), fxService("", 8443, nil)), "https://bank-bot.bots.svc:8443/bank-bot"},
	}
	for name, tc := range cases {
		if got := serviceURL(tc.endpoint); got != tc.want {
			t.Errorf("%s: serviceURL = %q, want %q", name, got, tc.want)
		}
	}
}

func TestDesiredPodDisruptionBudget(t *testing.T) {
	cases := map[string]struct {
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		want     bool
	}{
		"default 2 replicas":          {fixtureEndpoint(), true},
		"3 replicas":                  {fixtureEndpoint(fxReplicas(3)), true},
		"1 replica":                   {fixtureEndpoint(fxReplicas(1)), false},
		"0 replicas":                  {fixtureEndpoint(fxReplicas(0)), false},
		"autoscaling default minimum": {fixtureEndpoint(fxReplicas(1), fxAutoscaling(nil, 5, nil)), true},
		"autoscaling from 1":          {fixtureEndpoint(fxReplicas(3), fxAutoscaling(ptr.To(int32(1)), 5, nil)), false},
		"autoscaling from 3":          {fixtureEndpoint(fxAutoscaling(ptr.To(int32(3)), 5, nil)), true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pdb := DesiredPodDisruptionBudget(tc.endpoint)
			if (pdb != nil) != tc.want {
				t.Fatalf("budget %v, want one: %v", pdb != nil, tc.want)
			}
			if pdb == nil {
				return
			}
			want := policyv1.PodDisruptionBudgetSpec{
				MaxUnavailable:             ptr.To(intstr.FromInt32(1)),
				Selector:                   &metav1.LabelSelector{MatchLabels: SelectorLabels(tc.endpoint)},
				UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
			}
			if !reflect.DeepEqual(pdb.Spec, want) {
				t.Errorf("spec %+v, want %+v", pdb.Spec, want)
			}
		})
	}
}

func TestDesiredHorizontalPodAutoscaler(t *testing.T) {
	cases := map[string]struct {
		endpoint   *fulfillmentv1alpha1.WebhookEndpoint
		wantNil    bool
		wantMin    int32
		wantMax    int32
		wantTarget int32
	}{
		"no autoscaling": {endpoint: fixtureEndpoint(fxReplicas(3)), wantNil: true},
		"defaults":       {endpoint: fixtureEndpoint(fxAutoscaling(nil, 8, nil)), wantMin: 2, wantMax: 8, wantTarget: 75},
		"explicit": {
			endpoint: fixtureEndpoint(fxAutoscaling(ptr.To(int32(3)), 10, ptr.To(int32(60)))), wantMin: 3, wantMax: 10, wantTarget: 60,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			hpa := DesiredHorizontalPodAutoscaler(tc.endpoint)
			if (hpa == nil) != tc.wantNil {
				t.Fatalf("autoscaler %v, want nil: %v", hpa, tc.wantNil)
			}
			if hpa == nil {
				return
			}
			want := autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "bank-bot"},
				MinReplicas:    ptr.To(tc.wantMin),
				MaxReplicas:    tc.wantMax,
				Metrics: []autoscalingv2.MetricSpec{{
					Type: autoscalingv2.ResourceMetricSourceType,
					Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{
						Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(tc.wantTarget),
					}},
				}},
			}
			if !reflect.DeepEqual(hpa.Spec, want) {
				t.Errorf("spec %+v, want %+v", hpa.Spec, want)
			}
		})
	}
}

func TestDesiredNetworkPolicy(t *testing.T) {
	policy := DesiredNetworkPolicy(fixtureEndpoint(), "fulfillment-system")
	if !reflect.DeepEqual(policy.Spec.PodSelector, metav1.LabelSelector{MatchLabels: SelectorLabels(fixtureEndpoint())}) {
		t.Errorf("pod selector %v, want the endpoint's pods", policy.Spec.PodSelector)
	}
	// Only ingress is restricted: routes call upstreams of their choosing.
	if want := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}; !reflect.DeepEqual(policy.Spec.PolicyTypes, want) || policy.Spec.Egress != nil {
		t.Errorf("policy types %v, egress %v, want only Ingress", policy.Spec.PolicyTypes, policy.Spec.Egress)
	}
	tcp := corev1.ProtocolTCP
	want := []networkingv1.NetworkPolicyIngressRule{
		{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(8080))}}},
		{
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(9090))}},
			From: []networkingv1.NetworkPolicyPeer{
				{PodSelector: &metav1.LabelSelector{}},
				{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"fulfillment.dev/metrics-scraper": "true"}}},
				{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "fulfillment-system"}},
					PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "fulfillment-operator"}},
				},
			},
		},
	}
	if !reflect.DeepEqual(policy.Spec.Ingress, want) {
		t.Errorf("ingress rules %+v, want %+v", policy.Spec.Ingress, want)
	}
	// In the operator's own namespace the same-namespace peer admits it already.
	if peers := DesiredNetworkPolicy(fixtureEndpoint(), fixtureEndpoint().Namespace).Spec.Ingress[1].From; len(peers) != 2 {
		t.Errorf("in the operator's namespace: peers %+v, want the two general ones", peers)
	}
}

func TestDesiredIngress(t *testing.T) {
	backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
		Name: "bank-bot", Port: networkingv1.ServiceBackendPort{Name: "webhook"},
	}}
	rule := func(host, path string) []networkingv1.IngressRule {
		return []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: path, PathType: ptr.To(networkingv1.PathTypeExact), Backend: backend}},
		}}}}
	}
	cases := map[string]struct {
		endpoint        *fulfillmentv1alpha1.WebhookEndpoint
		wantNil         bool
		wantSpec        networkingv1.IngressSpec
		wantAnnotations map[string]string
	}{
		"none": {endpoint: fixtureEndpoint(), wantNil: true},
		"host only": {
			endpoint: fixtureEndpoint(fxIngress(fulfillmentv1alpha1.IngressSettings{Host: "bot.example.com"})),
			wantSpec: networkingv1.IngressSpec{Rules: rule("bot.example.com", "/bank-bot")},
		},
		"default path": {
			endpoint: fixtureEndpoint(fxPath(""), fxIngress(fulfillmentv1alpha1.IngressSettings{Host: "bot.example.com"})),
			wantSpec: networkingv1.IngressSpec{Rules: rule("bot.example.com", "/webhook")},
		},
		"class, TLS and annotations": {
			endpoint: fixtureEndpoint(fxIngress(fulfillmentv1alpha1.IngressSettings{
				Host: "bot.example.com", ClassName: "nginx", TLSSecretName: "bot-example-com-tls",
				Annotations: map[string]string{"cert-manager.io/cluster-issuer": "letsencrypt"},
			})),
			wantSpec: networkingv1.IngressSpec{
				IngressClassName: ptr.To("nginx"),
				TLS:              []networkingv1.IngressTLS{{Hosts: []string{"bot.example.com"}, SecretName: "bot-example-com-tls"}},
				Rules:            rule("bot.example.com", "/bank-bot"),
			},
			wantAnnotations: map[string]string{"cert-manager.io/cluster-issuer": "letsencrypt"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ingress := DesiredIngress(tc.endpoint)
			if (ingress == nil) != tc.wantNil {
				t.Fatalf("ingress %v, want nil: %v", ingress, tc.wantNil)
			}
			if ingress == nil {
				return
			}
			if !reflect.DeepEqual(ingress.Spec, tc.wantSpec) {
				t.Errorf("spec %+v, want %+v", ingress.Spec, tc.wantSpec)
			}
			if !reflect.DeepEqual(ingress.Annotations, tc.wantAnnotations) {
				t.Errorf("annotations %v, want %v", ingress.Annotations, tc.wantAnnotations)
			}
		})
	}
}

func TestDesiredHTTPRoute(t *testing.T) {
	rules := func(path string, port int64) []any {
		return []any{map[string]any{
			"matches":     []any{map[string]any{"path": map[string]any{"type": "Exact", "value": path}}},
			"backendRefs": []any{map[string]any{"name": "bank-bot", "port": port}},
		}}
	}
	cases := map[string]struct {
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		wantNil  bool
		wantSpec map[string]any
	}{
		"none": {endpoint: fixtureEndpoint(), wantNil: true},
		"a gateway": {
			endpoint: fixtureEndpoint(fxHTTPRoute(fulfillmentv1alpha1.HTTPRouteSettings{
				ParentRefs: []fulfillmentv1alpha1.ParentReference{{Name: "public"}},
			})),
			wantSpec: map[string]any{"parentRefs": []any{map[string]any{"name": "public"}}, "rules": rules("/bank-bot", 80)},
		},
		"every parent field, hostnames and a service port": {
			endpoint: fixtureEndpoint(fxService("ClusterIP", 8443, nil), fxHTTPRoute(fulfillmentv1alpha1.HTTPRouteSettings{
				ParentRefs: []fulfillmentv1alpha1.ParentReference{
					{Name: "public", Namespace: ptr.To("gateways"), SectionName: ptr.To("https"), Port: ptr.To(int32(443)),
						Group: ptr.To("gateway.networking.k8s.io"), Kind: ptr.To("Gateway")},
					{Name: "internal"},
				},
				Hostnames: []string{"bot.example.com", "*.bots.example.com"},
			})),
			wantSpec: map[string]any{
				"parentRefs": []any{
					map[string]any{"name": "public", "namespace": "gateways", "sectionName": "https", "port": int64(443),
						"group": "gateway.networking.k8s.io", "kind": "Gateway"},
					map[string]any{"name": "internal"},
				},
				"hostnames": []any{"bot.example.com", "*.bots.example.com"},
				"rules":     rules("/bank-bot", 8443),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			route := DesiredHTTPRoute(tc.endpoint)
			if (route == nil) != tc.wantNil {
				t.Fatalf("route %v, want nil: %v", route, tc.wantNil)
			}
			if route == nil {
				return
			}
			spec, _, _ := unstructured.NestedMap(route.Object, "spec")
			if !reflect.DeepEqual(spec, tc.wantSpec) {
				t.Errorf("spec %#v, want %#v", spec, tc.wantSpec)
			}
			// Unstructured content must survive a deep copy (only JSON types).
			if copied := route.DeepCopy(); !reflect.DeepEqual(copied, route) {
				t.Error("the route does not deep-copy to itself")
			}
		})
	}
}

func TestReferencedSecrets(t *testing.T) {
	cases := map[string]struct {
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		routes   []fulfillmentv1alpha1.IntentRoute
		want     []string
	}{
		"basic auth": {endpoint: fixtureEndpoint(), want: []string{"bank-bot-basic-auth"}},
		"every kind, sorted and unique": {
			endpoint: fixtureEndpoint(fxGenericEvents()),
			routes: []fulfillmentv1alpha1.IntentRoute{
				fixtureRoute("ship", fxCall("shipping-token/token", "redis-url/url")),
				fixtureRoute("bill", fxCall("billing-token/token", "shipping-token/other")),
				fixtureRoute("hello"),
			},
			// events-tls is the serving certificate, mounted on its own.
			want: []string{"bank-bot-hmac", "billing-token", "events-token", "partner-ca", "redis-url", "shipping-token"},
		},
		"a referenced HMAC Secret": {
			endpoint: fixtureEndpoint(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
				e.Spec.Dialect, e.Spec.Auth = fulfillmentv1alpha1.DialectGeneric, fulfillmentv1alpha1.EndpointAuth{HMAC: &fulfillmentv1alpha1.HMACAuth{
					Scheme: fulfillmentv1alpha1.HMACSchemeGitHub, SecretRef: &fulfillmentv1alpha1.LocalObjectReference{Name: "github-webhook"},
				}}
			}),
			want: []string{"github-webhook"},
		},
		"token introspection's client credentials": {
			endpoint: fixtureEndpoint(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
				e.Spec.Auth = fulfillmentv1alpha1.EndpointAuth{OAuth2: &fulfillmentv1alpha1.EndpointOAuth2{
					Introspection: fulfillmentv1alpha1.TokenIntrospection{URL: "https://auth.example.com/introspect",
						SecretRef: fulfillmentv1alpha1.LocalObjectReference{Name: "introspection-client"}},
				}}
			}),
			want: []string{"introspection-client"},
		},
		"no secret at all": {
			endpoint: fixtureEndpoint(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
				e.Spec.Auth = fulfillmentv1alpha1.EndpointAuth{AllowUnauthenticated: true}
			}),
			want: nil,
		},
		"a client CA that mutual TLS does not use": {
			endpoint: fixtureEndpoint(fxGenericEvents(), func(e *fulfillmentv1alpha1.WebhookEndpoint) {
				e.Spec.TLS.ClientAuth.Mode = fulfillmentv1alpha1.ClientAuthNone
			}),
			want: []string{"bank-bot-hmac", "events-token", "redis-url"},
		},
		"optional mutual TLS reads the CA": {
			endpoint: fixtureEndpoint(fxGenericEvents(), func(e *fulfillmentv1alpha1.WebhookEndpoint) {
				e.Spec.TLS.ClientAuth.Mode = fulfillmentv1alpha1.ClientAuthOptional
			}),
			want: []string{"bank-bot-hmac", "events-token", "partner-ca", "redis-url"},
		},
		"a Redis URL nobody connects to": {
			endpoint: fixtureEndpoint(fxGenericEvents(), func(e *fulfillmentv1alpha1.WebhookEndpoint) {
				e.Spec.Idempotency.Store = fulfillmentv1alpha1.IdempotencyStoreMemory
				e.Spec.Delivery.Queue = fulfillmentv1alpha1.QueueLocal
			}),
			want: []string{"bank-bot-hmac", "events-token", "partner-ca"},
		},
		"a Redis queue alone": {
			endpoint: fixtureEndpoint(fxGenericEvents(), func(e *fulfillmentv1alpha1.WebhookEndpoint) {
				e.Spec.Idempotency = nil
			}),
			want: []string{"bank-bot-hmac", "events-token", "partner-ca", "redis-url"},
		},
		"a Redis store that is disabled": {
			endpoint: fixtureEndpoint(fxGenericEvents(), func(e *fulfillmentv1alpha1.WebhookEndpoint) {
				e.Spec.Idempotency.Enabled = false
				e.Spec.Delivery = nil
			}),
			want: []string{"bank-bot-hmac", "events-token", "partner-ca"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := ReferencedSecrets(tc.endpoint, tc.routes); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ReferencedSecrets = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRenderConfigParsesBack(t *testing.T) {
	cases := map[string]struct {
		endpoint   *fulfillmentv1alpha1.WebhookEndpoint
		routes     []fulfillmentv1alpha1.IntentRoute
		wantRoutes []string
	}{
		"Dialogflow ES with routes": {
			endpoint: fixtureEndpoint(fxReplicas(3), fxIngress(fulfillmentv1alpha1.IngressSettings{Host: "bot.example.com"})),
			routes: []fulfillmentv1alpha1.IntentRoute{
				fixtureRoute("welcome"), fixtureRoute("balance", fxCall("bank-api-token/token"), fxPriority(10)), fixtureRoute("bye"),
			},
			wantRoutes: []string{"balance", "bye", "welcome"},
		},
		"Generic events with every reference": {
			endpoint: fixtureEndpoint(fxGenericEvents(), fxAutoscaling(nil, 4, nil), fxPodTemplate(fulfillmentv1alpha1.PodTemplateOverrides{
				Metadata: &fulfillmentv1alpha1.PodMetadata{Labels: map[string]string{"team": "payments"}},
			})),
			routes: []fulfillmentv1alpha1.IntentRoute{fixtureRoute("paid", func(r *fulfillmentv1alpha1.IntentRoute) {
				r.Spec.Match = fulfillmentv1alpha1.RouteMatch{Events: []string{"invoice.paid"}, When: `request.data.amount > 100`}
				r.Spec.Respond = &fulfillmentv1alpha1.RespondAction{Payload: &apiextensionsv1.JSON{Raw: []byte(`{"ok":true,"id":"${request.id}"}`)}}
			})},
			wantRoutes: []string{"paid"},
		},
		"no routes": {endpoint: fixtureEndpoint()},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			data, hash, err := RenderConfig(tc.endpoint, tc.routes, nil)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if hash != hex.EncodeToString(sum[:]) {
				t.Errorf("hash %s is not the SHA-256 of the content", hash)
			}
			file, err := config.ParseFile("config.yaml", data)
			if err != nil {
				t.Fatalf("the server refuses the rendered configuration: %v\n%s", err, data)
			}
			if dir := filepath.Join(ConfigDir, file.SecretsDir); dir != SecretsDir || len(file.Endpoints) != 1 {
				t.Fatalf("secretsDir %q (%s from the config file), %d endpoints; want %s and 1", file.SecretsDir, dir,
					len(file.Endpoints), SecretsDir)
			}
			got := file.Endpoints[0]
			if got.Name != tc.endpoint.Name || got.Namespace != tc.endpoint.Namespace {
				t.Errorf("endpoint %s/%s, want %s/%s", got.Namespace, got.Name, tc.endpoint.Namespace, tc.endpoint.Name)
			}
			if got.Spec.Dialect != tc.endpoint.Spec.Dialect || got.Spec.Path != tc.endpoint.Spec.Path ||
				!reflect.DeepEqual(got.Spec.Timeout, tc.endpoint.Spec.Timeout) {
				t.Errorf("dialect, path, timeout %s %s %v, want %s %s %v", got.Spec.Dialect, got.Spec.Path, got.Spec.Timeout,
					tc.endpoint.Spec.Dialect, tc.endpoint.Spec.Path, tc.endpoint.Spec.Timeout)
			}
			if got.Spec.Ingress != nil || got.Spec.Autoscaling != nil || got.Spec.PodTemplate != nil {
				t.Errorf("scaling and exposure fields rendered: %+v", got.Spec)
			}
			// The server reads the same Secrets from the file as the operator mounts.
			parsed := &fulfillmentv1alpha1.WebhookEndpoint{ObjectMeta: metav1.ObjectMeta{Name: got.Name}, Spec: got.Spec}
			var parsedRoutes []fulfillmentv1alpha1.IntentRoute
			var names []string
			want := map[string]fulfillmentv1alpha1.IntentRoute{}
			for _, route := range tc.routes {
				want[route.Name] = route
			}
			for _, route := range got.Routes {
				names = append(names, route.Name)
				parsedRoutes = append(parsedRoutes, fulfillmentv1alpha1.IntentRoute{Spec: route.Spec})
				original := want[route.Name]
				if !route.Created.Equal(&original.CreationTimestamp) || route.Spec.Priority != original.Spec.Priority {
					t.Errorf("route %s: created %v priority %d, want %v %d", route.Name, route.Created, route.Spec.Priority,
						original.CreationTimestamp, original.Spec.Priority)
				}
			}
			if !reflect.DeepEqual(names, tc.wantRoutes) {
				t.Errorf("routes %v, want %v", names, tc.wantRoutes)
			}
			if a, b := ReferencedSecrets(parsed, parsedRoutes), ReferencedSecrets(tc.endpoint, tc.routes); !reflect.DeepEqual(a, b) {
				t.Errorf("the rendered file reads Secrets %v, the endpoint and routes %v", a, b)
			}
		})
	}
}

func TestRenderConfigHashFollowsWhatTheServerReads(t *testing.T) {
	routes := []fulfillmentv1alpha1.IntentRoute{fixtureRoute("welcome"), fixtureRoute("balance", fxCall("bank-api-token/token"))}
	_, base, err := RenderConfig(fixtureEndpoint(), routes, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		endpoint   *fulfillmentv1alpha1.WebhookEndpoint
		routes     []fulfillmentv1alpha1.IntentRoute
		wantChange bool
	}{
		"scaled":    {endpoint: fixtureEndpoint(fxReplicas(5)), routes: routes},
		"suspended": {endpoint: fixtureEndpoint(fxSuspend()), routes: routes},
		"exposed": {
			endpoint: fixtureEndpoint(fxIngress(fulfillmentv1alpha1.IngressSettings{Host: "bot.example.com"}), fxService("LoadBalancer", 443, nil)),
			routes:   routes,
		},
		"routes reordered": {endpoint: fixtureEndpoint(), routes: []fulfillmentv1alpha1.IntentRoute{routes[1], routes[0]}},
		"a route added": {
			endpoint: fixtureEndpoint(), routes: append([]fulfillmentv1alpha1.IntentRoute{fixtureRoute("bye")}, routes...), wantChange: true,
		},
		"a route changed": {
			endpoint: fixtureEndpoint(), routes: []fulfillmentv1alpha1.IntentRoute{fixtureRoute("welcome", fxPriority(5)), routes[1]}, wantChange: true,
		},
		"the path changed": {endpoint: fixtureEndpoint(fxPath("/bank")), routes: routes, wantChange: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, hash, err := RenderConfig(tc.endpoint, tc.routes, nil)
			if err != nil {
				t.Fatal(err)
			}
			if changed := hash != base; changed != tc.wantChange {
				t.Errorf("hash changed: %v, want %v", changed, tc.wantChange)
			}
		})
	}
}

func TestRenderConfigLeavesItsInputsAlone(t *testing.T) {
	endpoint := fixtureEndpoint(fxReplicas(3), fxAutoscaling(nil, 5, nil))
	routes := []fulfillmentv1alpha1.IntentRoute{fixtureRoute("b"), fixtureRoute("a")}
	endpointBefore, routesBefore := endpoint.DeepCopy(), []fulfillmentv1alpha1.IntentRoute{*routes[0].DeepCopy(), *routes[1].DeepCopy()}
	if _, _, err := RenderConfig(endpoint, routes, nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(endpoint, endpointBefore) || !reflect.DeepEqual(routes, routesBefore) {
		t.Error("RenderConfig changed the endpoint or the routes it was given")
	}
}

// TestDesiredObjectsAreDeterministic builds everything twice from equal inputs listed in other orders (maps are
// iterated in random order, so repeated builds exercise that too): the reconciler's quiet steady state depends
// on deep-equal objects and identical bytes.
func TestDesiredObjectsAreDeterministic(t *testing.T) {
	build := func(seed int64) []any {
		many := map[string]string{}
		for i := 0; i < 20; i++ {
			many["fulfillment.dev/key-"+string(rune('a'+i))] = "v"
		}
		endpoint := fixtureEndpoint(fxGenericEvents(), fxAutoscaling(ptr.To(int32(3)), 9, nil),
			fxService("ClusterIP", 443, many),
			fxIngress(fulfillmentv1alpha1.IngressSettings{Host: "bot.example.com", Annotations: many}),
			fxPodTemplate(fulfillmentv1alpha1.PodTemplateOverrides{
				Metadata:     &fulfillmentv1alpha1.PodMetadata{Labels: many, Annotations: many},
				NodeSelector: many,
			}))
		routes := []fulfillmentv1alpha1.IntentRoute{
			fixtureRoute("a", fxCall("token-a/token")), fixtureRoute("b", fxCall("token-b/token", "token-a/other")),
			fixtureRoute("c"), fixtureRoute("d", fxPriority(3)), fixtureRoute("e", fxCall("token-e/token")),
		}
		rand.New(rand.NewSource(seed)).Shuffle(len(routes), func(i, j int) { routes[i], routes[j] = routes[j], routes[i] })
		data, hash, err := RenderConfig(endpoint, routes, nil)
		if err != nil {
			t.Fatal(err)
		}
		secrets := ReferencedSecrets(endpoint, routes)
		shuffled := append([]string(nil), secrets...)
		rand.New(rand.NewSource(seed)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		return []any{
			string(data), hash, secrets,
			DesiredServiceAccount(endpoint), DesiredConfigMap(endpoint, data, hash),
			DesiredDeployment(DeploymentInputs{Endpoint: endpoint, Image: fxImage, Secrets: shuffled, TLSSecretName: "events-tls"}),
			DesiredService(endpoint), DesiredPodDisruptionBudget(endpoint), DesiredHorizontalPodAutoscaler(endpoint),
			DesiredNetworkPolicy(endpoint, ""), DesiredIngress(endpoint),
			DesiredHTTPRoute(fixtureEndpoint(fxHTTPRoute(fulfillmentv1alpha1.HTTPRouteSettings{
				ParentRefs: []fulfillmentv1alpha1.ParentReference{{Name: "public", Namespace: ptr.To("gw"), SectionName: ptr.To("https")}},
				Hostnames:  []string{"a.example.com", "b.example.com"},
			}))),
		}
	}
	first := build(1)
	for seed := int64(2); seed < 12; seed++ {
		again := build(seed)
		for i := range first {
			if !reflect.DeepEqual(first[i], again[i]) {
				t.Fatalf("object %d (%T) differs between two builds from equal inputs:\n%#v\n%#v", i, first[i], first[i], again[i])
			}
		}
	}
}

func fxPtr[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func fxSameSet(a, b []string) bool {
	return len(a) == len(b) && reflect.DeepEqual(sortedUnique(a), sortedUnique(b))
}

func fxMerged(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func fxWithPort(port corev1.ServicePort, number int32) corev1.ServicePort {
	port.Port = number
	return port
}
