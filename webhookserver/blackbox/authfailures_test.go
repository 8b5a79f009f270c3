package blackbox

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEmptyCredentialsAreRefusedAtStart: an empty basic username or password, or a bearer token of only space,
// would let in whoever sends an empty credential (curl -u :): the server does not start, and says which Secret
// and key to fill.
func TestEmptyCredentialsAreRefusedAtStart(t *testing.T) {
	for name, tc := range map[string]struct{ secret, auth, want string }{
		"basic": {
			secret: `{username: "", password: ""}`,
			auth:   `{basic: {secretRef: {name: creds}}}`,
			want:   `secret creds key "username" is empty: put the username callers send there`,
		},
		"bearer": {
			secret: `{token: "  "}`,
			auth:   `{bearer: {secretRef: {name: creds, key: token}}}`,
			want:   `secret creds key "token" is empty: put the token callers send there`,
		},
		"introspection": {
			secret: `{clientID: bot, clientSecret: ""}`,
			auth:   `{oauth2: {introspection: {url: "https://auth.example.com/introspect", secretRef: {name: creds}}}}`,
			want:   `oauth2.introspection.secretRef: secret creds key "clientSecret" is empty: put the client secret this server introspects tokens with there`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "bot.yaml", `
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: `+tc.secret+`
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bot}
spec: {dialect: Generic, auth: `+tc.auth+`}
`)
			out, err := runBinary(t, "serve", "--manifests", dir, "--listen", freePort(t), "--metrics-listen", freePort(t))
			if err == nil || !strings.Contains(out, "bot.yaml: document 2 (WebhookEndpoint bot): spec.auth: ") || !strings.Contains(out, tc.want) {
				t.Errorf("want serve to exit with %q, got %v:\n%s", tc.want, err, out)
			}
		})
	}
}

// TestAuthenticationFloodDoesNotStarveThePlatform: one address sending bad credentials gets 401 until its
// budget of failures is spent, then 429 before its requests are read; the endpoint's request rate is spent only
// by authenticated requests, so the platform, from another address, keeps being answered.
func TestAuthenticationFloodDoesNotStarveThePlatform(t *testing.T) {
	s := startServer(t, "--manifests", bearerEventsEndpoint(t, `
    # The test client is 127.0.0.1: X-Forwarded-For names two client addresses.
    ipAllowlist: {cidrs: [0.0.0.0/0], trustedProxies: [127.0.0.1/32]}
  limits: {requestsPerSecond: 10, burst: 10}`))
	body := []byte(`{"event":"e"}`)
	attacker := http.Header{"X-Forwarded-For": {"203.0.113.66"}, "Authorization": {"Bearer guess"}}
	platform := http.Header{"X-Forwarded-For": {"198.51.100.7"}, "Authorization": {"Bearer events-secret-token"}}

	var flood []int
	for i := range 60 {
		resp, _ := s.post("/webhook", body, attacker)
		flood = append(flood, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Errorf("flood request %d: 429 without Retry-After", i)
		}
		if i%10 == 9 {
			if resp, content := s.post("/webhook", body, platform); resp.StatusCode != http.StatusOK {
				t.Errorf("the platform, after %d flood requests: %d %s", i+1, resp.StatusCode, content)
			}
		}
	}
	first429 := len(flood)
	for i, status := range flood {
		if status == http.StatusTooManyRequests {
			first429 = i
			break
		}
	}
	for i, status := range flood {
		if want := http.StatusUnauthorized; i >= first429 {
			want = http.StatusTooManyRequests
			if status != want {
				t.Errorf("flood request %d: %d after a 429, want %d", i, status, want)
			}
		} else if status != want {
			t.Errorf("flood request %d: %d, want %d", i, status, want)
		}
	}
	if first429 < 10 || first429 > 30 {
		t.Errorf("the flood was refused with 429 from its request %d on; want after its budget of failures (20)", first429)
	}

	// Over its budget, the address is refused before its body is read: the answer comes without the body.
	status := statusWithoutBody(t, s, "203.0.113.66")
	if status != http.StatusTooManyRequests {
		t.Errorf("a request from the flooding address that never sends its body: %d, want 429 at once", status)
	}
	if lines := s.metric(`fulfillment_auth_failures_total{endpoint="default/events",method="none",reason="too_many_failures"}`); len(lines) != 1 {
		t.Errorf("the refused flood is not counted: %v", s.metric("fulfillment_auth_failures_total"))
	}
}

// TestFloodThroughTheSameIngressDoesNotStopThePlatform: behind an ingress every request comes from its
// address (no trustedProxies here). A flood of bad credentials spends that address's budget, and guesses get
// 429; the platform's credential, which authenticated before, is still checked and answered.
func TestFloodThroughTheSameIngressDoesNotStopThePlatform(t *testing.T) {
	s := startServer(t, "--manifests", bearerEventsEndpoint(t, ""))
	body := []byte(`{"event":"e"}`)
	platform := http.Header{"Authorization": {"Bearer events-secret-token"}}
	if resp, content := s.post("/webhook", body, platform); resp.StatusCode != http.StatusOK {
		t.Fatalf("the platform before the flood: %d %s", resp.StatusCode, content)
	}
	refused := 0
	for i := range 60 {
		resp, _ := s.post("/webhook", body, http.Header{"Authorization": {"Bearer guess-" + strconv.Itoa(i)}})
		if resp.StatusCode == http.StatusTooManyRequests {
			refused++
		}
		if i%10 == 9 {
			if resp, content := s.post("/webhook", body, platform); resp.StatusCode != http.StatusOK {
				t.Errorf("the platform, through the flooded address after %d guesses: %d %s", i+1, resp.StatusCode, content)
			}
		}
	}
	if refused < 30 {
		t.Errorf("%d of 60 guesses refused with 429, want every one past the budget of 20", refused)
	}
}

// bearerEventsEndpoint writes a Generic endpoint authenticated with the bearer token events-secret-token, with
// more of its spec.auth (indented under it) and spec after the bearer line, and a route answering event e; it
// returns the folder.
func bearerEventsEndpoint(t *testing.T, more string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "bot.yaml", `
apiVersion: v1
kind: Secret
metadata: {name: events-token}
stringData: {token: events-secret-token}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: events}
spec:
  dialect: Generic
  auth:
    bearer: {secretRef: {name: events-token, key: token}}`+more+`
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: ok}
spec:
  endpointRef: {name: events}
  match: {events: [e]}
  respond: {text: ok}
`)
	return dir
}

// statusWithoutBody sends the headers of a POST from client that announces a body it never sends, and returns
// the status of the answer.
func statusWithoutBody(t *testing.T, s *server, client string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	request := "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n" +
		"Authorization: Bearer guess\r\nX-Forwarded-For: " + client + "\r\n\r\n"
	if _, err := conn.Write([]byte(request)); err != nil {
		t.Fatal(err)
	}
	statusLine, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer before the body: %v", err)
	}
	fields := strings.Fields(statusLine)
	if len(fields) < 2 {
		t.Fatalf("status line %q", statusLine)
	}
	status, err := strconv.Atoi(fields[1])
	if err != nil {
		t.Fatalf("status line %q", statusLine)
	}
	return status
}
