package v1alpha1

// Observability configures the fulfillment pods' telemetry beyond their metrics and logs.
type Observability struct {
	// tracing, when set, exports OpenTelemetry traces of every request over OTLP/HTTP: a span per request
	// (continuing the caller's W3C traceparent), one per stage, and one per upstream call, whose traceparent
	// reaches the upstream. Spans never hold a header value, a query string, a body or an expression's value.
	// +optional
	Tracing *Tracing `json:"tracing,omitempty"`
}

// Tracing says where the fulfillment pods send their spans and how many requests they record. The operator
// renders it as the standard OTEL_* variables of the webhookserver container; a Secret's value reaches the
// container through the variable's secretKeyRef only, and is read when the pod starts.
//
// +kubebuilder:validation:XValidation:rule="has(self.endpoint) != has(self.endpointSecretRef)",message="spec.observability.tracing needs exactly one of endpoint or endpointSecretRef"
type Tracing struct {
	// endpoint is the base URL of the OTLP/HTTP receiver (an OpenTelemetry Collector, or a vendor's), for
	// example http://otel-collector.observability:4318; spans are sent to its /v1/traces. It becomes
	// OTEL_EXPORTER_OTLP_ENDPOINT.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.matches('^https?://[^ /?#@]+(/[^ ?#]*)?$')",message="spec.observability.tracing.endpoint must be an http or https URL without credentials, query or fragment, such as http://otel-collector.observability:4318; put a URL that carries a token in a Secret (endpointSecretRef), or the token in headersSecretRef"
	Endpoint string `json:"endpoint,omitempty"`

	// endpointSecretRef selects a Secret key holding the receiver's base URL, for a URL that is not to be seen in
	// the WebhookEndpoint.
	// +optional
	EndpointSecretRef *SecretKeySelector `json:"endpointSecretRef,omitempty"`

	// headersSecretRef selects a Secret key holding the headers sent with every export, as
	// OTEL_EXPORTER_OTLP_HEADERS reads them: comma-separated key=value pairs, for example
	// api-key=abc123 for a vendor that authenticates exports by a header.
	// +optional
	HeadersSecretRef *SecretKeySelector `json:"headersSecretRef,omitempty"`

	// samplingRatio is the share of traces started here that are recorded, a decimal from "0" to "1" with at
	// most six decimals, such as "0.05". A request whose caller sent a traceparent follows the caller's decision
	// instead, so that a trace is recorded whole or not at all. When unset every trace is recorded (1). It is a
	// string because Kubernetes APIs avoid floating-point fields.
	// +optional
	// +kubebuilder:validation:MaxLength=8
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0([.][0-9]{1,6})?|1([.]0{1,6})?)$')",message="spec.observability.tracing.samplingRatio must be a decimal from 0 to 1 with at most six decimals, such as '0.05' (a string: quote it in YAML)"
	SamplingRatio string `json:"samplingRatio,omitempty"`
}
