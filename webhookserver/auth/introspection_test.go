package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

const (
	testClientID     = "fulfillment-bot"
	testClientSecret = "client-secret-never-logged"
)

// testAuthorizationServer is an RFC 7662 introspection endpoint on loopback: it answers what answers holds for
// a token (an unknown token is inactive) and counts its calls.
type testAuthorizationServer struct {
	t      *testing.T
	server *httptest.Server
	calls  atomic.Int32

	mu      sync.Mutex
	answers map[string]map[string]any
	// status, when not 200, is answered instead; raw, when set, is the body.
	status int
	raw    string
	hang   chan struct{}
	// gate, when set, holds every call until it is closed.
	gate chan struct{}
}

func newTestAuthorizationServer(t *testing.T) *testAuthorizationServer {
	t.Helper()
	as := &testAuthorizationServer{t: t, answers: map[string]map[string]any{}, status: http.StatusOK}
	as.server = httptest.NewServer(http.HandlerFunc(as.introspect))
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

func (as *testAuthorizationServer) introspect(w http.ResponseWriter, r *http.Request) {
	as.calls.Add(1)
	as.mu.Lock()
	gate := as.gate
	as.mu.Unlock()
	if gate != nil {
		<-gate
	}
	id, secret, ok := r.BasicAuth()
	if r.Method != http.MethodPost || !ok || id != testClientID || secret != testClientSecret ||
		r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "unauthorized client", http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("token_type_hint") != "access_token" {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	as.mu.Lock()
	hang, status, raw := as.hang, as.status, as.raw
	answer, known := as.answers[r.PostForm.Get("token")]
	as.mu.Unlock()
	if hang != nil {
		<-hang
		return
	}
	if status != http.StatusOK {
		http.Error(w, "down", status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if raw != "" {
		_, _ = w.Write([]byte(raw))
		return
	}
	if !known {
		answer = map[string]any{"active": false}
	}
	_ = json.NewEncoder(w).Encode(answer)
}

// issue makes token active with answer's members besides active.
func (as *testAuthorizationServer) issue(token string, answer map[string]any) {
	as.mu.Lock()
	defer as.mu.Unlock()
	answer["active"] = true
	as.answers[token] = answer
}

func (as *testAuthorizationServer) checker(spec fulfillmentv1alpha1.TokenIntrospection, opts ...IntrospectionOption) *Introspection {
	as.t.Helper()
	spec.URL = as.server.URL + "/introspect"
	checker, err := NewIntrospection(&spec, testClientID, testClientSecret, opts...)
	if err != nil {
		as.t.Fatal(err)
	}
	return checker
}

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// expectIntrospection checks one outcome as expectOIDC does, and returns the refusal's BearerError and Scope.
func expectIntrospection(t *testing.T, checker Checker, r *Request, status int, reason string) (bearerError, scope string) {
	t.Helper()
	failure := CheckContext(context.Background(), checker, r)
	switch {
	case reason == "" && failure != nil:
		t.Errorf("refused: %d %v", failure.Status, failure)
	case reason != "" && failure == nil:
		t.Errorf("accepted, want %d %s", status, reason)
	case reason != "" && (failure.Reason != reason || failure.Status != status || failure.Method != "oauth2"):
		t.Errorf("got %d %s %s, want %d %s", failure.Status, failure.Method, failure.Reason, status, reason)
	}
	if failure == nil {
		return "", ""
	}
	return failure.BearerError, failure.Scope
}

func TestIntrospectionAnswers(t *testing.T) {
	as := newTestAuthorizationServer(t)
	exp := time.Now().Add(time.Hour).Unix()
	as.issue("reader", map[string]any{"scope": "openid bank.read", "aud": "https://bot.example.com", "exp": exp, "token_type": "Bearer"})
	as.issue("writer", map[string]any{"scope": "bank.read fulfillment:write", "aud": []string{"x", "https://bot.example.com"}, "exp": exp})
	as.issue("foreign", map[string]any{"scope": "bank.read fulfillment:write", "aud": "https://other.example.com"})
	as.issue("listless", map[string]any{"scope": "bank.read fulfillment:write"})
	as.issue("refresh", map[string]any{"scope": "bank.read fulfillment:write", "aud": "https://bot.example.com", "token_type": "refresh_token"})
	as.issue("dpop", map[string]any{"scope": "bank.read fulfillment:write", "aud": "https://bot.example.com", "token_type": "DPoP"})
	open := as.checker(fulfillmentv1alpha1.TokenIntrospection{SecretRef: fulfillmentv1alpha1.LocalObjectReference{Name: "c"}})
	strict := as.checker(fulfillmentv1alpha1.TokenIntrospection{Audience: "https://bot.example.com",
		RequiredScopes: []string{"fulfillment:write", "bank.read"}})

	cases := map[string]struct {
		checker     Checker
		request     *Request
		status      int
		reason      string
		bearerError string
	}{
		"active":                       {open, bearer("reader"), 0, "", ""},
		"active with scopes, audience": {strict, bearer("writer"), 0, "", ""},
		"inactive":                     {open, bearer("revoked"), 401, "inactive_token", "invalid_token"},
		"missing scope":                {strict, bearer("reader"), 403, "insufficient_scope", "insufficient_scope"},
		"wrong audience":               {strict, bearer("foreign"), 401, "wrong_audience", "invalid_token"},
		"no audience at all":           {strict, bearer("listless"), 401, "wrong_audience", "invalid_token"},
		"a refresh token":              {strict, bearer("refresh"), 401, "wrong_token_type", "invalid_token"},
		"a DPoP-bound token":           {strict, bearer("dpop"), 401, "wrong_token_type", "invalid_token"},
		"no header":                    {open, &Request{Header: http.Header{}}, 401, "missing_token", ""},
		"basic scheme":                 {open, &Request{Header: http.Header{"Authorization": {"Basic YTpi"}}}, 401, "missing_token", ""},
		"huge token":                   {open, bearer(strings.Repeat("a", 20000)), 401, "malformed_token", "invalid_token"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			bearerError, scope := expectIntrospection(t, tc.checker, tc.request, tc.status, tc.reason)
			if bearerError != tc.bearerError {
				t.Errorf("BearerError = %q, want %q", bearerError, tc.bearerError)
			}
			if tc.reason == "insufficient_scope" && scope != "fulfillment:write bank.read" {
				t.Errorf("Scope = %q, want the required scopes", scope)
			}
		})
	}
	if calls := as.calls.Load(); calls != 8 {
		t.Errorf("%d introspection calls, want 8 (one per token; none without a token)", calls)
	}
	if f := open.Check(bearer("reader")); f != nil {
		t.Errorf("Check refused: %v", f)
	}
}

// An authorization server that cannot answer refuses the request with 503, in the request's deadline, and its
// failure is not cached.
func TestIntrospectionFailsClosed(t *testing.T) {
	cases := map[string]func(as *testAuthorizationServer){
		"error status":      func(as *testAuthorizationServer) { as.status = http.StatusInternalServerError },
		"not JSON":          func(as *testAuthorizationServer) { as.raw = "<html>login</html>" },
		"no active member":  func(as *testAuthorizationServer) { as.raw = `{"scope":"bank.read"}` },
		"active not a bool": func(as *testAuthorizationServer) { as.raw = `{"active":"true"}` },
		"oversized answer": func(as *testAuthorizationServer) {
			as.raw = `{"active":true,"x":"` + strings.Repeat("a", introspectionMaxAnswerBytes) + `"}`
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			as := newTestAuthorizationServer(t)
			as.issue("token", map[string]any{})
			as.mu.Lock()
			setup(as)
			as.mu.Unlock()
			var reported []string
			checker := as.checker(fulfillmentv1alpha1.TokenIntrospection{},
				WithIntrospectionErrorHandler(func(err error) { reported = append(reported, err.Error()) }))
			expectIntrospection(t, checker, bearer("token"), 503, "introspection_unavailable")
			expectIntrospection(t, checker, bearer("token"), 503, "introspection_unavailable")
			if calls := as.calls.Load(); calls != 2 {
				t.Errorf("%d calls, want 2: a failure must not be cached", calls)
			}
			if len(reported) != 2 {
				t.Fatalf("reported %q, want two errors", reported)
			}
			for _, msg := range reported {
				if strings.Contains(msg, testClientSecret) || strings.Contains(msg, "token=") {
					t.Errorf("the error names a secret: %s", msg)
				}
			}
		})
	}

	t.Run("a server that hangs is given up at the request's deadline", func(t *testing.T) {
		as := newTestAuthorizationServer(t)
		as.hang = make(chan struct{})
		checker := as.checker(fulfillmentv1alpha1.TokenIntrospection{})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		f := checker.CheckContext(ctx, bearer("token"))
		if f == nil || f.Status != 503 || f.Reason != "introspection_unavailable" {
			t.Fatalf("got %v, want 503 introspection_unavailable", f)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("refused after %v, want about the 200ms deadline", took)
		}
	})

	t.Run("an unreachable server", func(t *testing.T) {
		as := newTestAuthorizationServer(t)
		checker := as.checker(fulfillmentv1alpha1.TokenIntrospection{})
		as.server.Close()
		expectIntrospection(t, checker, bearer("token"), 503, "introspection_unavailable")
	})

	t.Run("a redirect is not followed", func(t *testing.T) {
		as := newTestAuthorizationServer(t)
		as.issue("token", map[string]any{})
		redirect := httptest.NewServer(http.RedirectHandler(as.server.URL+"/introspect", http.StatusTemporaryRedirect))
		t.Cleanup(redirect.Close)
		checker, err := NewIntrospection(&fulfillmentv1alpha1.TokenIntrospection{URL: redirect.URL}, testClientID, testClientSecret)
		if err != nil {
			t.Fatal(err)
		}
		expectIntrospection(t, checker, bearer("token"), 503, "introspection_unavailable")
		if calls := as.calls.Load(); calls != 0 {
			t.Errorf("the redirect was followed: %d calls with the client credentials", calls)
		}
	})
}

func TestIntrospectionCacheTTL(t *testing.T) {
	clock := &testClock{now: time.Unix(1_800_000_000, 0)}
	as := newTestAuthorizationServer(t)
	as.issue("short", map[string]any{"exp": clock.now.Add(30 * time.Second).Unix()})
	as.issue("long", map[string]any{"exp": clock.now.Add(time.Hour).Unix()})
	as.issue("endless", map[string]any{})
	as.issue("bad-exp", map[string]any{"exp": "tomorrow"})
	checker := as.checker(fulfillmentv1alpha1.TokenIntrospection{}, WithIntrospectionClock(clock.Now))

	callsFor := func(token string) int32 {
		t.Helper()
		before := as.calls.Load()
		_ = CheckContext(context.Background(), checker, bearer(token))
		return as.calls.Load() - before
	}
	steps := []struct {
		advance time.Duration
		token   string
		calls   int32
	}{
		{0, "short", 1}, {0, "long", 1}, {0, "endless", 1}, {0, "revoked", 1},
		{0, "short", 0}, {0, "long", 0}, {0, "endless", 0}, {0, "revoked", 0},
		// An inactive answer is reused for at most 10s.
		{9 * time.Second, "revoked", 0}, {2 * time.Second, "revoked", 1},
		// At 30s the short token's exp ends its answer; the others live for the 60s default.
		{18 * time.Second, "short", 0}, {time.Second, "long", 0}, {0, "short", 1},
		{28 * time.Second, "long", 0}, {0, "endless", 0}, {2 * time.Second, "long", 1}, {0, "endless", 1},
		// An exp that is not a number makes the answer unreadable: refused (below), and not cached.
		{0, "bad-exp", 1}, {0, "bad-exp", 1},
	}
	for i, step := range steps {
		clock.Advance(step.advance)
		if got := callsFor(step.token); got != step.calls {
			t.Errorf("step %d (%s at +%v): %d calls, want %d", i, step.token, clock.Now().Sub(time.Unix(1_800_000_000, 0)), got, step.calls)
		}
	}
	expectIntrospection(t, checker, bearer("bad-exp"), 503, "introspection_unavailable")
	// An expired token the server still calls active is admitted (the server decides) but not cached.
	as.issue("stale", map[string]any{"exp": clock.Now().Add(-time.Minute).Unix()})
	if callsFor("stale")+callsFor("stale") != 2 {
		t.Error("an answer past its exp was reused")
	}

	t.Run("cacheTTL bounds an active answer", func(t *testing.T) {
		checker := as.checker(fulfillmentv1alpha1.TokenIntrospection{CacheTTL: &metav1.Duration{Duration: 5 * time.Second}},
			WithIntrospectionClock(clock.Now))
		if f := checker.Check(bearer("long")); f != nil {
			t.Fatal(f)
		}
		before := as.calls.Load()
		clock.Advance(4 * time.Second)
		_ = checker.Check(bearer("long"))
		clock.Advance(2 * time.Second)
		_ = checker.Check(bearer("long"))
		if got := as.calls.Load() - before; got != 1 {
			t.Errorf("%d calls, want 1: the answer is reused for 5s, then asked again", got)
		}
	})

	t.Run("cacheTTL 0s asks every time", func(t *testing.T) {
		checker := as.checker(fulfillmentv1alpha1.TokenIntrospection{CacheTTL: &metav1.Duration{}}, WithIntrospectionClock(clock.Now))
		before := as.calls.Load()
		for range 3 {
			_ = checker.Check(bearer("long"))
			_ = checker.Check(bearer("revoked"))
		}
		if got := as.calls.Load() - before; got != 6 {
			t.Errorf("%d calls, want 6", got)
		}
	})
}

func TestIntrospectionCacheBound(t *testing.T) {
	as := newTestAuthorizationServer(t)
	for _, token := range []string{"a", "b", "c"} {
		as.issue(token, map[string]any{})
	}
	checker := as.checker(fulfillmentv1alpha1.TokenIntrospection{}, WithIntrospectionCacheEntries(2))
	for _, token := range []string{"a", "b", "a", "c"} { // c evicts b, the least recently used
		if f := checker.Check(bearer(token)); f != nil {
			t.Fatal(f)
		}
	}
	if calls := as.calls.Load(); calls != 3 {
		t.Fatalf("%d calls, want 3", calls)
	}
	_ = checker.Check(bearer("a"))
	_ = checker.Check(bearer("c"))
	if calls := as.calls.Load(); calls != 3 {
		t.Errorf("%d calls, want 3: a and c are cached", calls)
	}
	_ = checker.Check(bearer("b"))
	if calls := as.calls.Load(); calls != 4 {
		t.Errorf("%d calls, want 4: b was evicted", calls)
	}
	if n := checker.cache.Len(); n != 2 {
		t.Errorf("the cache holds %d answers, want at most 2", n)
	}
	// The cache is keyed by the token's hash, never the token.
	if _, ok := checker.cache.Get("a"); ok {
		t.Error("the cache holds a token")
	}
}

func TestIntrospectionConcurrentRequestsShareOneCall(t *testing.T) {
	as := newTestAuthorizationServer(t)
	as.issue("token", map[string]any{})
	release := make(chan struct{})
	as.mu.Lock()
	as.gate = release // the call waits until every request has started
	as.mu.Unlock()
	checker := as.checker(fulfillmentv1alpha1.TokenIntrospection{})
	var wg sync.WaitGroup
	var refused atomic.Int32
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if checker.Check(bearer("token")) != nil {
				refused.Add(1)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	if calls, n := as.calls.Load(), refused.Load(); calls != 1 || n != 0 {
		t.Errorf("%d calls and %d refusals, want 1 call and none refused", calls, n)
	}
}

func TestNewIntrospectionRefusesBadSpecs(t *testing.T) {
	for name, url := range map[string]string{
		"plain http":     "http://auth.example.com/introspect",
		"credentials":    "https://user:pass@auth.example.com/introspect",
		"relative":       "/introspect",
		"no scheme":      "auth.example.com/introspect",
		"other scheme":   "ftp://auth.example.com/introspect",
		"loopback-named": "http://127.0.0.1.example.com/introspect",
	} {
		if _, err := NewIntrospection(&fulfillmentv1alpha1.TokenIntrospection{URL: url}, "id", "secret"); err == nil {
			t.Errorf("%s: %s accepted", name, url)
		}
	}
	for _, url := range []string{"https://auth.example.com/introspect", "http://localhost:8081/i", "http://127.0.0.2/i", "http://[::1]:9/i"} {
		if _, err := NewIntrospection(&fulfillmentv1alpha1.TokenIntrospection{URL: url}, "id", "secret"); err != nil {
			t.Errorf("%s refused: %v", url, err)
		}
	}
	good := "https://auth.example.com/introspect"
	if _, err := NewIntrospection(&fulfillmentv1alpha1.TokenIntrospection{URL: good}, "id", ""); err == nil {
		t.Error("an empty client secret accepted")
	}
	if _, err := NewIntrospection(&fulfillmentv1alpha1.TokenIntrospection{URL: good, RequiredScopes: []string{"a b"}}, "id", "s"); err == nil {
		t.Error("a scope with a space accepted")
	}
}
