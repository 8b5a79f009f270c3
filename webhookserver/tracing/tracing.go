// Package tracing is webhookserver's OpenTelemetry tracing: the tracer provider the standard OTEL_* variables
// configure (off unless an OTLP endpoint is set), the W3C Trace Context propagation, and the spans of the request
// pipeline. Spans carry names, statuses and reasons, never a header value that may be a credential, a query
// string, a body or an expression's value.
package tracing

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of every span webhookserver makes.
const ScopeName = "github.com/fulfillment-dev/fulfillment-operator/webhookserver"

// DefaultServiceName is service.name unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES sets another.
const DefaultServiceName = "webhookserver"

// The variables that turn tracing on: the OTLP exporter's endpoint, for all signals or for traces.
const (
	EndpointVariable       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	TracesEndpointVariable = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)

// propagator reads and writes traceparent and tracestate (W3C Trace Context), the headers platforms, proxies
// and upstreams agree on; baggage is not propagated, as it may carry anything a caller chose.
var propagator = propagation.TraceContext{}

// Provider makes the spans and exports them; Shutdown flushes what is still buffered.
type Provider struct {
	provider *sdktrace.TracerProvider
}

// Enabled reports whether getenv names an OTLP endpoint, that is, whether tracing is on.
func Enabled(getenv func(string) string) bool {
	return getenv(EndpointVariable) != "" || getenv(TracesEndpointVariable) != ""
}

// FromEnvironment is the provider the OTEL_* variables configure, exporting over OTLP/HTTP, or nil when
// tracing is off (Enabled). The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout, TLS), the
// sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default: parentbased_always_on), the resource
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, as every OpenTelemetry SDK does.
func FromEnvironment(ctx context.Context, getenv func(string) string, version string) (*Provider, error) {
	if !Enabled(getenv) {
		return nil, nil
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		// Later detectors win: the variables override the defaults.
		resource.WithAttributes(attribute.String("service.name", DefaultServiceName), attribute.String("service.version", version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	return New(sdktrace.NewBatchSpanProcessor(exporter), res), nil
}

// New is a provider that hands finished spans to processor (tests use an in-memory exporter), with the sampler
// OTEL_TRACES_SAMPLER configures.
func New(processor sdktrace.SpanProcessor, res *resource.Resource) *Provider {
	options := []sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(processor)}
	if res != nil {
		options = append(options, sdktrace.WithResource(res))
	}
	return &Provider{provider: sdktrace.NewTracerProvider(options...)}
}

// Tracer is the tracer of webhookserver's spans; nil from a nil provider, which means tracing is off.
func (p *Provider) Tracer() trace.Tracer {
	if p == nil {
		return nil
	}
	return p.provider.Tracer(ScopeName)
}

// Shutdown exports the spans still buffered and stops the exporter, within ctx.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.provider.Shutdown(ctx)
}

// Extract is ctx with the remote span context of header's traceparent and tracestate, when they are valid.
func Extract(ctx context.Context, header map[string][]string) context.Context {
	return propagator.Extract(ctx, propagation.HeaderCarrier(header))
}

// Inject writes the traceparent and tracestate of ctx's span into header; nothing when ctx has no valid span.
func Inject(ctx context.Context, header map[string][]string) {
	propagator.Inject(ctx, propagation.HeaderCarrier(header))
}

// Header names of the W3C Trace Context, as Go canonicalizes them.
const (
	TraceparentHeader = "Traceparent"
	TracestateHeader  = "Tracestate"
)
