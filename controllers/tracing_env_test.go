package controllers

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

func fxTracing(tracing fulfillmentv1alpha1.Tracing) fxEndpointMod {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Observability = &fulfillmentv1alpha1.Observability{Tracing: &tracing}
	}
}

// serverEnv is the webhookserver container's variables by name.
func serverEnv(t *testing.T, endpoint *fulfillmentv1alpha1.WebhookEndpoint) map[string]corev1.EnvVar {
	t.Helper()
	deployment := DesiredDeployment(fxInputs(endpoint, nil, ""))
	env := map[string]corev1.EnvVar{}
	for _, v := range deployment.Spec.Template.Spec.Containers[0].Env {
		if _, twice := env[v.Name]; twice {
			t.Errorf("variable %s is set twice", v.Name)
		}
		env[v.Name] = v
	}
	return env
}

func TestTracingIsOffWithoutTheField(t *testing.T) {
	for name := range serverEnv(t, fixtureEndpoint()) {
		if strings.HasPrefix(name, "OTEL_") {
			t.Errorf("an endpoint without tracing has %s", name)
		}
	}
}

func TestTracingRendersTheStandardVariables(t *testing.T) {
	env := serverEnv(t, fixtureEndpoint(fxTracing(fulfillmentv1alpha1.Tracing{
		Endpoint: "http://otel-collector.observability:4318", SamplingRatio: "0.25"})))
	for name, want := range map[string]string{
		OTLPEndpointEnv:     "http://otel-collector.observability:4318",
		OTLPProtocolEnv:     "http/protobuf",
		TracesSamplerEnv:    "parentbased_traceidratio",
		TracesSamplerArgEnv: "0.25",
		ServiceNameEnv:      "bank-bot",
		ResourceAttributesEnv: "service.namespace=bots,k8s.namespace.name=bots,k8s.deployment.name=bank-bot," +
			"k8s.pod.name=$(POD_NAME),fulfillment.endpoint=bots/bank-bot",
	} {
		if got := env[name]; got.Value != want || got.ValueFrom != nil {
			t.Errorf("%s = %+v, want %q", name, got, want)
		}
	}
	if _, ok := env[OTLPHeadersEnv]; ok {
		t.Errorf("%s is set without headersSecretRef", OTLPHeadersEnv)
	}
	// $(POD_NAME) expands only to a variable defined before it.
	deployment := DesiredDeployment(fxInputs(fixtureEndpoint(fxTracing(fulfillmentv1alpha1.Tracing{Endpoint: "http://c:4318"})), nil, ""))
	order := map[string]int{}
	for i, v := range deployment.Spec.Template.Spec.Containers[0].Env {
		order[v.Name] = i
	}
	if order[PodNameEnv] > order[ResourceAttributesEnv] {
		t.Errorf("%s comes after %s, which reads it", PodNameEnv, ResourceAttributesEnv)
	}
}

func TestTracingWithoutARatioKeepsTheSDKDefault(t *testing.T) {
	env := serverEnv(t, fixtureEndpoint(fxTracing(fulfillmentv1alpha1.Tracing{Endpoint: "http://c:4318"})))
	for _, name := range []string{TracesSamplerEnv, TracesSamplerArgEnv} {
		if _, ok := env[name]; ok {
			t.Errorf("%s is set without samplingRatio", name)
		}
	}
}

// A Secret's value is referenced by the variable, never copied into the Deployment.
func TestTracingSecretsAreReferencedNotCopied(t *testing.T) {
	endpoint := fixtureEndpoint(fxTracing(fulfillmentv1alpha1.Tracing{
		EndpointSecretRef: &fulfillmentv1alpha1.SecretKeySelector{Name: "otlp", Key: "url"},
		HeadersSecretRef:  &fulfillmentv1alpha1.SecretKeySelector{Name: "otlp", Key: "headers"},
	}))
	env := serverEnv(t, endpoint)
	for name, key := range map[string]string{OTLPEndpointEnv: "url", OTLPHeadersEnv: "headers"} {
		v := env[name]
		if v.Value != "" || v.ValueFrom == nil || v.ValueFrom.SecretKeyRef == nil ||
			v.ValueFrom.SecretKeyRef.Name != "otlp" || v.ValueFrom.SecretKeyRef.Key != key {
			t.Errorf("%s = %+v, want the value of Secret otlp key %s", name, v, key)
		}
	}
	// SecretsReady checks them, and the Secret watch finds the endpoint by them.
	reqs := TracingSecretRequirements(endpoint)
	if len(reqs) != 2 || reqs[0].Field != "spec.observability.tracing.endpointSecretRef" || reqs[1].Format != FormatOTLPHeaders {
		t.Errorf("requirements %+v", reqs)
	}
	if fields := endpointSecretFields(endpoint)["otlp"]; len(fields) != 2 {
		t.Errorf("fields referencing Secret otlp: %v", fields)
	}
	// Not mounted: the container reads them as variables.
	for _, name := range ReferencedSecrets(endpoint, nil) {
		if name == "otlp" {
			t.Error("the tracing Secret is mounted")
		}
	}
}

// Changing tracing changes the pod template, which rolls the pods.
func TestChangingTracingChangesThePodTemplate(t *testing.T) {
	before := DesiredDeployment(fxInputs(fixtureEndpoint(fxTracing(fulfillmentv1alpha1.Tracing{Endpoint: "http://c:4318"})), nil, ""))
	after := DesiredDeployment(fxInputs(fixtureEndpoint(fxTracing(fulfillmentv1alpha1.Tracing{Endpoint: "http://c:4318", SamplingRatio: "0.5"})), nil, ""))
	if reflect.DeepEqual(before.Spec.Template, after.Spec.Template) {
		t.Error("a new sampling ratio leaves the pod template as it was")
	}
}

func TestTracingSecretFormats(t *testing.T) {
	cases := map[string]struct {
		format SecretKeyFormat
		value  string
		ok     bool
	}{
		"an https URL":            {FormatOTLPEndpoint, "https://otlp.example.com:4318", true},
		"an http URL":             {FormatOTLPEndpoint, "http://collector:4318\n", true},
		"a host without a scheme": {FormatOTLPEndpoint, "collector:4318", false},
		"a gRPC scheme":           {FormatOTLPEndpoint, "grpc://collector:4317", false},
		"one header":              {FormatOTLPHeaders, "api-key=abc123", true},
		"two headers, encoded":    {FormatOTLPHeaders, "api-key=abc123, authorization=Bearer%20xyz", true},
		"no equals sign":          {FormatOTLPHeaders, "vendor-token-without-key", false},
		"a key with a space":      {FormatOTLPHeaders, "api key=abc", false},
		"a value with a newline":  {FormatOTLPHeaders, "api-key=a%0Ab", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := SecretKeyRequirement{Secret: "otlp", Key: "k", Field: "f", Format: tc.format}
			problems := CheckSecretKeys([]SecretKeyRequirement{req}, map[string][]byte{"k": []byte(tc.value)})
			if (len(problems) == 0) != tc.ok {
				t.Errorf("problems %+v, want ok=%v", problems, tc.ok)
			}
			for _, p := range problems {
				if strings.Contains(p.Message(), tc.value) {
					t.Errorf("the problem quotes the value: %s", p.Message())
				}
			}
		})
	}
}
