package server

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tracing"
)

// BenchmarkTracing is BenchmarkDialogflowESBalance and BenchmarkDialogflowESCall with tracing off (no tracer:
// how the server runs without OTEL_EXPORTER_OTLP_ENDPOINT) and on, every request sampled, its spans batched
// as in production and handed to an exporter that drops them, so that the cost measured is the server's, not
// an exporter's.
//
//	go test ./webhookserver/server/ -run '^$' -bench BenchmarkTracing -benchmem
func BenchmarkTracing(b *testing.B) {
	for _, mode := range []string{"off", "on"} {
		b.Run("balance/"+mode, func(b *testing.B) {
			s := newBenchServerWith(b, Options{Source: &ManifestSource{Paths: []string{bankSample}, Endpoint: "bank-bot"},
				Tracer: benchTracer(b, mode)})
			runBench(b, s, esRequest("demo"), checkES("Your demo account balance is 1234.56 EUR.", "last_balance"))
		})
		b.Run("call/"+mode, func(b *testing.B) {
			dir, calls := bankCallSample(b)
			s := newBenchServerWith(b, Options{Source: &ManifestSource{Paths: []string{dir}, Endpoint: "bank-bot"},
				Tracer: benchTracer(b, mode)})
			runBench(b, s, esRequest("checking"), checkES("Your checking account balance is 1520.75 EUR.", "last_balance"))
			if calls.Load() == 0 {
				b.Fatal("the upstream was never called")
			}
		})
	}
}

// benchTracer is nil for "off", else a tracer whose spans are batched and dropped.
func benchTracer(b *testing.B, mode string) trace.Tracer {
	if mode == "off" {
		return nil
	}
	provider := tracing.New(sdktrace.NewBatchSpanProcessor(discardExporter{}), nil)
	b.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	return provider.Tracer()
}

// discardExporter drops every span it is given.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }
