package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tracing"
)

// tracedServer serves the bank-bot sample with every request's spans recorded in memory.
func tracedServer(t *testing.T) (*Server, *tracetest.InMemoryExporter) {
	exporter := tracetest.NewInMemoryExporter()
	provider := tracing.New(sdktrace.NewSimpleSpanProcessor(exporter), nil)
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	s, err := New(Options{Source: &ManifestSource{Paths: []string{bankSample}, Endpoint: "bank-bot"},
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Tracer: provider.Tracer()})
	if err != nil {
		t.Fatal(err)
	}
	return s, exporter
}

// spanText is every span's name, status and attributes, as text.
func spanText(spans tracetest.SpanStubs) string {
	var b strings.Builder
	for _, span := range spans {
		b.WriteString(span.Name + " " + span.Status.Description + "\n")
		for _, kv := range span.Attributes {
			b.WriteString(string(kv.Key) + "=" + kv.Value.String() + "\n")
		}
	}
	return b.String()
}

func serverSpan(t *testing.T, spans tracetest.SpanStubs) tracetest.SpanStub {
	t.Helper()
	for _, span := range spans {
		if span.SpanKind == trace.SpanKindServer {
			return span
		}
	}
	t.Fatalf("no server span among %d", len(spans))
	return tracetest.SpanStub{}
}

func attribute(span tracetest.SpanStub, key string) string {
	for _, kv := range span.Attributes {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// A refused credential is recorded by its method and reason, never by its value.
func TestTracingARefusedCredential(t *testing.T) {
	s, exporter := tracedServer(t)
	req := httptest.NewRequest(http.MethodPost, "/bank-bot?token=query-secret", strings.NewReader(`{"responseId":"r1"}`))
	req.Header.Set("Authorization", "Basic ZGlhbG9nZmxvdzp3cm9uZy1wYXNzd29yZA==") // dialogflow:wrong-password
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("status %d", w.Code)
	}
	spans := exporter.GetSpans()
	span := serverSpan(t, spans)
	if span.Name != "POST /bank-bot" || attribute(span, "http.response.status_code") != "401" ||
		attribute(span, "fulfillment.refusal") == "" || attribute(span, "fulfillment.endpoint") != "default/bank-bot" {
		t.Errorf("server span %s: %v", span.Name, span.Attributes)
	}
	var auth *tracetest.SpanStub
	for i := range spans {
		if spans[i].Name == tracing.StageAuth {
			auth = &spans[i]
		}
	}
	if auth == nil || attribute(*auth, "fulfillment.auth_method") != "basic" {
		t.Errorf("auth span %+v", auth)
	}
	text := spanText(spans)
	for _, secret := range []string{"ZGlhbG9nZmxvdzp3cm9uZy1wYXNzd29yZA", "wrong-password", "query-secret", "responseId"} {
		if strings.Contains(text, secret) {
			t.Errorf("a span holds %q:\n%s", secret, text)
		}
	}
}

// A path no endpoint serves is the caller's text: the span is named by the method alone.
func TestTracingAnUnknownPath(t *testing.T) {
	s, exporter := tracedServer(t)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/reset-password/tok-123456", nil))
	span := serverSpan(t, exporter.GetSpans())
	if span.Name != http.MethodPost || attribute(span, "http.response.status_code") != "404" {
		t.Errorf("server span %q %v", span.Name, span.Attributes)
	}
	if text := spanText(exporter.GetSpans()); strings.Contains(text, "tok-123456") {
		t.Errorf("a span holds the path:\n%s", text)
	}
}

// A caller's unsampled trace is followed: nothing is recorded, and the answer is the same.
func TestTracingFollowsTheCallersDecisionNotToSample(t *testing.T) {
	s, exporter := tracedServer(t)
	request := esRequest("demo")
	request.req.Header = request.req.Header.Clone()
	request.req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
	w := newBenchWriter()
	request.serve(s, w)
	if w.status != http.StatusOK {
		t.Fatalf("status %d", w.status)
	}
	if spans := exporter.GetSpans(); len(spans) != 0 {
		t.Errorf("%d spans recorded for a trace the caller did not sample", len(spans))
	}
}

// TestManifestTracingIsNamedStandalone: a manifest's tracing block is the operator's to apply, and serve says
// so instead of ignoring it silently.
func TestManifestTracingIsNamedStandalone(t *testing.T) {
	dir := t.TempDir()
	manifest := `apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: traced, namespace: bots}
spec:
  dialect: Generic
  auth: {allowUnauthenticated: true}
  observability:
    tracing: {endpoint: "http://collector:4318", samplingRatio: "0.5"}
`
	if err := os.WriteFile(filepath.Join(dir, "endpoint.yaml"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	var notes []string
	source := &ManifestSource{Paths: []string{dir}, Logf: func(format string, args ...any) {
		notes = append(notes, fmt.Sprintf(format, args...))
	}}
	if _, err := source.Load(); err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "bots/traced") || !strings.Contains(notes[0], "OTEL_EXPORTER_OTLP_ENDPOINT") {
		t.Errorf("notes %q, want one naming bots/traced and OTEL_EXPORTER_OTLP_ENDPOINT", notes)
	}
}
