package controllers

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// The standard OpenTelemetry variables the webhookserver container reads (webhookserver/tracing): an OTLP
// endpoint turns tracing on.
const (
	OTLPEndpointEnv       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	OTLPHeadersEnv        = "OTEL_EXPORTER_OTLP_HEADERS"
	OTLPProtocolEnv       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	TracesSamplerEnv      = "OTEL_TRACES_SAMPLER"
	TracesSamplerArgEnv   = "OTEL_TRACES_SAMPLER_ARG"
	ServiceNameEnv        = "OTEL_SERVICE_NAME"
	ResourceAttributesEnv = "OTEL_RESOURCE_ATTRIBUTES"
)

// tracingEnv are the container's variables of spec.observability.tracing, none without it. A Secret's value is
// referenced (secretKeyRef), never copied: it stays out of the Deployment, the ConfigMap and the arguments. The
// service is named after the endpoint, and the resource says which namespace, endpoint and pod a span comes
// from; the pod's name is the POD_NAME variable set before these.
func tracingEnv(endpoint *fulfillmentv1alpha1.WebhookEndpoint) []corev1.EnvVar {
	var tracing *fulfillmentv1alpha1.Tracing
	if o := endpoint.Spec.Observability; o != nil {
		tracing = o.Tracing
	}
	if tracing == nil {
		return nil
	}
	env := []corev1.EnvVar{secretOrValueEnv(OTLPEndpointEnv, tracing.Endpoint, tracing.EndpointSecretRef)}
	if tracing.HeadersSecretRef != nil {
		env = append(env, secretOrValueEnv(OTLPHeadersEnv, "", tracing.HeadersSecretRef))
	}
	env = append(env, corev1.EnvVar{Name: OTLPProtocolEnv, Value: "http/protobuf"})
	if tracing.SamplingRatio != "" {
		// Parent-based: a caller's sampled traceparent is followed, so that its trace is recorded whole.
		env = append(env,
			corev1.EnvVar{Name: TracesSamplerEnv, Value: "parentbased_traceidratio"},
			corev1.EnvVar{Name: TracesSamplerArgEnv, Value: tracing.SamplingRatio})
	}
	attributes := []string{
		"service.namespace=" + endpoint.Namespace,
		"k8s.namespace.name=" + endpoint.Namespace,
		"k8s.deployment.name=" + endpoint.Name,
		"k8s.pod.name=$(" + PodNameEnv + ")",
		"fulfillment.endpoint=" + endpoint.Namespace + "/" + endpoint.Name,
	}
	return append(env,
		corev1.EnvVar{Name: ServiceNameEnv, Value: endpoint.Name},
		corev1.EnvVar{Name: ResourceAttributesEnv, Value: strings.Join(attributes, ",")})
}

// secretOrValueEnv is the variable name with value, or with the value of ref's Secret key when ref is set.
func secretOrValueEnv(name, value string, ref *fulfillmentv1alpha1.SecretKeySelector) corev1.EnvVar {
	if ref == nil {
		return corev1.EnvVar{Name: name, Value: value}
	}
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name}, Key: ref.Key}}}
}

// TracingSecretRequirements are the Secret keys of spec.observability.tracing: the receiver's URL and the
// export headers. The container reads them as variables when it starts, so a missing one keeps the pods from
// starting: SecretsReady reports it first.
func TracingSecretRequirements(endpoint *fulfillmentv1alpha1.WebhookEndpoint) []SecretKeyRequirement {
	o := endpoint.Spec.Observability
	if o == nil || o.Tracing == nil {
		return nil
	}
	var reqs []SecretKeyRequirement
	if ref := o.Tracing.EndpointSecretRef; ref != nil {
		reqs = append(reqs, SecretKeyRequirement{Secret: ref.Name, Key: ref.Key, Field: "spec.observability.tracing.endpointSecretRef",
			Format: FormatOTLPEndpoint})
	}
	if ref := o.Tracing.HeadersSecretRef; ref != nil {
		reqs = append(reqs, SecretKeyRequirement{Secret: ref.Name, Key: ref.Key, Field: "spec.observability.tracing.headersSecretRef",
			Format: FormatOTLPHeaders})
	}
	return reqs
}

// tracingSecrets are the names of the Secrets of TracingSecretRequirements.
func tracingSecrets(endpoint *fulfillmentv1alpha1.WebhookEndpoint) []string {
	var names []string
	for _, req := range TracingSecretRequirements(endpoint) {
		names = append(names, req.Secret)
	}
	return names
}
