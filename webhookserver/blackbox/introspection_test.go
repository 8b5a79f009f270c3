package blackbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	introspectionClientID     = "fulfillment-bot"
	introspectionClientSecret = "introspection-client-secret-1f3a"
)

// authorizationServer is an RFC 7662 introspection endpoint on loopback. It knows the tokens issued to it,
// calls a token past its exp inactive as a real one does, and counts its calls.
type authorizationServer struct {
	server *httptest.Server
	calls  atomic.Int32

	mu     sync.Mutex
	tokens map[string]map[string]any
	// status, when set, is answered instead (a failing server); hang holds every call until the test ends.
	status int
	hang   chan struct{}
}

func newAuthorizationServer(t *testing.T) *authorizationServer {
	t.Helper()
	as := &authorizationServer{tokens: map[string]map[string]any{}}
	as.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		as.calls.Add(1)
		as.mu.Lock()
		status, hang := as.status, as.hang
		as.mu.Unlock()
		if hang != nil {
			<-hang
			return
		}
		if status != 0 {
			http.Error(w, "unavailable", status)
			return
		}
		id, secret, ok := r.BasicAuth()
		if r.Method != http.MethodPost || !ok || id != introspectionClientID || secret != introspectionClientSecret {
			w.Header().Set("WWW-Authenticate", `Basic realm="introspection"`)
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("token_type_hint") != "access_token" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		as.mu.Lock()
		claims, known := as.tokens[r.PostForm.Get("token")]
		as.mu.Unlock()
		answer := map[string]any{"active": false}
		if exp, _ := claims["exp"].(int64); known && (exp == 0 || time.Now().Unix() < exp) {
			answer = map[string]any{"active": true, "client_id": "dialog-platform", "token_type": "Bearer"}
			for k, v := range claims {
				answer[k] = v
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(func() {
		as.mu.Lock()
		if as.hang != nil {
			close(as.hang)
		}
		as.mu.Unlock()
		as.server.Close()
	})
	return as
}

func (as *authorizationServer) issue(token string, claims map[string]any) {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.tokens[token] = claims
}

// introspectionEndpoint writes an endpoint that introspects tokens at as, with settings appended to its
// introspection, and a route that answers event e.
func introspectionEndpoint(t *testing.T, as *authorizationServer, timeout, settings string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "bot.yaml", `
apiVersion: v1
kind: Secret
metadata: {name: introspection-client}
stringData: {clientID: `+introspectionClientID+`, clientSecret: `+introspectionClientSecret+`}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: events}
spec:
  dialect: Generic
  timeout: `+timeout+`
  auth:
    oauth2:
      introspection:
        url: `+as.server.URL+`/oauth2/introspect
        secretRef: {name: introspection-client}`+settings+`
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

func bearerHeader(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// TestTokenIntrospection: the server asks a local RFC 7662 authorization server about each opaque token, admits
// an active one with the scope and audience, refuses the others with the RFC 6750 status and challenge, and
// reuses an answer until the token's exp, without asking again.
func TestTokenIntrospection(t *testing.T) {
	as := newAuthorizationServer(t)
	const writer, reader, foreign, expiring, revoked = "tok-writer-5d1c", "tok-reader-77a0", "tok-foreign-0b9e", "tok-expiring-c4f2", "tok-revoked-9e31"
	as.issue(writer, map[string]any{"scope": "openid fulfillment:write", "aud": []string{"https://bot.example.com"}})
	as.issue(reader, map[string]any{"scope": "bank.read", "aud": "https://bot.example.com"})
	as.issue(foreign, map[string]any{"scope": "fulfillment:write", "aud": "https://other.example.com"})
	s := startServer(t, "--manifests", introspectionEndpoint(t, as, "5s", `
        requiredScopes: ["fulfillment:write"]
        audience: https://bot.example.com
        cacheTTL: 60s`))
	body := []byte(`{"event":"e"}`)

	if resp, content := s.post("/webhook", body, bearerHeader(writer)); resp.StatusCode != http.StatusOK || !strings.Contains(string(content), `"ok"`) {
		t.Fatalf("an active token with the scope: %d %s", resp.StatusCode, content)
	}
	if calls := as.calls.Load(); calls != 1 {
		t.Fatalf("%d introspection calls, want 1", calls)
	}
	for range 5 {
		if resp, content := s.post("/webhook", body, bearerHeader(writer)); resp.StatusCode != http.StatusOK {
			t.Fatalf("the same token again: %d %s", resp.StatusCode, content)
		}
	}
	if calls := as.calls.Load(); calls != 1 {
		t.Errorf("%d introspection calls after 6 requests with one token, want 1: the answer is cached", calls)
	}

	refusals := []struct {
		name, token string
		status      int
		code        string
		challenge   string
	}{
		{"inactive", revoked, 401, "inactive_token", `Bearer realm="fulfillment", error="invalid_token"`},
		{"missing scope", reader, 403, "insufficient_scope", `Bearer realm="fulfillment", error="insufficient_scope", scope="fulfillment:write"`},
		{"wrong audience", foreign, 401, "wrong_audience", `Bearer realm="fulfillment", error="invalid_token"`},
	}
	for _, r := range refusals {
		resp, content := s.post("/webhook", body, bearerHeader(r.token))
		var answer struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.Unmarshal(content, &answer)
		if resp.StatusCode != r.status || answer.Error.Code != r.code {
			t.Errorf("%s: %d %s, want %d %s", r.name, resp.StatusCode, content, r.status, r.code)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != r.challenge {
			t.Errorf("%s: WWW-Authenticate %q, want %q", r.name, got, r.challenge)
		}
		if lines := s.metric(`fulfillment_auth_failures_total{`, `method="oauth2"`, `reason="`+r.code+`"`); len(lines) != 1 || !strings.HasSuffix(lines[0], " 1") {
			t.Errorf("%s: metric %q, want one refusal", r.name, lines)
		}
	}
	if resp, _ := s.post("/webhook", body, nil); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Bearer realm="fulfillment"` {
		t.Errorf("no token: %d %q, want 401 with a challenge without error", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if calls := as.calls.Load(); calls != 4 {
		t.Errorf("%d introspection calls, want 4 (a request without a token makes none)", calls)
	}
	if !s.waitForLog(`"code":"insufficient_scope"`) || !s.waitForLog(`"authMethod":"oauth2"`) {
		t.Error("the refusal's reason is not logged")
	}

	// A token is reused until its exp, then asked about again (and the server now calls it inactive).
	exp := time.Now().Add(2 * time.Second).Unix()
	as.issue(expiring, map[string]any{"scope": "fulfillment:write", "aud": "https://bot.example.com", "exp": exp})
	before := as.calls.Load()
	for range 3 {
		if resp, content := s.post("/webhook", body, bearerHeader(expiring)); resp.StatusCode != http.StatusOK {
			t.Fatalf("a token before its exp: %d %s", resp.StatusCode, content)
		}
	}
	if calls := as.calls.Load() - before; calls != 1 {
		t.Errorf("%d calls for a token before its exp, want 1", calls)
	}
	time.Sleep(time.Until(time.Unix(exp, 0)) + 100*time.Millisecond)
	if resp, content := s.post("/webhook", body, bearerHeader(expiring)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a token past its exp: %d %s, want 401", resp.StatusCode, content)
	}
	if calls := as.calls.Load() - before; calls != 2 {
		t.Errorf("%d calls for a token before and after its exp, want 2: the answer must not outlive exp", calls)
	}
}

// TestTokenIntrospectionFailsClosed: an authorization server that fails or hangs never lets a request through;
// the request is refused with 503 and Retry-After within its deadline, and the log says why.
func TestTokenIntrospectionFailsClosed(t *testing.T) {
	as := newAuthorizationServer(t)
	as.issue("tok-good-31aa", map[string]any{})
	s := startServer(t, "--manifests", introspectionEndpoint(t, as, "1s", ""))
	body := []byte(`{"event":"e"}`)

	as.mu.Lock()
	as.status = http.StatusInternalServerError
	as.mu.Unlock()
	resp, content := s.post("/webhook", body, bearerHeader("tok-good-31aa"))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(content), "introspection_unavailable") {
		t.Errorf("a failing authorization server: %d %q %s, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), content)
	}
	if !s.waitForLog("token introspection failed") || !s.waitForLog("500 Internal Server Error") {
		t.Error("the log does not say that introspection failed")
	}

	as.mu.Lock()
	as.status, as.hang = 0, make(chan struct{})
	as.mu.Unlock()
	start := time.Now()
	resp, content = s.post("/webhook", body, bearerHeader("tok-good-31aa"))
	took := time.Since(start)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(content), "introspection_unavailable") {
		t.Errorf("a hanging authorization server: %d %s, want 503", resp.StatusCode, content)
	}
	if took > 1500*time.Millisecond {
		t.Errorf("refused after %v, want within the 1s deadline", took)
	}
	if lines := s.metric(`fulfillment_auth_failures_total{`, `method="oauth2"`, `reason="introspection_unavailable"`); len(lines) != 1 || !strings.HasSuffix(lines[0], " 2") {
		t.Errorf("metric %q, want two refusals", lines)
	}
}
