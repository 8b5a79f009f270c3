package blackbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tokenServer is an OAuth2 token endpoint (client credentials grant) that counts its calls and issues tokens
// tok-1, tok-2, ... that expire after expiresIn seconds.
type tokenServer struct {
	*httptest.Server
	calls     atomic.Int64
	expiresIn atomic.Int64
	// hang makes it answer after this long (it holds the request until then, or the client gives up).
	hang atomic.Int64
	// abandoned counts requests whose client gave up while they hung.
	abandoned atomic.Int64
	mu        sync.Mutex
	// forms are the token requests' form values.
	forms []map[string]string
}

const (
	oauthClientID     = "fulfillment-client"
	oauthClientSecret = "client-secret-9c1f2e"
)

func newTokenServer(t *testing.T, expiresIn int) *tokenServer {
	s := &tokenServer{}
	s.expiresIn.Store(int64(expiresIn))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.calls.Add(1)
		formErr := r.ParseForm() // first: the server notices a client that gives up only once the body is read
		if hang := time.Duration(s.hang.Load()); hang > 0 {
			select {
			case <-time.After(hang):
			case <-r.Context().Done():
				s.abandoned.Add(1)
				return
			}
		}
		id, secret, ok := r.BasicAuth()
		if formErr != nil || !ok || id != oauthClientID || secret != oauthClientSecret ||
			r.PostForm.Get("grant_type") != "client_credentials" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		form := map[string]string{}
		for name := range r.PostForm {
			form[name] = r.PostForm.Get(name)
		}
		s.mu.Lock()
		s.forms = append(s.forms, form)
		s.mu.Unlock()
		token := fmt.Sprintf("tok-%d", n)
		secretsUsed.add([]byte(token))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": s.expiresIn.Load()})
	}))
	t.Cleanup(s.Close)
	return s
}

// tokenUpstream is an API that answers only requests with a token it takes; revoked tokens get 401.
type tokenUpstream struct {
	*httptest.Server
	mu       sync.Mutex
	seen     []string // the Authorization of every request
	accepted func(token string) bool
}

func newTokenUpstream(t *testing.T) *tokenUpstream {
	u := &tokenUpstream{accepted: func(token string) bool { return strings.HasPrefix(token, "tok-") }}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authorization := r.Header.Get("Authorization")
		u.mu.Lock()
		u.seen = append(u.seen, authorization)
		accepted := u.accepted
		u.mu.Unlock()
		token, ok := strings.CutPrefix(authorization, "Bearer ")
		if !ok || !accepted(token) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"balance": 42.5, "token": %q}`, token)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *tokenUpstream) requests() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.seen...)
}

func (u *tokenUpstream) accept(accepted func(token string) bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.accepted = accepted
}

// oauthManifest is a Generic endpoint whose route calls upstream with a token from tokenURL, within timeout.
func oauthManifest(tokenURL, upstream, timeout string) string {
	return fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: bank-oauth-client}
stringData: {clientID: %[4]s, clientSecret: %[5]s}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bank}
spec:
  dialect: Generic
  path: /bank
  timeout: %[3]s
  auth: {allowUnauthenticated: true}
  limits: {requestsPerSecond: 10000, burst: 10000}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: balance}
spec:
  endpointRef: {name: bank}
  match: {events: [balance]}
  call:
    url: %[2]s/balance
    method: GET
    auth:
      oauth2:
        tokenURL: %[1]s/oauth/token
        secretRef: {name: bank-oauth-client}
        scopes: [accounts.read, balances.read]
        audience: https://bank.example/api
        endpointParams: {resource: https://bank.example/api}
    respond:
      text: "Balance ${response.body.balance} with ${response.body.token}"
  fallback: {text: "The bank is unavailable."}
`, tokenURL, upstream, timeout, oauthClientID, oauthClientSecret)
}

func startOAuthBank(t *testing.T, tokens *tokenServer, up *tokenUpstream, timeout string) *server {
	dir := t.TempDir()
	writeFile(t, dir, "bank.yaml", oauthManifest(tokens.URL, up.URL, timeout))
	return startServer(t, "--manifests", dir)
}

// askBalance sends a Generic balance event and returns the answer's text and fallback header.
func askBalance(t *testing.T, s *server) (text, fallback string) {
	t.Helper()
	resp, content := s.post("/bank", []byte(`{"event": "balance"}`), nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d: %s", resp.StatusCode, content)
		return "", ""
	}
	var answer struct {
		FulfillmentText string `json:"fulfillmentText"`
	}
	if err := json.Unmarshal(content, &answer); err != nil {
		t.Errorf("%v: %s", err, content)
	}
	return answer.FulfillmentText, resp.Header.Get("Fulfillment-Fallback")
}

func TestOAuth2ConcurrentRequestsShareOneTokenFetch(t *testing.T) {
	tokens, up := newTokenServer(t, 3600), newTokenUpstream(t)
	s := startOAuthBank(t, tokens, up, "10s")
	var wg sync.WaitGroup
	start := time.Now()
	texts := make([]string, 100)
	for i := range texts {
		wg.Go(func() { texts[i], _ = askBalance(t, s) })
	}
	wg.Wait()
	t.Logf("100 concurrent requests answered in %v", time.Since(start))
	for i, text := range texts {
		if text != "Balance 42.5 with tok-1" {
			t.Fatalf("answer %d: %q", i, text)
		}
	}
	if n := tokens.calls.Load(); n != 1 {
		t.Errorf("the token endpoint was called %d times for 100 concurrent requests, want 1", n)
	}
	if got := tokens.forms[0]; got["scope"] != "accounts.read balances.read" || got["audience"] != "https://bank.example/api" ||
		got["resource"] != "https://bank.example/api" {
		t.Errorf("token request form %v", got)
	}
	if lines := s.metric("fulfillment_oauth2_token_fetches_total", `route="balance"`, `result="ok"`); len(lines) != 1 || !strings.HasSuffix(lines[0], " 1") {
		t.Errorf("token fetch metric: %v", lines)
	}
}

func TestOAuth2ExpiredTokenIsReplaced(t *testing.T) {
	tokens, up := newTokenServer(t, 1), newTokenUpstream(t)
	s := startOAuthBank(t, tokens, up, "5s")
	if text, _ := askBalance(t, s); text != "Balance 42.5 with tok-1" {
		t.Fatalf("first answer %q", text)
	}
	if text, _ := askBalance(t, s); text != "Balance 42.5 with tok-1" {
		t.Fatalf("a token within its life is kept: answer %q", text)
	}
	time.Sleep(1100 * time.Millisecond) // past expires_in
	if text, _ := askBalance(t, s); text != "Balance 42.5 with tok-2" {
		t.Fatalf("after expiry: answer %q", text)
	}
	if n := tokens.calls.Load(); n != 2 {
		t.Errorf("the token endpoint was called %d times, want 2", n)
	}
}

func TestOAuth2UnauthorizedRefreshesOnceAndRetriesOnce(t *testing.T) {
	tokens, up := newTokenServer(t, 3600), newTokenUpstream(t)
	s := startOAuthBank(t, tokens, up, "5s")
	if text, _ := askBalance(t, s); text != "Balance 42.5 with tok-1" {
		t.Fatalf("first answer %q", text)
	}

	// The upstream revokes tok-1: the request is refused once, the token fetched again and the call retried.
	up.accept(func(token string) bool { return token != "tok-1" })
	before := len(up.requests())
	if text, fallback := askBalance(t, s); text != "Balance 42.5 with tok-2" || fallback != "" {
		t.Fatalf("after revocation: answer %q (fallback %q)", text, fallback)
	}
	if got := up.requests()[before:]; len(got) != 2 || got[0] != "Bearer tok-1" || got[1] != "Bearer tok-2" {
		t.Errorf("the upstream saw %v, want tok-1 then tok-2", got)
	}
	if n := tokens.calls.Load(); n != 2 {
		t.Errorf("the token endpoint was called %d times, want 2", n)
	}

	// An upstream that refuses every token: one refresh, one retry, then the fallback.
	up.accept(func(string) bool { return false })
	before = len(up.requests())
	if text, fallback := askBalance(t, s); text != "The bank is unavailable." || fallback == "" {
		t.Fatalf("refused: answer %q (fallback %q)", text, fallback)
	}
	if got := up.requests()[before:]; len(got) != 2 {
		t.Errorf("the upstream saw %d requests, want 2 (the call and one retry): %v", len(got), got)
	}
	if n := tokens.calls.Load(); n != 3 {
		t.Errorf("the token endpoint was called %d times, want 3 (one refresh)", n)
	}
}

func TestOAuth2HangingTokenEndpointEndsInFallbackWithinDeadline(t *testing.T) {
	tokens, up := newTokenServer(t, 3600), newTokenUpstream(t)
	tokens.hang.Store(int64(30 * time.Second))
	s := startOAuthBank(t, tokens, up, "1s")
	start := time.Now()
	text, fallback := askBalance(t, s)
	elapsed := time.Since(start)
	if text != "The bank is unavailable." || fallback == "" {
		t.Fatalf("answer %q (fallback %q)", text, fallback)
	}
	if elapsed > 1500*time.Millisecond {
		t.Errorf("the fallback came after %v, past the 1s deadline", elapsed)
	}
	t.Logf("fallback after %v with a hanging token endpoint and a 1s deadline", elapsed)
	// The fetch itself ends with the request's deadline: the token endpoint sees the request abandoned.
	for deadline := time.Now().Add(2 * time.Second); tokens.abandoned.Load() != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the token request outlived the request's deadline")
		}
	}
	if len(up.requests()) != 0 {
		t.Error("the upstream was called without a token")
	}
	if lines := s.metric("fulfillment_oauth2_token_fetches_total", `route="balance"`, `result="timeout"`); len(lines) != 1 {
		t.Errorf("token fetch metric: %v", lines)
	}
	if !s.waitForLog("OAuth2 token fetch failed") {
		t.Error("no log line says the token fetch failed")
	}
	if !s.waitForLog(`"upstream":"token_unavailable"`) {
		t.Error("the request's log line does not say the token was unavailable")
	}
}

// A reload builds every route anew; a route whose grant did not change goes on with its token instead of asking
// the token endpoint again (any Secret change, an HMAC key rotation, reloads the configuration).
func TestOAuth2TokenOutlivesAReload(t *testing.T) {
	tokens, up := newTokenServer(t, 3600), newTokenUpstream(t)
	dir := t.TempDir()
	writeFile(t, dir, "bank.yaml", oauthManifest(tokens.URL, up.URL, "10s"))
	s := startServer(t, "--manifests", dir)
	if text, _ := askBalance(t, s); text != "Balance 42.5 with tok-1" {
		t.Fatalf("first answer %q", text)
	}

	writeFile(t, dir, "bank.yaml", strings.Replace(oauthManifest(tokens.URL, up.URL, "10s"),
		`text: "Balance `, `text: "Reloaded: balance `, 1))
	deadline := time.Now().Add(5 * time.Second)
	text, _ := askBalance(t, s)
	for !strings.HasPrefix(text, "Reloaded") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		text, _ = askBalance(t, s)
	}
	if text != "Reloaded: balance 42.5 with tok-1" || tokens.calls.Load() != 1 {
		t.Errorf("after a reload: %q after %d token fetches, want tok-1 after 1", text, tokens.calls.Load())
	}
}
