package logging

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/redact"
)

// requestLine is the info line of a Dialogflow ES request answered by a route.
var requestLine = []slog.Attr{
	slog.String("requestId", "0b1e2c3d4e5f6a7b8c9d0e1f"), slog.String("method", "POST"), slog.String("path", "/bank-bot"),
	slog.String("endpoint", "bank-bot"), slog.String("dialect", "DialogflowES"), slog.String("intent", "GetAccountBalance"),
	slog.String("action", "account.balance"), slog.String("deliveryId", "8d1d2f6e-1b7a-4c1e-9a55-0000010000000001"),
	slog.String("session", "projects/demo-proj/agent/sessions/sess-123"), slog.Int("status", 200),
	slog.String("outcome", "answered"), slog.String("route", "bank-bot-balance-demo"), slog.Float64("durationMs", 0.093),
}

// BenchmarkRequestLine is one request's info line, redacted against the bank sample's secrets: slog's JSON
// handler behind redact.Handler (as the binary logged before JSONHandler), JSONHandler, JSONHandler on a line
// that holds a secret, and JSONHandler through a Writer to a file.
func BenchmarkRequestLine(b *testing.B) {
	secrets := &redact.Secrets{}
	secrets.Set([][]byte{[]byte("change-me-bank-bot"), []byte("dialogflow"), []byte("example-bank-api-token")})
	b.Run("slog", func(b *testing.B) {
		logger := slog.New(redact.NewHandler(slog.NewJSONHandler(io.Discard, nil), secrets))
		b.ReportAllocs()
		for b.Loop() {
			logger.LogAttrs(b.Context(), slog.LevelInfo, "request answered", requestLine...)
		}
	})
	b.Run("JSONHandler", func(b *testing.B) {
		h := NewJSONHandler(io.Discard, slog.LevelInfo, secrets)
		b.ReportAllocs()
		for b.Loop() {
			h.HandleAttrs(b.Context(), time.Now(), slog.LevelInfo, "request answered", requestLine)
		}
	})
	b.Run("JSONHandler-secret", func(b *testing.B) { // a line that holds a secret is written twice
		h := NewJSONHandler(io.Discard, slog.LevelInfo, secrets)
		withSecret := append(slices.Clone(requestLine), slog.String("error", "upstream refused example-bank-api-token"))
		b.ReportAllocs()
		for b.Loop() {
			h.HandleAttrs(b.Context(), time.Now(), slog.LevelInfo, "request answered", withSecret)
		}
	})
	b.Run("JSONHandler-Writer-file", func(b *testing.B) {
		file, err := os.Create(filepath.Join(b.TempDir(), "log"))
		if err != nil {
			b.Fatal(err)
		}
		defer file.Close()
		out := NewWriter(file)
		defer out.Close()
		h := NewJSONHandler(out, slog.LevelInfo, secrets)
		b.ReportAllocs()
		for b.Loop() {
			h.HandleAttrs(b.Context(), time.Now(), slog.LevelInfo, "request answered", requestLine)
		}
	})
}
