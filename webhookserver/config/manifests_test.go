package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

func TestLoadManifestsReadsEverySample(t *testing.T) {
	loaded, err := LoadManifests(filepath.Join(testenv.RepoRoot(), "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]int{}
	for _, endpoint := range loaded.File.Endpoints {
		routes[endpoint.Name] = len(endpoint.Routes)
		if endpoint.Namespace != DefaultNamespace {
			t.Errorf("endpoint %s: namespace %q, want %q", endpoint.Name, endpoint.Namespace, DefaultNamespace)
		}
	}
	// support-bot is the environments sample's base (config/samples/environments), which runs standalone too, and
	// so do faq-bot and build-events, the endpoints of the shared-gateway sample.
	want := map[string]int{"bank-bot": 5, "order-bot": 5, "rasa-actions": 5, "payments-events": 4, "support-bot": 2,
		"faq-bot": 1, "build-events": 1}
	for name, count := range want {
		if routes[name] != count {
			t.Errorf("endpoint %s has %d routes, want %d (all: %v)", name, routes[name], count, routes)
		}
	}
	// The kustomize files, the overlays' Namespaces and the WebhookGateway (whose pods the operator runs; standalone,
	// the server serves each of its endpoints on its path itself) are not the server's; nothing else may be ignored.
	for _, ignored := range loaded.Ignored {
		if !strings.Contains(ignored, "(Kustomization ") && !strings.Contains(ignored, "(Namespace ") &&
			!strings.Contains(ignored, "(WebhookGateway ") {
			t.Errorf("ignored %s, want only Kustomizations, Namespaces and WebhookGateways", ignored)
		}
	}
	if len(loaded.Ignored) == 0 {
		t.Error("the Kustomization of config/samples was not seen")
	}
	password, err := loaded.Secrets.Secret(DefaultNamespace, "bank-bot-basic-auth", "password")
	if err != nil || string(password) != "change-me-bank-bot" {
		t.Errorf("basic auth password from stringData: %q, %v", password, err)
	}
}

func TestLoadManifestsAppliesCRDDefaults(t *testing.T) {
	path := writeManifest(t, `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot, namespace: bots}
spec:
  dialect: Generic
  auth: {allowUnauthenticated: true}
  idempotency: {}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: events, namespace: bots}
spec:
  dialect: Generic
  auth: {oauth2: {introspection: {url: "http://127.0.0.1:8081/introspect", secretRef: {name: c}}}}
`)
	loaded, err := LoadManifests(path)
	if err != nil {
		t.Fatal(err)
	}
	if ttl := loaded.File.Endpoints[1].Spec.Auth.OAuth2.Introspection.CacheTTL; ttl == nil || ttl.Duration != time.Minute {
		t.Errorf("introspection cacheTTL = %v, want the 60s default", ttl)
	}
	spec := loaded.File.Endpoints[0].Spec
	if spec.Path != "/webhook" || len(spec.Methods) != 1 || spec.Methods[0] != "POST" || spec.Replicas != nil ||
		spec.Limits.MaxBodyBytes.String() != "1Mi" || !spec.Idempotency.Enabled || spec.Idempotency.Store != "Memory" {
		t.Errorf("defaults not applied: %+v", spec)
	}
}

// TestLoadManifestsTurnsIdempotencyOnByDefault: an endpoint that says nothing about idempotency gets it on,
// with the defaults of its fields, and one that turns it off keeps it off.
func TestLoadManifestsTurnsIdempotencyOnByDefault(t *testing.T) {
	endpoint := `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec:
  dialect: Generic
  auth: {allowUnauthenticated: true}
`
	loaded, err := LoadManifests(writeManifest(t, endpoint))
	if err != nil {
		t.Fatal(err)
	}
	got := loaded.File.Endpoints[0].Spec.Idempotency
	if got == nil || !got.Enabled || got.TTL == nil || got.TTL.Duration.String() != "24h0m0s" || got.Store != "Memory" || got.FailurePolicy != "Fail" {
		t.Errorf("idempotency left out: %+v, want {enabled: true, ttl: 24h, store: Memory, failurePolicy: Fail}", got)
	}

	loaded, err = LoadManifests(writeManifest(t, endpoint+"  idempotency: {enabled: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loaded.File.Endpoints[0].Spec.Idempotency; got == nil || got.Enabled {
		t.Errorf("idempotency turned off: %+v, want it off", got)
	}
}

// TestLoadManifestsReturnsWhatItAdmitted: with a refused document, the rest is returned along with the
// problems, each object located, so that the compile step can check it in the same round.
func TestLoadManifestsReturnsWhatItAdmitted(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	writeTo(t, good, `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: good}
spec: {dialect: Generic, auth: {allowUnauthenticated: true}}
`)
	writeTo(t, bad, `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bad}
spec: {dialect: Lex, auth: {allowUnauthenticated: true}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: r}
spec: {endpointRef: {name: bad}, match: {events: [e]}, respond: {text: hi}}
`)
	loaded, err := LoadManifests(dir)
	var problems *Error
	if !errors.As(err, &problems) || len(problems.Problems) != 1 || problems.Problems[0].File != bad {
		t.Fatalf("want the one problem of %s, got %v", bad, err)
	}
	if loaded == nil || len(loaded.File.Endpoints) != 1 || loaded.File.Endpoints[0].Source != (configfile.Location{File: good, Document: 2}) {
		t.Fatalf("want the admitted endpoint located in %s, got %+v", good, loaded)
	}
	refused := loaded.File.Refused
	if len(refused) != 1 || refused[0].Name != "bad" || len(refused[0].Routes) != 1 ||
		refused[0].Routes[0].Source != (configfile.Location{File: bad, Document: 3}) {
		t.Errorf("want the refused endpoint with its located route, got %+v", refused)
	}
}

func TestProblemString(t *testing.T) {
	cases := map[string]struct {
		problem Problem
		want    string
	}{
		"manifest": {ProblemAt(configfile.Location{File: "bots/bank.yaml", Document: 3}, "IntentRoute", "default", "balance", "spec.call.url", "bad"),
			"bots/bank.yaml: document 3 (IntentRoute balance): spec.call.url: bad"},
		"rendered file": {ProblemAt(configfile.Location{File: "config.yaml", Path: "endpoints[0].routes[1]"}, "IntentRoute", "bots", "r", "spec.match.when", "bad"),
			"config.yaml (IntentRoute r): endpoints[0].routes[1].spec.match.when: bad"},
		"built in code": {ProblemAt(configfile.Location{}, "WebhookEndpoint", "bots", "bot", "spec.auth", "bad"),
			"WebhookEndpoint bots/bot: spec.auth: bad"},
		"no object": {Problem{Message: "--endpoint x: no such WebhookEndpoint"}, "--endpoint x: no such WebhookEndpoint"},
	}
	for name, tc := range cases {
		if got := tc.problem.String(); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
}

func TestLoadManifestsReportsFileDocumentAndField(t *testing.T) {
	cases := map[string]struct {
		manifest string
		want     []string
	}{
		"CEL rule": {`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec: {dialect: Generic, auth: {}}
`, []string{"document 2 (WebhookEndpoint bot)", "spec.auth", "needs at least one method"}},
		"enum": {`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec: {dialect: Lex, auth: {allowUnauthenticated: true}}
`, []string{"document 2 (WebhookEndpoint bot)", `spec.dialect: Unsupported value: "Lex"`}},
		"unknown field": {`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec: {dialect: Generic, auth: {allowUnauthenticated: true}, timout: 3s}
`, []string{"spec.timout", "unknown field"}},
		"route to a missing endpoint": {`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec: {dialect: Generic, auth: {allowUnauthenticated: true}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: r}
spec: {endpointRef: {name: bat}, match: {events: [e]}, respond: {text: hi}}
`, []string{"document 3 (IntentRoute r)", "spec.endpointRef.name", `"bat"`}},
		"duplicate names": {`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec: {dialect: Generic, auth: {allowUnauthenticated: true}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec: {dialect: Generic, auth: {allowUnauthenticated: true}}
`, []string{"document 3", "also defined in", "document 2"}},
		"secret data that is not base64": {`
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {token: "not base64!"}
`, []string{"document 2 (Secret s)", "data.token", "must be base64"}},
		"not YAML": {"a: [b\n", []string{"document 2", "not valid YAML"}},
		"introspection over plain http to another host": {`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec: {dialect: Generic, auth: {oauth2: {introspection: {url: "http://auth.example.com/introspect", secretRef: {name: c}}}}}
`, []string{"document 2 (WebhookEndpoint bot)", "spec.auth.oauth2.introspection.url", "must be an https URL"}},
		"introspection without its Secret": {`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec: {dialect: Generic, auth: {oauth2: {introspection: {url: "https://auth.example.com/introspect"}}}}
`, []string{"document 2 (WebhookEndpoint bot)", "spec.auth.oauth2.introspection.secretRef: Required value"}},
		"a method the dialect does not take": {`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec: {dialect: Rasa, methods: [POST, DELETE], auth: {allowUnauthenticated: true}}
`, []string{"document 2 (WebhookEndpoint bot)", "spec.methods", "only the Generic dialect accepts GET, PUT, PATCH or DELETE"}},
		"HEAD": {`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec: {dialect: Generic, methods: [GET, HEAD], auth: {allowUnauthenticated: true}}
`, []string{"document 2 (WebhookEndpoint bot)", `spec.methods[1]: Unsupported value: "HEAD"`}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadManifests(writeManifest(t, tc.manifest))
			if err == nil {
				t.Fatal("invalid manifest accepted")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if !strings.Contains(err.Error(), "bot.yaml") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestSecretValuesNeverAppearInErrors(t *testing.T) {
	_, err := LoadManifests(writeManifest(t, `
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {token: "c3VwZXItc2VjcmV0!"}
`))
	if err == nil || strings.Contains(err.Error(), "c3VwZXItc2VjcmV0") {
		t.Errorf("want an error without the secret value, got %v", err)
	}
}

func writeManifest(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bot.yaml")
	writeTo(t, path, content)
	return path
}

// writeTo writes content to path after a comment-only document, so that its first document is document 2.
func writeTo(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("# test manifest\n---\n"+strings.TrimPrefix(content, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRenderedFileParsesBackToTheSameConfiguration(t *testing.T) {
	loaded, err := LoadManifests(filepath.Join(testenv.RepoRoot(), "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := configfile.Render(loaded.File)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseFile("config.yaml", rendered)
	if err != nil {
		t.Fatalf("the rendered configuration is refused: %v\n%s", err, rendered)
	}
	again, err := configfile.Render(parsed)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(rendered) {
		t.Errorf("render -> parse -> render changed the file:\n%s\n---\n%s", rendered, again)
	}

	// The same content listed in another order renders to the same bytes.
	reversed := *loaded.File
	reversed.Endpoints = nil
	for i := len(loaded.File.Endpoints) - 1; i >= 0; i-- {
		endpoint := loaded.File.Endpoints[i]
		routes := append([]configfile.Route(nil), endpoint.Routes...)
		for a, b := 0, len(routes)-1; a < b; a, b = a+1, b-1 {
			routes[a], routes[b] = routes[b], routes[a]
		}
		endpoint.Routes = routes
		reversed.Endpoints = append(reversed.Endpoints, endpoint)
	}
	if out, _ := configfile.Render(&reversed); string(out) != string(rendered) {
		t.Error("rendering depends on the order of endpoints and routes")
	}
}

// drainPods survives render and parse, in an order that does not depend on how the operator listed the pods
// (the file's hash is the endpoint's configHash).
func TestRenderedDrainPodsParseBack(t *testing.T) {
	loaded, err := LoadManifests(filepath.Join(testenv.RepoRoot(), "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	file := *loaded.File
	file.DrainPods = []string{"events-2", "events-1"}
	rendered, err := configfile.Render(&file)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseFile("config.yaml", rendered)
	if err != nil {
		t.Fatalf("a configuration with drainPods is refused: %v", err)
	}
	if want := []string{"events-1", "events-2"}; !slices.Equal(parsed.DrainPods, want) {
		t.Errorf("drainPods parsed back as %q, want %q", parsed.DrainPods, want)
	}
	file.DrainPods = []string{"events-1", "events-2"}
	if again, _ := configfile.Render(&file); string(again) != string(rendered) {
		t.Error("rendering depends on the order of drainPods")
	}
	file.DrainPods = nil
	if without, _ := configfile.Render(&file); strings.Contains(string(without), "drainPods") {
		t.Errorf("a configuration that drains no pod renders drainPods:\n%s", without)
	}
}

func TestParseFileRefusesProblemsWithTheirLocation(t *testing.T) {
	_, err := ParseFile("config.yaml", []byte(`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookServerConfig
endpoints:
- name: bot
  namespace: bots
  spec: {dialect: Generic, auth: {allowUnauthenticated: true}, limits: {requestsPerSecond: 10, burst: 20}}
  routes:
  - name: r
    spec: {endpointRef: {name: bot}, match: {events: [e]}}
`))
	if err == nil {
		t.Fatal("a route without an action was accepted")
	}
	if !strings.Contains(err.Error(), "config.yaml") || !strings.Contains(err.Error(), "endpoints[0].routes[0].spec") ||
		!strings.Contains(err.Error(), "exactly one action") {
		t.Errorf("error does not locate the problem: %v", err)
	}
	if strings.Contains(err.Error(), "limits") {
		t.Errorf("integer limits were refused (numbers decoded as floats?): %v", err)
	}
}

func TestAdmittedFileIsReadAsAdmittedWithoutBuildingValidators(t *testing.T) {
	loaded, err := LoadManifests(filepath.Join(testenv.RepoRoot(), "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	admitted := *loaded.File
	admitted.Admitted = true
	rendered, err := configfile.Render(&admitted)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rendered), "admitted: true") {
		t.Fatalf("admitted is not rendered:\n%s", rendered)
	}

	ReleaseSchemas()
	parsed, err := ParseFile("config.yaml", rendered)
	if err != nil {
		t.Fatalf("the admitted configuration is refused: %v", err)
	}
	if !parsed.Admitted {
		t.Error("parsed file lost admitted")
	}
	// What the server serves from it is what full admission gives.
	parsed.Admitted = false
	fully, err := configfile.Render(parsed)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := configfile.Render(loaded.File); string(fully) != string(want) {
		t.Errorf("an admitted file reads differently from the manifests it came from:\n%s\n---\n%s", fully, want)
	}
	for kind, schema := range schemaCache.byKind {
		if schema.openAPI != nil || schema.cel != nil {
			t.Errorf("%s: the validators were built for an admitted file", kind)
		}
	}
}

func TestAdmittedFileIsStillPrunedAndDefaulted(t *testing.T) {
	const file = `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookServerConfig
admitted: true
endpoints:
- name: bot
  namespace: bots
  spec: {dialect: Generic, auth: {allowUnauthenticated: true}%s}
`
	// Written by an operator from before a field had a default: the default is applied, as the API server would.
	parsed, err := ParseFile("config.yaml", []byte(fmt.Sprintf(file, "")))
	if err != nil {
		t.Fatal(err)
	}
	if spec := parsed.Endpoints[0].Spec; spec.Path != "/webhook" || spec.Limits == nil || spec.Limits.MaxBodyBytes.String() != "1Mi" {
		t.Errorf("defaults not applied to an admitted file: path %q, limits %+v", spec.Path, spec.Limits)
	}
	// A field this server does not know is refused, not silently dropped.
	_, err = ParseFile("config.yaml", []byte(fmt.Sprintf(file, ", colour: blue")))
	if err == nil || !strings.Contains(err.Error(), "endpoints[0].spec.colour") || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("an unknown field in an admitted file: %v", err)
	}
}

// TestRenderedLeavingParsesBack: an endpoint a gateway serves as leaving keeps the mark through rendering and
// parsing, and only that endpoint has it.
func TestRenderedLeavingParsesBack(t *testing.T) {
	loaded, err := LoadManifests(filepath.Join(testenv.RepoRoot(), "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	file := *loaded.File
	file.Endpoints = slices.Clone(file.Endpoints)
	file.Endpoints[0].Leaving = true
	rendered, err := configfile.Render(&file)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseFile("config.yaml", rendered)
	if err != nil {
		t.Fatalf("a configuration with a leaving endpoint is refused: %v", err)
	}
	for _, e := range parsed.Endpoints {
		if want := e.Name == file.Endpoints[0].Name; e.Leaving != want {
			t.Errorf("endpoint %s parsed back with leaving %v, want %v", e.Name, e.Leaving, want)
		}
	}
}
