package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/fulfillment-dev/fulfillment-operator/internal/version"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tracing"
)

// flushTimeout bounds the export of the spans still buffered at shutdown, after the requests have drained.
const flushTimeout = 5 * time.Second

// startTracing turns tracing on when the standard OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; nil (off) otherwise.
func startTracing(logger *slog.Logger) (*tracing.Provider, error) {
	if !tracing.Enabled(os.Getenv) {
		return nil, nil
	}
	// The SDK's own failures (an unreachable collector) go to the log, once each, rather than to stderr.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("tracing: exporting spans failed", "error", err.Error())
	}))
	provider, err := tracing.FromEnvironment(context.Background(), os.Getenv, version.Get().Version)
	if err != nil {
		return nil, err
	}
	logger.Info("tracing on: spans are exported over OTLP/HTTP", "sampler", samplerName(os.Getenv))
	return provider, nil
}

// samplerName is OTEL_TRACES_SAMPLER, or the SDK's default.
func samplerName(getenv func(string) string) string {
	if name := getenv("OTEL_TRACES_SAMPLER"); name != "" {
		return name
	}
	return "parentbased_always_on"
}

// flushTraces exports what is still buffered, once the server has drained.
func flushTraces(provider *tracing.Provider, logger *slog.Logger) {
	if provider == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	if err := provider.Shutdown(ctx); err != nil {
		logger.Warn("tracing: spans still buffered at shutdown could not be exported", "error", err.Error())
	}
}
