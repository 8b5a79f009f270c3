package blackbox

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigFileWithMountedSecrets runs the server as the operator does: from a rendered configuration with
// Secrets mounted as files. Rotating the mounted token takes effect without a restart.
func TestConfigFileWithMountedSecrets(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			http.Error(w, "the caller's credentials must not be forwarded", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"fulfillmentText":"from the returns team"}`))
	}))
	t.Cleanup(backend.Close)

	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets", "bot-token")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, secrets, "token", "first-token\n")
	config := writeFile(t, dir, "config.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookServerConfig
secretsDir: secrets
endpoints:
- name: bot
  namespace: bots
  spec:
    dialect: DialogflowES
    auth: {bearer: {secretRef: {name: bot-token, key: token}}}
  routes:
  - name: returns
    spec:
      endpointRef: {name: bot}
      match: {intents: [Returns]}
      forward: {url: "`+backend.URL+`/webhook"}
`)
	s := startServer(t, "--config", config)
	request := []byte(`{"responseId":"r","session":"projects/p/agent/sessions/s","queryResult":{"intent":{"displayName":"Returns"}}}`)

	resp, content := s.post("/webhook", request, http.Header{"Authorization": {"Bearer first-token"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(content), "from the returns team") {
		t.Fatalf("forward: %d %s", resp.StatusCode, content)
	}

	writeFile(t, secrets, "token", "second-token\n")
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ = s.post("/webhook", request, http.Header{"Authorization": {"Bearer second-token"}})
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rotated token was not picked up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp, _ = s.post("/webhook", request, http.Header{"Authorization": {"Bearer first-token"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old token still works after rotation: %d", resp.StatusCode)
	}
}

// TestInvalidManifestsAreRefusedAtStart: the process exits with the file, document and field of each problem.
func TestInvalidManifestsAreRefusedAtStart(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "bot.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec: {dialect: DialogflowES, auth: {}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: r}
spec: {endpointRef: {name: bot}, match: {intents: [A]}, respond: {text: "${params.x +}"}}
`)
	out, err := runBinary(t, "serve", "--manifests", dir, "--listen", freePort(t), "--metrics-listen", freePort(t))
	if err == nil {
		t.Fatalf("started with invalid manifests:\n%s", out)
	}
	for _, want := range []string{
		path + ": document 1 (WebhookEndpoint bot): spec.auth: Invalid value: spec.auth needs at least one method",
		path + ": document 2 (IntentRoute r): spec.respond.text: ${params.x +}: Syntax error",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not contain %q:\n%s", want, out)
		}
	}
}

func runBinary(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := execCommand(binary, args...)
	out, err := cmd.CombinedOutput()
	outputs.add(string(out))
	return string(out), err
}

// TestEveryProblemIsReportedAtOnce: problems found at every stage, admission (a schema error), compiling (a CEL
// guard) and reading Secrets (a missing one), are reported in one run, each with its file and document.
func TestEveryProblemIsReportedAtOnce(t *testing.T) {
	dir := t.TempDir()
	bank := writeFile(t, dir, "bank.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bank}
spec:
  dialect: DialogflowES
  auth: {basic: {secretRef: {name: bank-basic-auth}}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: balance}
spec:
  endpointRef: {name: bank}
  match: {intents: [Balance], when: "params.amount >"}
  respond: {text: "Your balance"}
`)
	orders := writeFile(t, dir, "orders.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: orders}
spec: {dialect: Lex, auth: {allowUnauthenticated: true}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: status}
spec: {endpointRef: {name: orders}, match: {intents: [Status]}, respond: {text: shipped}}
`)
	out, err := runBinary(t, "serve", "--manifests", dir, "--listen", freePort(t), "--metrics-listen", freePort(t))
	if err == nil {
		t.Fatalf("started with invalid manifests:\n%s", out)
	}
	for _, want := range []string{
		"invalid configuration, 3 problems:",
		bank + `: document 1 (WebhookEndpoint bank): spec.auth: basic.secretRef: secret default/bank-basic-auth not found`,
		bank + `: document 2 (IntentRoute balance): spec.match.when: `,
		orders + `: document 1 (WebhookEndpoint orders): spec.dialect: Unsupported value: "Lex"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not contain %q:\n%s", want, out)
		}
	}
}

// TestRenderedConfigurationProblemsAreLocated: the compile problems of a rendered configuration name the file
// and the entry of the object in it.
func TestRenderedConfigurationProblemsAreLocated(t *testing.T) {
	dir := t.TempDir()
	config := writeFile(t, dir, "config.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookServerConfig
secretsDir: secrets
admitted: true
endpoints:
- name: bot
  namespace: bots
  spec:
    dialect: DialogflowES
    auth: {bearer: {secretRef: {name: bot-token, key: token}}}
  routes:
  - name: returns
    spec:
      endpointRef: {name: bot}
      match: {intents: [Returns], when: "params.x >"}
      respond: {text: ok}
`)
	out, err := runBinary(t, "serve", "--config", config, "--listen", freePort(t), "--metrics-listen", freePort(t))
	if err == nil {
		t.Fatalf("started with an invalid configuration:\n%s", out)
	}
	for _, want := range []string{
		"invalid configuration, 2 problems:",
		config + ` (WebhookEndpoint bot): endpoints[0].spec.auth: bearer.secretRef: secret bot-token key "token" is not mounted`,
		config + ` (IntentRoute returns): endpoints[0].routes[0].spec.match.when: `,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not contain %q:\n%s", want, out)
		}
	}
}
