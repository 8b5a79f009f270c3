package blackbox

import (
	"bytes"
	"errors"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

// sampleEndpoint is a sample WebhookEndpoint and the send flags that select one of its routes.
type sampleEndpoint struct {
	name     string
	selector []string
}

// sampleEndpoints are every WebhookEndpoint in config/samples, each with a route to select: one without a
// guard when there is one, so that a new sample is tested without editing this file.
func sampleEndpoints(t *testing.T) []sampleEndpoint {
	t.Helper()
	loaded, err := config.LoadManifests(samples())
	if err != nil {
		t.Fatal(err)
	}
	var endpoints []sampleEndpoint
	for _, ep := range loaded.File.Endpoints {
		routes := slices.Clone(ep.Routes)
		slices.SortStableFunc(routes, func(a, b configfile.Route) int {
			return strings.Compare(a.Spec.Match.When, b.Spec.Match.When) // no guard first
		})
		var selector []string
		for _, route := range routes {
			m := route.Spec.Match
			switch {
			case len(m.Actions) > 0: // first: Rasa calls with an action only
				selector = []string{"--action", m.Actions[0]}
			case len(m.Tags) > 0:
				selector = []string{"--tag", m.Tags[0]}
			case len(m.Intents) > 0:
				selector = []string{"--intent", m.Intents[0]}
			case len(m.Events) > 0:
				selector = []string{"--event", m.Events[0]}
			default:
				continue
			}
			break
		}
		if selector == nil {
			t.Fatalf("sample endpoint %s/%s has no route to select", ep.Namespace, ep.Name)
		}
		endpoints = append(endpoints, sampleEndpoint{name: ep.Namespace + "/" + ep.Name, selector: selector})
	}
	if len(endpoints) < 4 {
		t.Fatalf("found %d sample endpoints in %s", len(endpoints), samples())
	}
	return endpoints
}

// startRunLocal starts the server as `make run-local` does (make -n prints its command), serving every sample
// endpoint, on free loopback ports.
func startRunLocal(t *testing.T, endpoints []sampleEndpoint) *server {
	t.Helper()
	names := make([]string, len(endpoints))
	for i, ep := range endpoints {
		names[i] = ep.name
	}
	cmd := exec.Command("make", "--no-print-directory", "-n", "run-local", "LOCAL_ENDPOINTS="+strings.Join(names, ","))
	cmd.Dir = testenv.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n run-local: %v", err)
	}
	const goRun = "go run ./webhookserver/cmd/webhookserver serve "
	recipe := strings.TrimSpace(string(out))
	if !strings.HasPrefix(recipe, goRun) || strings.Contains(recipe, "\n") {
		t.Fatalf("make run-local is no longer one %q command:\n%s", goRun, recipe)
	}
	var args []string
	for _, arg := range strings.Fields(strings.TrimPrefix(recipe, goRun)) {
		arg = strings.Trim(arg, `"'`)
		if arg == "config/samples" {
			arg = samples()
		}
		args = append(args, arg)
	}
	// Flags given last win: the queues go to a folder of the test's.
	return startServer(t, append(args, "--queue-dir", t.TempDir())...)
}

// runSend runs webhookserver send with args and returns its exit status, stdout and stderr.
func runSend(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := execCommand(binary, append([]string{"send"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	outputs.add(stderr.String())
	return code, stdout.String(), stderr.String()
}

// TestSendEverySample sends to every sample endpoint with webhookserver send, as the README's quick start does,
// and gets a 2xx answer; then runs the command --print-curl prints with curl, and gets a 2xx answer again.
func TestSendEverySample(t *testing.T) {
	endpoints := sampleEndpoints(t)
	srv := startRunLocal(t, endpoints)
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			args := append([]string{"--manifests", samples(), "--endpoint", ep.name, "--url", srv.URL}, ep.selector...)
			code, stdout, stderr := runSend(t, args...)
			if code != 0 {
				t.Fatalf("send %v: exit %d\n%s%s", args, code, stderr, stdout)
			}
			if !strings.Contains(stderr, " 20") || !strings.Contains(stderr, "route: ") {
				t.Errorf("send printed no 2xx status and route:\n%s", stderr)
			}
			if !strings.HasPrefix(stdout, "{\n  \"") {
				t.Errorf("the answer is not pretty JSON:\n%s", stdout)
			}

			code, command, stderr := runSend(t, append(args, "--print-curl")...)
			if code != 0 || !strings.HasPrefix(command, "curl ") {
				t.Fatalf("send --print-curl: exit %d\n%s%s", code, stderr, command)
			}
			curl := exec.Command("bash", "-c", strings.TrimSpace(command)+` -o /dev/null -w '%{http_code}'`)
			status, err := curl.Output()
			if err != nil {
				t.Fatalf("%s: %v", command, err)
			}
			if !strings.HasPrefix(string(status), "20") {
				t.Errorf("curl as printed: status %s\n%s", status, command)
			}
		})
	}
	// A route that answers from a template reports itself.
	code, stdout, stderr := runSend(t, "--manifests", samples(), "--endpoint", "bank-bot", "--url", srv.URL,
		"--intent", "GetAccountBalance", "--param", "account=demo")
	if code != 0 || !strings.Contains(stderr, "200 OK") || !strings.Contains(stderr, "route: default/bank-bot-balance-demo\n") ||
		!strings.Contains(stdout, `"fulfillmentText": "Your demo account balance is 1234.56 EUR."`) {
		t.Errorf("bank-bot demo balance: exit %d\n%s%s", code, stderr, stdout)
	}
}

// TestSendFailsOnRefusal: a refused request (a wrong password) exits non-zero, with the status and the error.
func TestSendFailsOnRefusal(t *testing.T) {
	const manifest = `apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec:
  dialect: DialogflowES
  path: /bot
  auth:
    basic: {secretRef: {name: bot-auth}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: hello}
spec:
  endpointRef: {name: bot}
  match: {intents: [hello]}
  respond: {text: hi}
---
apiVersion: v1
kind: Secret
metadata: {name: bot-auth}
stringData: {username: dialogflow, password: right-password}
`
	dir, wrong := t.TempDir(), t.TempDir()
	writeFile(t, dir, "bot.yaml", manifest)
	writeFile(t, wrong, "bot.yaml", strings.Replace(manifest, "right-password", "wrong-password", 1))
	srv := startServer(t, "--manifests", dir)

	code, stdout, stderr := runSend(t, "--manifests", wrong, "--endpoint", "bot", "--intent", "hello", "--url", srv.URL)
	if code != 1 || !strings.Contains(stderr, "401 Unauthorized") || !strings.Contains(stdout, "invalid_credentials") {
		t.Errorf("a refused request: exit %d\n%s%s", code, stderr, stdout)
	}
	if !strings.Contains(stderr, "route: none\n") {
		t.Errorf("a refused request named a route:\n%s", stderr)
	}
	code, _, stderr = runSend(t, "--manifests", dir, "--endpoint", "bot", "--intent", "hello", "--url", srv.URL)
	if code != 0 || !strings.Contains(stderr, "route: default/hello\n") {
		t.Errorf("the right password: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runSend(t, "--manifests", dir, "--endpoint", "bot", "--tag", "hello")
	if code != 2 || !strings.Contains(stderr, "carry no tag") {
		t.Errorf("a tag for Dialogflow ES: exit %d\n%s", code, stderr)
	}
}

// TestRouteHeaderOnlyWhenAskedAndAuthenticated: the server names the route only to an authenticated request
// that asks; a platform's request, an unauthenticated one, and one to an open endpoint get no such header.
func TestRouteHeaderOnlyWhenAskedAndAuthenticated(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bots.yaml", `apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: closed, namespace: bots}
spec:
  dialect: Generic
  path: /closed
  auth:
    bearer: {secretRef: {name: closed-token, key: token}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: open, namespace: bots}
spec:
  dialect: Generic
  path: /open
  auth: {allowUnauthenticated: true}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: closed-ping, namespace: bots}
spec:
  endpointRef: {name: closed}
  match: {events: [ping]}
  respond: {text: pong}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: open-ping, namespace: bots}
spec:
  endpointRef: {name: open}
  match: {events: [ping]}
  respond: {text: pong}
---
apiVersion: v1
kind: Secret
metadata: {name: closed-token, namespace: bots}
stringData: {token: the-token}
`)
	srv := startServer(t, "--manifests", dir)
	body := []byte(`{"event":"ping"}`)
	header := func(token string, debug bool) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
		if debug {
			h.Set("Fulfillment-Debug", "route")
		}
		return h
	}
	for name, tc := range map[string]struct {
		path   string
		header http.Header
		status int
		route  string
	}{
		"asked, authenticated":     {"/closed", header("the-token", true), http.StatusOK, "bots/closed-ping"},
		"not asked":                {"/closed", header("the-token", false), http.StatusOK, ""},
		"asked, wrong token":       {"/closed", header("a-guess", true), http.StatusUnauthorized, ""},
		"asked, no token":          {"/closed", header("", true), http.StatusUnauthorized, ""},
		"asked, open endpoint":     {"/open", header("", true), http.StatusOK, ""},
		"not asked, open endpoint": {"/open", header("", false), http.StatusOK, ""},
	} {
		t.Run(name, func(t *testing.T) {
			resp, answer := srv.post(tc.path, body, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, answer)
			}
			if got := resp.Header.Get("Fulfillment-Route"); got != tc.route {
				t.Errorf("Fulfillment-Route %q, want %q", got, tc.route)
			}
		})
	}
}

// TestSendSaysWhenTheServerDoesNotNameTheRoute: an endpoint open to all answers from a route without naming
// it, and a duplicate is the first answer replayed; send says so instead of "none", which would read as "no
// route matched".
func TestSendSaysWhenTheServerDoesNotNameTheRoute(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bots.yaml", `apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: open}
spec:
  dialect: Generic
  path: /open
  auth: {allowUnauthenticated: true}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: open-ping}
spec:
  endpointRef: {name: open}
  match: {events: [ping]}
  respond: {text: pong}
`)
	srv := startServer(t, "--manifests", dir)
	args := []string{"--manifests", dir, "--endpoint", "open", "--url", srv.URL, "--event", "ping", "--data", `{"id":"evt-1"}`}
	code, stdout, stderr := runSend(t, args...)
	if code != 0 || !strings.Contains(stderr, "route: not named (the endpoint is open to all") || !strings.Contains(stdout, "pong") {
		t.Errorf("an open endpoint's answer: exit %d\n%s%s", code, stderr, stdout)
	}
	code, _, stderr = runSend(t, args...)
	if code != 0 || !strings.Contains(stderr, "route: not named (a duplicate") {
		t.Errorf("a duplicate's answer: exit %d\n%s", code, stderr)
	}
}
