package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WebhookGatewaySpec is the shared fulfillment Deployment of the WebhookEndpoints that reference it: its pods,
// Service, exposure and TLS. What a caller sees of an endpoint (dialect, path, auth, limits, idempotency,
// delivery, routes) stays on the endpoint.
//
// +kubebuilder:validation:XValidation:rule="!has(self.httpRoute) || !has(self.ingress)",message="spec.ingress and spec.httpRoute are alternatives: expose the gateway with one of them",fieldPath=".httpRoute"
// +kubebuilder:validation:XValidation:rule="!has(self.tls) || !has(self.tls.clientAuth) || self.tls.clientAuth.mode == 'None'",message="spec.tls.clientAuth: client certificates are checked per endpoint, which a shared listener cannot do; use an endpoint of its own (without gatewayRef) for mutual TLS",fieldPath=".tls.clientAuth"
type WebhookGatewaySpec struct {
	// replicas is the number of gateway pods when autoscaling is not set.
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`

	// autoscaling, when set, runs a HorizontalPodAutoscaler on CPU utilization instead of fixed replicas.
	// +optional
	Autoscaling *Autoscaling `json:"autoscaling,omitempty"`

	// resources of the webhookserver container. When unset, small requests and a memory limit are used; a
	// gateway serving many endpoints needs more memory than one endpoint (docs/sizing.md).
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// podTemplate adds scheduling and metadata to the gateway pods.
	// +optional
	PodTemplate *PodTemplateOverrides `json:"podTemplate,omitempty"`

	// tls makes the gateway pods serve HTTPS for every endpoint they serve.
	// +optional
	TLS *EndpointTLS `json:"tls,omitempty"`

	// service configures the Service in front of the gateway pods.
	// +optional
	// +kubebuilder:default={}
	Service *ServiceSettings `json:"service,omitempty"`

	// ingress, when set, exposes the gateway through an Ingress: every path under / goes to the pods, which
	// answer the paths of their endpoints and 404 the others.
	// +optional
	Ingress *IngressSettings `json:"ingress,omitempty"`

	// httpRoute, when set, exposes the gateway through a Gateway API HTTPRoute (path prefix /).
	// +optional
	HTTPRoute *HTTPRouteSettings `json:"httpRoute,omitempty"`

	// observability configures the gateway pods' tracing, for every endpoint they serve.
	// +optional
	Observability *Observability `json:"observability,omitempty"`
}

// WebhookGatewayStatus is what the operator observed. It never holds a secret value.
type WebhookGatewayStatus struct {
	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Reconciling and Stalled (kstatus) plus DeploymentAvailable.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// url of the gateway inside the cluster, without a path: an endpoint's URL is this and its path.
	// +optional
	URL string `json:"url,omitempty"`

	// endpoints counts the WebhookEndpoints the gateway serves, and those it does not (a path another endpoint of
	// the gateway already has, or a configuration that does not fit).
	// +optional
	Endpoints *GatewayEndpointCounts `json:"endpoints,omitempty"`

	// replicas of the gateway Deployment.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// readyReplicas of the gateway Deployment.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// configHash is the hash of the configuration the operator rendered for the pods.
	// +optional
	ConfigHash string `json:"configHash,omitempty"`

	// servedConfigHash is the configuration every ready pod reports serving; the endpoints in it are served.
	// +optional
	ServedConfigHash string `json:"servedConfigHash,omitempty"`

	// certificate describes the serving certificate when TLS is on.
	// +optional
	Certificate *CertificateStatus `json:"certificate,omitempty"`
}

// GatewayEndpointCounts counts a gateway's WebhookEndpoints.
type GatewayEndpointCounts struct {
	// served endpoints: rendered into the gateway's configuration.
	Served int32 `json:"served"`
	// refused endpoints: see their Ready condition.
	Refused int32 `json:"refused"`
}

// WebhookGateway runs one hardened fulfillment Deployment for many WebhookEndpoints: each endpoint with
// spec.gatewayRef naming it is served on its own path by the gateway's pods, with its own auth, limits,
// idempotency, queue and routes, instead of by pods of its own.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=whg,categories=fulfillment
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be at most 63 characters of lowercase letters, digits and '-', starting with a letter and ending with a letter or digit (a DNS-1035 label): it names the gateway's Service and is the value of its app.kubernetes.io/instance label"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Endpoints",type=integer,JSONPath=`.status.endpoints.served`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Refused",type=integer,JSONPath=`.status.endpoints.refused`,priority=1
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
type WebhookGateway struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the shared Deployment and its exposure.
	// +optional
	// +kubebuilder:default={}
	Spec WebhookGatewaySpec `json:"spec,omitempty"`

	// status is what the operator observed.
	// +optional
	Status WebhookGatewayStatus `json:"status,omitempty"`
}

// WebhookGatewayList is a list of WebhookGateways.
//
// +kubebuilder:object:root=true
type WebhookGatewayList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WebhookGateway `json:"items"`
}
