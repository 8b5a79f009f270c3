package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/redact"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

const reportedConfig = `apiVersion: fulfillment.dev/v1alpha1
kind: WebhookServerConfig
admitted: true
secretsDir: secrets
endpoints:
- name: bot
  namespace: bots
  spec: {dialect: Generic, auth: {basic: {secretRef: {name: basic}}}}
`

// GET /statusz says which configuration serves (by the SHA-256 of the file, the operator's configHash) and
// which was refused and why, with secret values redacted; reverting the refused change clears the refusal.
func TestStatuszReportsServedAndRefusedConfigurations(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	version := func(content string) string {
		sum := sha256.Sum256([]byte(content))
		return hex.EncodeToString(sum[:])
	}
	path := write("config.yaml", reportedConfig)
	write("secrets/basic/username", "bot")
	write("secrets/basic/password", "s3cret-password-value")
	secrets := &redact.Secrets{}
	s, err := New(Options{Source: &FileSource{Path: path}, Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	read := func() statusz.Report {
		t.Helper()
		recorder := httptest.NewRecorder()
		s.metricsHandler().ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, statusz.Path, nil))
		if recorder.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", statusz.Path, recorder.Code, recorder.Body)
		}
		var report statusz.Report
		if err := json.Unmarshal(recorder.Body.Bytes(), &report); err != nil {
			t.Fatalf("GET %s: %v", statusz.Path, err)
		}
		return report
	}
	first := version(reportedConfig)
	if got := read().Configuration; got.Serving != first || got.Refused != nil {
		t.Fatalf("after the first load: %+v, want serving %s and nothing refused", got, first)
	}

	// A Secret the server cannot use: the configuration is the same, its Secrets are refused.
	if err := os.Remove(filepath.Join(dir, "secrets/basic/username")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reload(); err == nil {
		t.Fatal("a basic-auth Secret without username loaded")
	}
	got := read().Configuration
	if got.Serving != first || got.Refused == nil || got.Refused.Version != first || !strings.Contains(got.Refused.Error, "username") {
		t.Fatalf("after a Secret was refused: %+v", got)
	}

	// A new configuration refused: its version is reported, the old one keeps serving.
	broken := strings.Replace(reportedConfig, "Generic", "NoSuchDialect", 1)
	write("secrets/basic/username", "bot")
	write("config.yaml", broken)
	if _, err := s.Reload(); err == nil {
		t.Fatal("an unknown dialect loaded")
	}
	got = read().Configuration
	if got.Serving != first || got.Refused == nil || got.Refused.Version != version(broken) || got.Refused.Since.IsZero() {
		t.Fatalf("after a new configuration was refused: %+v", got)
	}
	// An error that quotes a secret value the server read is reported redacted.
	s.refused(version(broken), errors.New(`unexpected "s3cret-password-value"`))
	if got := read().Configuration.Refused; strings.Contains(got.Error, "s3cret-password-value") || got.Since.IsZero() {
		t.Fatalf("the refusal carries a secret value: %+v", got)
	}

	// Reverted: served again, nothing refused.
	write("config.yaml", reportedConfig)
	if _, err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := read().Configuration; got.Serving != first || got.Refused != nil {
		t.Fatalf("after reverting: %+v", got)
	}
}
