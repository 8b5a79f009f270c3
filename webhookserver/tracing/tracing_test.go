package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestOffWithoutAnOTLPEndpoint(t *testing.T) {
	env := map[string]string{"OTEL_SERVICE_NAME": "bot", "OTEL_TRACES_SAMPLER": "always_on"}
	provider, err := FromEnvironment(context.Background(), func(name string) string { return env[name] }, "v1")
	if err != nil || provider != nil || provider.Tracer() != nil {
		t.Fatalf("provider %v, error %v: want tracing off", provider, err)
	}
	for _, name := range []string{EndpointVariable, TracesEndpointVariable} {
		if !Enabled(func(v string) string { return map[string]string{name: "http://collector:4318"}[v] }) {
			t.Errorf("%s does not turn tracing on", name)
		}
	}
}

// Without a recorded span (tracing off, or the trace not sampled) a stage costs no allocation.
func TestStageWithoutARecordedSpanAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		_, span := Stage(ctx, StageMatch)
		span.End()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per stage with tracing off", allocs)
	}
}

func newRecorder(t *testing.T) (*tracetest.InMemoryExporter, trace.Tracer) {
	exporter := tracetest.NewInMemoryExporter()
	provider := New(sdktrace.NewSimpleSpanProcessor(exporter), nil)
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	return exporter, provider.Tracer()
}

// upstreamSeeing is an upstream that records the traceparent of each request.
func upstreamSeeing(t *testing.T) (*httptest.Server, *[]string) {
	var seen []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get(TraceparentHeader))
	}))
	t.Cleanup(upstream.Close)
	return upstream, &seen
}

// A trace the caller did not sample reaches the upstream unsampled, with no span recorded here.
func TestTransportPropagatesAnUnsampledTrace(t *testing.T) {
	exporter, _ := newRecorder(t)
	upstream, seen := upstreamSeeing(t)
	header := http.Header{TraceparentHeader: {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}}
	ctx := Extract(context.Background(), header)
	client := &http.Client{Transport: Transport(http.DefaultTransport)}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, upstream.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(*seen) != 1 || (*seen)[0] != header.Get(TraceparentHeader) {
		t.Errorf("the upstream saw %q, want the caller's unsampled traceparent", *seen)
	}
	if spans := exporter.GetSpans(); len(spans) != 0 {
		t.Errorf("%d spans recorded for an unsampled trace", len(spans))
	}
	if req.Header.Get(TraceparentHeader) != "" {
		t.Error("the transport changed the request it was given")
	}
}

// A client span names the server, never the URL's path, query or user info.
func TestClientSpanLeavesOutTheURL(t *testing.T) {
	exporter, tracer := newRecorder(t)
	upstream, seen := upstreamSeeing(t)
	ctx, parent := tracer.Start(context.Background(), "request")
	client := &http.Client{Transport: Transport(http.DefaultTransport)}
	target := strings.Replace(upstream.URL, "http://", "http://user:pass-word@", 1) + "/accounts/acct-9876/balance?token=query-token"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	parent.End()
	var client1 *tracetest.SpanStub
	spans := exporter.GetSpans()
	for i := range spans {
		if spans[i].SpanKind == trace.SpanKindClient {
			client1 = &spans[i]
		}
	}
	if client1 == nil {
		t.Fatal("no client span")
	}
	want := "00-" + client1.SpanContext.TraceID().String() + "-" + client1.SpanContext.SpanID().String() + "-01"
	if len(*seen) != 1 || (*seen)[0] != want {
		t.Errorf("the upstream saw %q, want %q", *seen, want)
	}
	for _, kv := range client1.Attributes {
		for _, secret := range []string{"acct-9876", "query-token", "pass-word", "/accounts"} {
			if strings.Contains(kv.Value.String(), secret) {
				t.Errorf("attribute %s holds %q", kv.Key, secret)
			}
		}
	}
}
