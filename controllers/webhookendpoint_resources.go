package controllers

// The objects the WebhookEndpoint reconciler applies, built as pure functions: no API calls, no clock, and the
// same inputs give deep-equal objects (maps become sorted slices), so that a steady state applies nothing new.
//
// Decisions, for the reader who wonders why:
//
//   - Configuration changes do not roll the pods. The server watches its ConfigMap and mounted Secrets and
//     reloads in place without failing a request (an invalid configuration is refused and the previous one keeps
//     serving), so the hash of the rendered configuration goes on the Deployment's own annotations, for
//     observability, and not on the pod template. What the server cannot reload (the set of mounted Secrets, TLS
//     on or off) changes the pod template's volumes and arguments anyway, which rolls the pods by itself. So
//     does tracing (spec.observability.tracing): the OpenTelemetry SDK reads its OTEL_* variables once, at start.
//   - Secret volumes use mode 0440: the files belong to root and the group fsGroup (65532), and the server runs as
//     65532, so group read is what makes them readable; nobody else may read them. 0400 would leave them to root.
//   - Local queues live in an emptyDir: they survive a container restart, not the deletion of the pod. A
//     PersistentVolumeClaim per pod (a StatefulSet) is future work; Redis queues are the durable choice today.
//   - Without spread constraints of their own, pods are spread over nodes and zones with ScheduleAnyway: a
//     single-node cluster still runs every replica, and a rollout's surge pod is never left pending.
//   - The Service exposes the metrics port only when it is a ClusterIP Service, so that a NodePort or
//     LoadBalancer never publishes metrics. Dead-letter operations are served on the server's admin listener,
//     on the pod's loopback only (kubectl exec or port-forward), never on a Service port.
//   - The NetworkPolicy opens the webhook port to everyone (callers are external platforms; authentication is
//     the server's job) and the metrics port to the namespace and to namespaces labelled
//     fulfillment.dev/metrics-scraper: "true". Egress is not restricted: calls and forwards go to upstreams the
//     routes choose, which the server guards (no link-local or metadata addresses).

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

// LabelMetricsScraper on a namespace lets its pods (Prometheus) reach the metrics port of every endpoint.
const LabelMetricsScraper = "fulfillment.dev/metrics-scraper"

// Names of the container, its ports, and the defaults of the fulfillment pods.
const (
	containerName     = "webhookserver"
	webhookPortName   = "webhook"
	metricsPortName   = "metrics"
	defaultPath       = "/webhook"
	defaultReplicas   = int32(2)
	defaultMinReplica = int32(2)
	defaultCPUTarget  = int32(75)
	defaultSvcPort    = int32(80)
	defaultTLSSvcPort = int32(443)
	// runAsID is the nonroot user and group of distroless images.
	runAsID = int64(65532)
	// shutdownDelay keeps a terminating pod serving while load balancers forget it; shutdownTimeout drains
	// in-flight requests. The grace period covers both with a margin, so SIGKILL never cuts a request.
	shutdownDelay          = "5s"
	shutdownTimeout        = "30s"
	terminationGracePeriod = int64(45)
	// secretFileMode is group-readable only: the files belong to the fsGroup, the server runs in it.
	secretFileMode = int32(0o440)
	configFileMode = int32(0o444)
)

// Volume names. Secret volumes are secretVolumePrefix+<secret name> when that is a DNS label, else
// hashedSecretVolumePrefix+<hash of the name>: the two prefixes differ at their 7th character, so a plain name
// and a hashed one never meet.
const (
	configVolume             = "config"
	tlsVolume                = "tls"
	queueVolume              = "queue"
	tmpVolume                = "tmp"
	secretCopiesVolume       = "gateway-secrets"
	secretVolumePrefix       = "secret-"
	hashedSecretVolumePrefix = "secrethash-"
	// ConfigMaps routes read are mounted as volumes named like Secrets'.
	configMapVolumePrefix       = "configmap-"
	hashedConfigMapVolumePrefix = "configmaphash-"
)

var endpointGVK = fulfillmentv1alpha1.GroupVersion.WithKind("WebhookEndpoint")

// RenderConfig renders the endpoint, the accepted routes it serves and the pods being retired (drainPods, see
// planRetirement) into the content of the ConfigMap <endpoint>-config, and the hex SHA-256 of that content. The same endpoint and routes, in any order, give the
// same bytes. The endpoint's scaling and exposure fields are left out: the server never reads them, so scaling
// or exposing an endpoint neither changes the hash nor makes the pods reload.
func RenderConfig(endpoint *fulfillmentv1alpha1.WebhookEndpoint, routes []fulfillmentv1alpha1.IntentRoute, drainPods []string) ([]byte, string, error) {
	spec := endpoint.Spec.DeepCopy()
	spec.Replicas, spec.Autoscaling, spec.Resources, spec.PodTemplate = nil, nil, nil, nil
	spec.Service, spec.Ingress, spec.HTTPRoute, spec.Suspend, spec.GatewayRef = nil, nil, nil, false, nil
	if spec.Delivery != nil {
		spec.Delivery.Storage = nil
	}
	rendered := configfile.Endpoint{Name: endpoint.Name, Namespace: endpoint.Namespace, Spec: *spec}
	for i := range routes {
		rendered.Routes = append(rendered.Routes, configfile.Route{
			Name:    routes[i].Name,
			Created: routes[i].CreationTimestamp,
			Spec:    *routes[i].Spec.DeepCopy(),
		})
	}
	file := &configfile.File{Header: configfile.Header{SecretsDir: ConfigSecretsDir, Admitted: true}, DrainPods: sortedUnique(drainPods),
		Endpoints: []configfile.Endpoint{rendered}}
	if len(ReferencedConfigMaps(routes)) > 0 {
		// Named only when used, so that the configuration (and its hash) of other endpoints is unchanged.
		file.ConfigMapsDir = ConfigConfigMapsDir
	}
	data, err := configfile.Render(file)
	if err != nil {
		return nil, "", fmt.Errorf("rendering the configuration of %s: %w", endpoint.Name, err)
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:]), nil
}

// ReferencedSecrets are the Secrets the server reads for the endpoint and its routes, sorted and unique: basic
// auth, bearer, token introspection's client credentials, HMAC (referenced or generated), the client CA when mutual TLS is on, the Redis URL when a Redis
// store or queue is used, and the call headers' valueFrom. Each is mounted in the pods, so a reference the
// server would not read (a client CA with clientAuth mode None) is left out: it must not keep pods from
// starting. The serving certificate is not listed: it is mounted on its own.
func ReferencedSecrets(endpoint *fulfillmentv1alpha1.WebhookEndpoint, routes []fulfillmentv1alpha1.IntentRoute) []string {
	var names []string
	spec := &endpoint.Spec
	if spec.Auth.Basic != nil {
		names = append(names, spec.Auth.Basic.SecretRef.Name)
	}
	if spec.Auth.Bearer != nil {
		names = append(names, spec.Auth.Bearer.SecretRef.Name)
	}
	if spec.Auth.OAuth2 != nil {
		names = append(names, spec.Auth.OAuth2.Introspection.SecretRef.Name)
	}
	if name := HMACSecretName(endpoint); name != "" {
		names = append(names, name)
	}
	if tls := spec.TLS; tls != nil && tls.ClientAuth != nil && tls.ClientAuth.CASecretRef != nil &&
		tls.ClientAuth.Mode != "" && tls.ClientAuth.Mode != fulfillmentv1alpha1.ClientAuthNone {
		names = append(names, tls.ClientAuth.CASecretRef.Name)
	}
	if spec.Redis != nil && spec.Redis.URLSecretRef != nil && usesRedis(spec) {
		names = append(names, spec.Redis.URLSecretRef.Name)
	}
	for i := range routes {
		names = append(names, routeSecrets(&routes[i])...)
	}
	return sortedUnique(names)
}

// ReferencedConfigMaps are the ConfigMaps the routes read (CA bundles), sorted and unique: each is mounted in
// the pods at <ConfigMapsDir>/<name>, where the kubelet updates it and the server reloads it.
func ReferencedConfigMaps(routes []fulfillmentv1alpha1.IntentRoute) []string {
	var names []string
	for i := range routes {
		for _, req := range RouteConfigMapRequirements(&routes[i]) {
			names = append(names, req.ConfigMap)
		}
	}
	return sortedUnique(names)
}

// usesRedis reports whether the server connects to spec.redis: a Redis idempotency store that is enabled, or a
// Redis queue of Async delivery.
func usesRedis(spec *fulfillmentv1alpha1.WebhookEndpointSpec) bool {
	if i := spec.Idempotency; i != nil && i.Enabled && i.Store == fulfillmentv1alpha1.IdempotencyStoreRedis {
		return true
	}
	d := spec.Delivery
	return d != nil && d.Mode == fulfillmentv1alpha1.DeliveryAsync && d.Queue == fulfillmentv1alpha1.QueueRedis
}

// DeploymentInputs is what the fulfillment Deployment is built from besides the endpoint.
type DeploymentInputs struct {
	Endpoint *fulfillmentv1alpha1.WebhookEndpoint
	// Image of the webhookserver container.
	Image string
	// Secrets mounted at <SecretsDir>/<name>, usually ReferencedSecrets.
	Secrets []string
	// SecretCopies is a gateway's Secret of copies of its members' Secrets, mounted at SecretCopiesDir; "" for
	// an endpoint's pods.
	SecretCopies string
	// ConfigMaps mounted at <ConfigMapsDir>/<name>, usually ReferencedConfigMaps.
	ConfigMaps []string
	// TLSSecretName is the serving certificate mounted at TLSDir; "" when tls.mode is Disabled.
	TLSSecretName string
}

// DesiredServiceAccount is the endpoint's ServiceAccount. The server never calls the API server, so no token is
// mounted.
func DesiredServiceAccount(endpoint *fulfillmentv1alpha1.WebhookEndpoint) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:                     metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta:                   objectMeta(endpoint, endpoint.Name),
		AutomountServiceAccountToken: ptr.To(false),
	}
}

// DesiredConfigMap is <endpoint>-config holding data, the output of RenderConfig, at ConfigKey.
func DesiredConfigMap(endpoint *fulfillmentv1alpha1.WebhookEndpoint, data []byte, hash string) *corev1.ConfigMap {
	configMap := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: objectMeta(endpoint, ConfigMapName(endpoint)),
		Data:       map[string]string{ConfigKey: string(data)},
	}
	configMap.Annotations = map[string]string{AnnotationConfigHash: hash}
	return configMap
}

// DesiredDeployment is the hardened fulfillment Deployment: non-root, read-only root file system, no privilege
// escalation, no capabilities, RuntimeDefault seccomp, no service-account token. It rolls one surge pod at a
// time and never takes a serving pod away before its replacement is ready.
func DesiredDeployment(in DeploymentInputs) *appsv1.Deployment {
	endpoint := in.Endpoint
	spec := &endpoint.Spec
	deployment := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: objectMeta(endpoint, endpoint.Name),
		Spec: appsv1.DeploymentSpec{
			Replicas: deploymentReplicas(spec),
			Selector: &metav1.LabelSelector{MatchLabels: SelectorLabels(endpoint)},
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)),
					MaxSurge:       ptr.To(intstr.FromInt32(1)),
				},
			},
			Template: podTemplate(in),
		},
	}
	return deployment
}

// deploymentReplicas is 0 when suspended, nil under autoscaling (the HorizontalPodAutoscaler owns the count),
// else spec.replicas (default 2).
func deploymentReplicas(spec *fulfillmentv1alpha1.WebhookEndpointSpec) *int32 {
	switch {
	case spec.Suspend:
		return ptr.To(int32(0))
	case spec.Autoscaling != nil:
		return nil
	case spec.Replicas != nil:
		return ptr.To(*spec.Replicas)
	default:
		return ptr.To(defaultReplicas)
	}
}

func podTemplate(in DeploymentInputs) corev1.PodTemplateSpec {
	endpoint := in.Endpoint
	overrides := endpoint.Spec.PodTemplate
	if overrides == nil {
		overrides = &fulfillmentv1alpha1.PodTemplateOverrides{}
	}
	labels := Labels(endpoint)
	var annotations map[string]string
	if meta := overrides.Metadata; meta != nil {
		// The operator's labels win: they select the pods.
		for key, value := range meta.Labels {
			if _, own := labels[key]; !own {
				labels[key] = value
			}
		}
		if len(meta.Annotations) > 0 {
			annotations = make(map[string]string, len(meta.Annotations))
			for key, value := range meta.Annotations {
				annotations[key] = value
			}
		}
	}
	volumes, mounts := podVolumes(in)
	pod := corev1.PodSpec{
		ServiceAccountName:            endpoint.Name,
		AutomountServiceAccountToken:  ptr.To(false),
		EnableServiceLinks:            ptr.To(false),
		TerminationGracePeriodSeconds: ptr.To(terminationGracePeriod),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			RunAsUser:      ptr.To(runAsID),
			RunAsGroup:     ptr.To(runAsID),
			FSGroup:        ptr.To(runAsID),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{serverContainer(in, mounts)},
		Volumes:    volumes,
	}
	pod.NodeSelector = copyStringMap(overrides.NodeSelector)
	for i := range overrides.Tolerations {
		pod.Tolerations = append(pod.Tolerations, *overrides.Tolerations[i].DeepCopy())
	}
	if overrides.Affinity != nil {
		pod.Affinity = overrides.Affinity.DeepCopy()
	}
	pod.PriorityClassName = overrides.PriorityClassName
	for i := range overrides.TopologySpreadConstraints {
		pod.TopologySpreadConstraints = append(pod.TopologySpreadConstraints, *overrides.TopologySpreadConstraints[i].DeepCopy())
	}
	if len(pod.TopologySpreadConstraints) == 0 {
		pod.TopologySpreadConstraints = defaultSpread(endpoint)
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
		Spec:       pod,
	}
}

// defaultSpread spreads an endpoint's pods over nodes, then zones, as a preference (ScheduleAnyway). Counting
// per pod-template-hash keeps a rollout's new pods spread among themselves.
func defaultSpread(endpoint *fulfillmentv1alpha1.WebhookEndpoint) []corev1.TopologySpreadConstraint {
	var constraints []corev1.TopologySpreadConstraint
	for _, key := range []string{corev1.LabelHostname, corev1.LabelTopologyZone} {
		constraints = append(constraints, corev1.TopologySpreadConstraint{
			MaxSkew:           1,
			TopologyKey:       key,
			WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector:     &metav1.LabelSelector{MatchLabels: SelectorLabels(endpoint)},
			MatchLabelKeys:    []string{appsv1.DefaultDeploymentUniqueLabelKey},
		})
	}
	return constraints
}

func serverContainer(in DeploymentInputs, mounts []corev1.VolumeMount) corev1.Container {
	args := []string{
		"serve",
		"--config", ConfigFile,
		"--listen", fmt.Sprintf(":%d", WebhookPort),
		"--metrics-listen", fmt.Sprintf(":%d", MetricsPort),
		// Dead-letter operations, on the pod's loopback only: kubectl exec or port-forward reach them.
		"--admin-listen", fmt.Sprintf("127.0.0.1:%d", AdminPort),
		"--shutdown-delay", shutdownDelay,
		"--shutdown-timeout", shutdownTimeout,
		"--queue-dir", QueueDir,
	}
	if in.TLSSecretName != "" {
		args = append(args, "--tls-cert-file", TLSDir+"/"+corev1.TLSCertKey, "--tls-key-file", TLSDir+"/"+corev1.TLSPrivateKeyKey)
	}
	return corev1.Container{
		Name:  containerName,
		Image: in.Image,
		// The image's entrypoint is the operator (Dockerfile): the fulfillment server is named explicitly.
		Command: []string{ServerCommand},
		Args:    args,
		Ports: []corev1.ContainerPort{
			{Name: webhookPortName, ContainerPort: WebhookPort, Protocol: corev1.ProtocolTCP},
			{Name: metricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP},
		},
		Env: append([]corev1.EnvVar{{
			// The server sets its Go memory limit to 90% of the container's, so that it collects harder near the
			// limit and leaves room for what the Go runtime does not count, instead of being killed at it.
			Name: MemoryLimitEnv,
			ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
				ContainerName: containerName,
				Resource:      "limits.memory",
				Divisor:       resource.MustParse("1"),
			}},
		}, {
			// The server finds itself among the pods the configuration retires (drainPods).
			Name:      PodNameEnv,
			ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
		}}, tracingEnv(in.Endpoint)...),
		Resources:      containerResources(in.Endpoint),
		VolumeMounts:   mounts,
		ReadinessProbe: httpProbe("/readyz", 5, 2),
		LivenessProbe:  httpProbe("/healthz", 10, 3),
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			RunAsNonRoot:             ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}

// httpProbe checks path on the metrics port, which stays plain HTTP when the webhook serves HTTPS.
func httpProbe(path string, period, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path:   path,
			Port:   intstr.FromString(metricsPortName),
			Scheme: corev1.URISchemeHTTP,
		}},
		TimeoutSeconds:   2,
		PeriodSeconds:    period,
		SuccessThreshold: 1,
		FailureThreshold: failures,
	}
}

// containerResources are spec.resources, else small requests and a memory limit (no CPU limit: throttling
// would break deadlines under bursts).
func containerResources(endpoint *fulfillmentv1alpha1.WebhookEndpoint) corev1.ResourceRequirements {
	if endpoint.Spec.Resources != nil {
		return *endpoint.Spec.Resources.DeepCopy()
	}
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("50m"),
			corev1.ResourceMemory: resource.MustParse("64Mi"),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceMemory: resource.MustParse("128Mi"),
		},
	}
}

// podVolumes are the volumes and mounts, each sorted by name: the configuration, each Secret, the serving
// certificate, the Local queues and /tmp (the root file system is read-only).
func podVolumes(in DeploymentInputs) ([]corev1.Volume, []corev1.VolumeMount) {
	volumes := []corev1.Volume{
		{Name: configVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName(in.Endpoint)},
			DefaultMode:          ptr.To(configFileMode),
		}}},
		{Name: queueVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: tmpVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
			SizeLimit: ptr.To(resource.MustParse("64Mi")),
		}}},
	}
	mounts := []corev1.VolumeMount{
		{Name: configVolume, MountPath: ConfigDir, ReadOnly: true},
		{Name: queueVolume, MountPath: QueueDir},
		{Name: tmpVolume, MountPath: "/tmp"},
	}
	for _, name := range sortedUnique(in.Secrets) {
		volume := SecretVolumeName(name)
		volumes = append(volumes, secretVolume(volume, name))
		mounts = append(mounts, corev1.VolumeMount{Name: volume, MountPath: SecretsDir + "/" + name, ReadOnly: true})
	}
	for _, name := range sortedUnique(in.ConfigMaps) {
		volume := ConfigMapVolumeName(name)
		volumes = append(volumes, corev1.Volume{Name: volume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: name},
			DefaultMode:          ptr.To(configFileMode),
		}}})
		mounts = append(mounts, corev1.VolumeMount{Name: volume, MountPath: ConfigMapsDir + "/" + name, ReadOnly: true})
	}
	if in.SecretCopies != "" {
		volumes = append(volumes, secretVolume(secretCopiesVolume, in.SecretCopies))
		mounts = append(mounts, corev1.VolumeMount{Name: secretCopiesVolume, MountPath: SecretCopiesDir, ReadOnly: true})
	}
	if in.TLSSecretName != "" {
		volumes = append(volumes, secretVolume(tlsVolume, in.TLSSecretName))
		mounts = append(mounts, corev1.VolumeMount{Name: tlsVolume, MountPath: TLSDir, ReadOnly: true})
	}
	sort.Slice(volumes, func(i, j int) bool { return volumes[i].Name < volumes[j].Name })
	sort.Slice(mounts, func(i, j int) bool { return mounts[i].Name < mounts[j].Name })
	return volumes, mounts
}

func secretVolume(volume, secret string) corev1.Volume {
	return corev1.Volume{Name: volume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName:  secret,
		DefaultMode: ptr.To(secretFileMode),
	}}}
}

// SecretVolumeName is the pod volume of a mounted Secret: a DNS label (at most 63 characters, no dots) whatever
// the Secret's name, which may be a 253-character DNS subdomain.
func SecretVolumeName(secret string) string {
	return volumeName(secretVolumePrefix, hashedSecretVolumePrefix, secret)
}

// ConfigMapVolumeName is SecretVolumeName for a mounted ConfigMap.
func ConfigMapVolumeName(configMap string) string {
	return volumeName(configMapVolumePrefix, hashedConfigMapVolumePrefix, configMap)
}

// volumeName is prefix and the object's name when that is a DNS label, else hashedPrefix and a hash of it.
func volumeName(prefix, hashedPrefix, object string) string {
	if name := prefix + object; len(name) <= 63 && !strings.Contains(object, ".") {
		return name
	}
	sum := sha256.Sum256([]byte(object))
	return hashedPrefix + hex.EncodeToString(sum[:])[:20]
}

// DesiredService is the Service in front of the pods: spec.service's type, port and annotations (default
// ClusterIP, servicePort) to the webhook port, plus the metrics port when the Service stays inside the cluster.
func DesiredService(endpoint *fulfillmentv1alpha1.WebhookEndpoint) *corev1.Service {
	settings := endpoint.Spec.Service
	if settings == nil {
		settings = &fulfillmentv1alpha1.ServiceSettings{}
	}
	serviceType := corev1.ServiceType(settings.Type)
	if serviceType == "" {
		serviceType = corev1.ServiceTypeClusterIP
	}
	ports := []corev1.ServicePort{{
		Name:       webhookPortName,
		Port:       servicePort(endpoint),
		TargetPort: intstr.FromString(webhookPortName),
		Protocol:   corev1.ProtocolTCP,
	}}
	if serviceType == corev1.ServiceTypeClusterIP {
		ports = append(ports, corev1.ServicePort{
			Name:       metricsPortName,
			Port:       MetricsPort,
			TargetPort: intstr.FromString(metricsPortName),
			Protocol:   corev1.ProtocolTCP,
		})
	}
	service := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(endpoint, endpoint.Name),
		Spec: corev1.ServiceSpec{
			Type:     serviceType,
			Selector: SelectorLabels(endpoint),
			Ports:    ports,
		},
	}
	service.Annotations = copyStringMap(settings.Annotations)
	return service
}

// servicePort is the webhook port of the Service: spec.service.port, else the scheme's port, 443 with TLS and
// 80 without, so that the endpoint's URL needs no port a client would not guess.
func servicePort(endpoint *fulfillmentv1alpha1.WebhookEndpoint) int32 {
	if s := endpoint.Spec.Service; s != nil && s.Port != 0 {
		return s.Port
	}
	if tlsEnabled(endpoint) {
		return defaultTLSSvcPort
	}
	return defaultSvcPort
}

// DesiredPodDisruptionBudget lets voluntary disruptions (node drains) take one pod at a time; nil unless more
// than one pod is wanted, since a budget over a single pod would block every drain. Unhealthy pods may always
// be evicted, so a crash-looping pod never blocks a drain either.
func DesiredPodDisruptionBudget(endpoint *fulfillmentv1alpha1.WebhookEndpoint) *policyv1.PodDisruptionBudget {
	if wantedReplicas(&endpoint.Spec) <= 1 {
		return nil
	}
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: objectMeta(endpoint, endpoint.Name),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable:             ptr.To(intstr.FromInt32(1)),
			Selector:                   &metav1.LabelSelector{MatchLabels: SelectorLabels(endpoint)},
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
		},
	}
}

// wantedReplicas is the least number of pods the spec asks for: autoscaling's minimum, else replicas.
func wantedReplicas(spec *fulfillmentv1alpha1.WebhookEndpointSpec) int32 {
	if a := spec.Autoscaling; a != nil {
		if a.MinReplicas != nil {
			return *a.MinReplicas
		}
		return defaultMinReplica
	}
	if spec.Replicas != nil {
		return *spec.Replicas
	}
	return defaultReplicas
}

// DesiredHorizontalPodAutoscaler scales the Deployment on CPU utilization; nil without spec.autoscaling. While
// the endpoint is suspended the Deployment has 0 replicas, and an autoscaler does not scale a target at zero.
func DesiredHorizontalPodAutoscaler(endpoint *fulfillmentv1alpha1.WebhookEndpoint) *autoscalingv2.HorizontalPodAutoscaler {
	a := endpoint.Spec.Autoscaling
	if a == nil {
		return nil
	}
	minReplicas, target := defaultMinReplica, defaultCPUTarget
	if a.MinReplicas != nil {
		minReplicas = *a.MinReplicas
	}
	if a.TargetCPUUtilizationPercentage != nil {
		target = *a.TargetCPUUtilizationPercentage
	}
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: objectMeta(endpoint, endpoint.Name),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: endpoint.Name},
			MinReplicas:    ptr.To(minReplicas),
			MaxReplicas:    a.MaxReplicas,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{
						Type:               autoscalingv2.UtilizationMetricType,
						AverageUtilization: ptr.To(target),
					},
				},
			}},
		},
	}
}

// DesiredNetworkPolicy admits anyone to the webhook port (the callers are external platforms, and the server
// authenticates them) and, to the metrics port (metrics, the probes' endpoints and the configuration report),
// only pods of the same namespace, of namespaces labelled LabelMetricsScraper: "true", and the operator's own
// pods when operatorNamespace is known (it asks each pod which configuration it serves). Egress stays open:
// routes call upstreams of their choosing, and the server refuses link-local and metadata addresses itself.
func DesiredNetworkPolicy(endpoint *fulfillmentv1alpha1.WebhookEndpoint, operatorNamespace string) *networkingv1.NetworkPolicy {
	tcp := corev1.ProtocolTCP
	metricsPeers := []networkingv1.NetworkPolicyPeer{
		{PodSelector: &metav1.LabelSelector{}},
		{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelMetricsScraper: "true"}}},
	}
	if operatorNamespace != "" && operatorNamespace != endpoint.Namespace {
		metricsPeers = append(metricsPeers, networkingv1.NetworkPolicyPeer{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: operatorNamespace}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{LabelName: OperatorName}},
		})
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: objectMeta(endpoint, endpoint.Name),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: SelectorLabels(endpoint)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(tcp), Port: ptr.To(intstr.FromInt32(WebhookPort))}},
				},
				{
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(tcp), Port: ptr.To(intstr.FromInt32(MetricsPort))}},
					From:  metricsPeers,
				},
			},
		},
	}
}

// ingressPathType is how the Ingress and the HTTPRoute match endpointPath: exactly for an endpoint, whose pods
// serve nothing else, and as a prefix for a gateway (path /), whose pods answer each endpoint's path.
func ingressPathType(endpoint *fulfillmentv1alpha1.WebhookEndpoint) networkingv1.PathType {
	if isGateway(endpoint) {
		return networkingv1.PathTypePrefix
	}
	return networkingv1.PathTypeExact
}

// httpRoutePathType is ingressPathType in the Gateway API's words.
func httpRoutePathType(endpoint *fulfillmentv1alpha1.WebhookEndpoint) string {
	if isGateway(endpoint) {
		return "PathPrefix"
	}
	return "Exact"
}

// endpointPath is spec.path (default /webhook).
func endpointPath(endpoint *fulfillmentv1alpha1.WebhookEndpoint) string {
	if endpoint.Spec.Path != "" {
		return endpoint.Spec.Path
	}
	return defaultPath
}

// DesiredIngress routes spec.ingress.host and exactly spec.path (the server serves nothing else to callers) to
// the Service's webhook port; nil without spec.ingress. With tls.mode other than Disabled the pods serve HTTPS:
// the ingress controller then needs its backend-protocol annotation, given in spec.ingress.annotations.
func DesiredIngress(endpoint *fulfillmentv1alpha1.WebhookEndpoint) *networkingv1.Ingress {
	settings := endpoint.Spec.Ingress
	if settings == nil {
		return nil
	}
	ingress := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: objectMeta(endpoint, endpoint.Name),
		Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{
				Host: settings.Host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     endpointPath(endpoint),
						PathType: ptr.To(ingressPathType(endpoint)),
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: endpoint.Name,
							Port: networkingv1.ServiceBackendPort{Name: webhookPortName},
						}},
					}},
				}},
			}},
		},
	}
	ingress.Annotations = copyStringMap(settings.Annotations)
	if settings.ClassName != "" {
		ingress.Spec.IngressClassName = ptr.To(settings.ClassName)
	}
	if settings.TLSSecretName != "" {
		ingress.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{settings.Host}, SecretName: settings.TLSSecretName}}
	}
	return ingress
}

// DesiredHTTPRoute is a gateway.networking.k8s.io/v1 HTTPRoute, unstructured so that the Gateway API CRDs are
// optional, routing exactly spec.path to the Service's webhook port; nil without spec.httpRoute.
func DesiredHTTPRoute(endpoint *fulfillmentv1alpha1.WebhookEndpoint) *unstructured.Unstructured {
	settings := endpoint.Spec.HTTPRoute
	if settings == nil {
		return nil
	}
	parents := make([]any, 0, len(settings.ParentRefs))
	for _, ref := range settings.ParentRefs {
		parent := map[string]any{"name": ref.Name}
		for field, value := range map[string]*string{"group": ref.Group, "kind": ref.Kind, "namespace": ref.Namespace, "sectionName": ref.SectionName} {
			if value != nil {
				parent[field] = *value
			}
		}
		if ref.Port != nil {
			parent["port"] = int64(*ref.Port)
		}
		parents = append(parents, parent)
	}
	spec := map[string]any{
		"parentRefs": parents,
		"rules": []any{map[string]any{
			"matches": []any{map[string]any{
				"path": map[string]any{"type": httpRoutePathType(endpoint), "value": endpointPath(endpoint)},
			}},
			"backendRefs": []any{map[string]any{
				"name": endpoint.Name,
				"port": int64(servicePort(endpoint)),
			}},
		}},
	}
	if len(settings.Hostnames) > 0 {
		hostnames := make([]any, 0, len(settings.Hostnames))
		for _, host := range settings.Hostnames {
			hostnames = append(hostnames, host)
		}
		spec["hostnames"] = hostnames
	}
	route := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	route.SetAPIVersion("gateway.networking.k8s.io/v1")
	route.SetKind("HTTPRoute")
	meta := objectMeta(endpoint, endpoint.Name)
	route.SetNamespace(meta.Namespace)
	route.SetName(meta.Name)
	route.SetLabels(meta.Labels)
	route.SetOwnerReferences(meta.OwnerReferences)
	return route
}

// objectMeta is the name, namespace, labels and controller reference of an object rendered for endpoint, or
// for the gateway it stands for (GatewayWorkload).
func objectMeta(endpoint *fulfillmentv1alpha1.WebhookEndpoint, name string) metav1.ObjectMeta {
	owner := endpointGVK
	if isGateway(endpoint) {
		owner = gatewayGVK
	}
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       endpoint.Namespace,
		Labels:          Labels(endpoint),
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(endpoint, owner)},
	}
}

// copyStringMap copies m, nil when empty, so that an unset and an empty map render alike.
func copyStringMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for key, value := range m {
		out[key] = value
	}
	return out
}

// sortedUnique returns names sorted without duplicates or empty names, nil when none remain.
func sortedUnique(names []string) []string {
	var out []string
	for _, name := range names {
		if name != "" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	unique := out[:0]
	for i, name := range out {
		if i == 0 || name != out[i-1] {
			unique = append(unique, name)
		}
	}
	if len(unique) == 0 {
		return nil
	}
	return unique
}
