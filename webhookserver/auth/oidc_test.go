package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// testIssuer is an OpenID provider served over TLS: discovery, a key set it can rotate, and token signing.
type testIssuer struct {
	t      *testing.T
	server *httptest.Server

	mu        sync.Mutex
	published []jose.JSONWebKey // public keys served at /keys
	// hang, when set, makes every request wait until the test ends (an issuer that accepts and never answers).
	hang atomic.Bool
	// broken, when set, answers 500.
	broken atomic.Bool

	discoveryHits, keyHits atomic.Int32
	release                chan struct{}
}

type signingKey struct {
	id        string
	algorithm jose.SignatureAlgorithm
	private   crypto.Signer
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	iss := &testIssuer{t: t, release: make(chan struct{})}
	mux := http.NewServeMux()
	// Under /tenant too, naming the root issuer: a document for another issuer than the one configured.
	discovery := func(w http.ResponseWriter, r *http.Request) {
		iss.discoveryHits.Add(1)
		if iss.unavailable(w, r) {
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss.server.URL,
			"jwks_uri":                              iss.server.URL + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	}
	mux.HandleFunc("/.well-known/openid-configuration", discovery)
	mux.HandleFunc("/tenant/.well-known/openid-configuration", discovery)
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		iss.keyHits.Add(1)
		if iss.unavailable(w, r) {
			return
		}
		iss.mu.Lock()
		set := jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), iss.published...)}
		iss.mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	})
	iss.server = httptest.NewTLSServer(mux)
	t.Cleanup(func() {
		close(iss.release)
		iss.server.Close()
	})
	return iss
}

func (iss *testIssuer) unavailable(w http.ResponseWriter, r *http.Request) bool {
	if iss.hang.Load() {
		select {
		case <-iss.release:
		case <-r.Context().Done():
		}
		return true
	}
	if iss.broken.Load() {
		http.Error(w, "down", http.StatusInternalServerError)
		return true
	}
	return false
}

// newKey makes a signing key; RS256 keys are RSA 2048, ES256 keys P-256.
func (iss *testIssuer) newKey(id string, algorithm jose.SignatureAlgorithm) *signingKey {
	iss.t.Helper()
	var private crypto.Signer
	var err error
	switch algorithm {
	case jose.RS256:
		private, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		private, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		iss.t.Fatalf("no key type for %s", algorithm)
	}
	if err != nil {
		iss.t.Fatal(err)
	}
	return &signingKey{id: id, algorithm: algorithm, private: private}
}

// publish replaces the served key set.
func (iss *testIssuer) publish(keys ...*signingKey) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.published = nil
	for _, k := range keys {
		iss.published = append(iss.published, jose.JSONWebKey{
			Key: k.private.Public(), KeyID: k.id, Algorithm: string(k.algorithm), Use: "sig",
		})
	}
}

// claims are the claims of a valid token for the checker newChecker builds.
func (iss *testIssuer) claims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss":            iss.server.URL,
		"aud":            "https://bot.example.com/webhook",
		"sub":            "104523452345234523452",
		"email":          "service-123@gcp-sa-dialogflow.iam.gserviceaccount.com",
		"email_verified": true,
		"iat":            now.Unix(),
		"exp":            now.Add(time.Hour).Unix(),
	}
}

// sign signs claims with key, changing them with edit first.
func (iss *testIssuer) sign(key *signingKey, edit func(map[string]any)) string {
	iss.t.Helper()
	claims := iss.claims()
	if edit != nil {
		edit(claims)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.algorithm, Key: jose.JSONWebKey{Key: key.private, KeyID: key.id}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		iss.t.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		iss.t.Fatal(err)
	}
	return token
}

// newChecker returns a checker for the issuer, with audiences, allowed subjects and fast refresh for tests.
func (iss *testIssuer) newChecker(subjects []string, opts ...OIDCOption) *OIDC {
	iss.t.Helper()
	spec := &fulfillmentv1alpha1.OIDCAuth{
		Issuer:          iss.server.URL,
		Audiences:       []string{"https://other.example.com", "https://bot.example.com/webhook"},
		AllowedSubjects: subjects,
	}
	opts = append([]OIDCOption{WithOIDCHTTPClient(iss.server.Client()), WithOIDCMinRefreshInterval(50 * time.Millisecond)}, opts...)
	checker, err := NewOIDC(context.Background(), spec, opts...)
	if err != nil {
		iss.t.Fatal(err)
	}
	return checker
}

func bearer(token string) *Request {
	return &Request{Header: http.Header{"Authorization": {"Bearer " + token}}}
}

// expectOIDC checks one outcome: want "" is acceptance, else the status and reason of the refusal.
func expectOIDC(t *testing.T, checker Checker, r *Request, status int, reason string) {
	t.Helper()
	failure := CheckContext(context.Background(), checker, r)
	switch {
	case reason == "" && failure != nil:
		t.Errorf("refused: %d %v", failure.Status, failure)
	case reason != "" && failure == nil:
		t.Errorf("accepted, want %d %s", status, reason)
	case reason != "" && (failure.Reason != reason || failure.Status != status || failure.Method != "oidc"):
		t.Errorf("got %d %s %s, want %d %s", failure.Status, failure.Method, failure.Reason, status, reason)
	}
}

func TestOIDCTokens(t *testing.T) {
	iss := newTestIssuer(t)
	rsaKey, ecKey := iss.newKey("rsa-1", jose.RS256), iss.newKey("ec-1", jose.ES256)
	iss.publish(rsaKey, ecKey)
	stranger := iss.newKey("rsa-1", jose.RS256) // same key ID, not the issuer's key
	unknown := iss.newKey("rsa-unknown", jose.RS256)
	open := iss.newChecker(nil)
	restricted := iss.newChecker([]string{"104523452345234523452", "Bot@Example.com"})
	scoped, err := NewOIDC(context.Background(), &fulfillmentv1alpha1.OIDCAuth{Issuer: iss.server.URL,
		Audiences: []string{"https://bot.example.com/webhook"}, RequiredScopes: []string{"fulfillment:write", "bank.read"}},
		WithOIDCHTTPClient(iss.server.Client()))
	if err != nil {
		t.Fatal(err)
	}
	withScope := func(claim string, value any) func(map[string]any) {
		return func(c map[string]any) { c[claim] = value }
	}

	rsaToken := iss.sign(rsaKey, nil)
	tampered := func() string {
		parts := strings.Split(rsaToken, ".")
		claims := iss.claims()
		claims["sub"] = "someone-else"
		payload, _ := json.Marshal(claims)
		parts[1] = base64.RawURLEncoding.EncodeToString(payload)
		return strings.Join(parts, ".")
	}()
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		strings.Split(rsaToken, ".")[1] + "."
	hmacSigned := func() string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		token, err := jwt.Signed(signer).Claims(iss.claims()).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return token
	}()
	botEmail := func(verified any) func(map[string]any) {
		return func(c map[string]any) {
			c["sub"], c["email"], c["email_verified"] = "999", "bot@example.com", verified
			if verified == nil {
				delete(c, "email_verified")
			}
		}
	}

	cases := map[string]struct {
		checker Checker
		request *Request
		status  int
		reason  string
	}{
		"RS256":                           {open, bearer(rsaToken), 0, ""},
		"ES256":                           {open, bearer(iss.sign(ecKey, nil)), 0, ""},
		"lower-case scheme":               {open, &Request{Header: http.Header{"Authorization": {"bearer " + rsaToken}}}, 0, ""},
		"second audience in a list":       {open, bearer(iss.sign(rsaKey, func(c map[string]any) { c["aud"] = []string{"x", "https://other.example.com"} })), 0, ""},
		"expired within leeway":           {open, bearer(iss.sign(rsaKey, func(c map[string]any) { c["exp"] = time.Now().Add(-10 * time.Second).Unix() })), 0, ""},
		"allowed sub":                     {restricted, bearer(rsaToken), 0, ""},
		"allowed verified email":          {restricted, bearer(iss.sign(rsaKey, botEmail(true))), 0, ""},
		"allowed email, verified unknown": {restricted, bearer(iss.sign(rsaKey, botEmail(nil))), 0, ""},
		"no header":                       {open, &Request{Header: http.Header{}}, 401, "missing_token"},
		"basic scheme":                    {open, &Request{Header: http.Header{"Authorization": {"Basic YTpi"}}}, 401, "missing_token"},
		"empty bearer":                    {open, &Request{Header: http.Header{"Authorization": {"Bearer "}}}, 401, "missing_token"},
		"not a JWT":                       {open, bearer("abc.def"), 401, "malformed_token"},
		"garbage payload":                 {open, bearer("eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln"), 401, "malformed_token"},
		"huge":                            {open, bearer(strings.Repeat("a", 20000)), 401, "malformed_token"},
		"no exp":                          {open, bearer(iss.sign(rsaKey, func(c map[string]any) { delete(c, "exp") })), 401, "malformed_token"},
		"wrong issuer":                    {open, bearer(iss.sign(rsaKey, func(c map[string]any) { c["iss"] = "https://evil.example.com" })), 401, "wrong_issuer"},
		"wrong audience":                  {open, bearer(iss.sign(rsaKey, func(c map[string]any) { c["aud"] = "https://evil.example.com" })), 401, "wrong_audience"},
		"expired":                         {open, bearer(iss.sign(rsaKey, func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() })), 401, "token_expired"},
		"not yet valid":                   {open, bearer(iss.sign(rsaKey, func(c map[string]any) { c["nbf"] = time.Now().Add(5 * time.Minute).Unix() })), 401, "token_not_yet_valid"},
		"issued in the future":            {open, bearer(iss.sign(rsaKey, func(c map[string]any) { c["iat"] = time.Now().Add(5 * time.Minute).Unix() })), 401, "token_not_yet_valid"},
		"tampered claims":                 {open, bearer(tampered), 401, "invalid_signature"},
		"known kid, other key":            {open, bearer(iss.sign(stranger, nil)), 401, "invalid_signature"},
		"unknown kid":                     {open, bearer(iss.sign(unknown, nil)), 401, "invalid_signature"},
		"alg none":                        {open, bearer(unsigned), 401, "invalid_signature"},
		"HS256":                           {open, bearer(hmacSigned), 401, "invalid_signature"},
		"sub not allowed":                 {restricted, bearer(iss.sign(rsaKey, func(c map[string]any) { c["sub"], c["email"] = "1", "x@example.com" })), 403, "subject_not_allowed"},
		"email not verified":              {restricted, bearer(iss.sign(rsaKey, botEmail(false))), 403, "subject_not_allowed"},
		"email verified as string false":  {restricted, bearer(iss.sign(rsaKey, botEmail("false"))), 403, "subject_not_allowed"},
		"forged allowed subject":          {restricted, bearer(iss.sign(stranger, nil)), 401, "invalid_signature"},
		"scopes in scope":                 {scoped, bearer(iss.sign(rsaKey, withScope("scope", "openid bank.read fulfillment:write"))), 0, ""},
		"scopes in scp list":              {scoped, bearer(iss.sign(rsaKey, withScope("scp", []string{"fulfillment:write", "bank.read"}))), 0, ""},
		"scopes in scope and scp":         {scoped, bearer(iss.sign(rsaKey, func(c map[string]any) { c["scope"], c["scp"] = "bank.read", []string{"fulfillment:write"} })), 0, ""},
		"one scope missing":               {scoped, bearer(iss.sign(rsaKey, withScope("scope", "bank.read fulfillment:read"))), 403, "insufficient_scope"},
		"no scope claim":                  {scoped, bearer(rsaToken), 403, "insufficient_scope"},
		"scope of another shape":          {scoped, bearer(iss.sign(rsaKey, withScope("scope", map[string]any{"bank.read": true}))), 403, "insufficient_scope"},
		"scope prefix is not the scope":   {scoped, bearer(iss.sign(rsaKey, withScope("scope", "bank.read fulfillment:writer"))), 403, "insufficient_scope"},
		"forged token with the scopes":    {scoped, bearer(iss.sign(stranger, withScope("scope", "bank.read fulfillment:write"))), 401, "invalid_signature"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			expectOIDC(t, tc.checker, tc.request, tc.status, tc.reason)
			wantBearerError := map[int]string{401: "invalid_token", 403: ""}[tc.status]
			switch tc.reason {
			case "insufficient_scope":
				wantBearerError = "insufficient_scope"
			case "missing_token":
				wantBearerError = ""
			}
			if f := CheckContext(context.Background(), tc.checker, tc.request); f != nil && f.BearerError != wantBearerError {
				t.Errorf("BearerError = %q, want %q", f.BearerError, wantBearerError)
			}
			if failure := CheckContext(context.Background(), tc.checker, tc.request); failure != nil {
				token := strings.TrimPrefix(tc.request.Header.Get("Authorization"), "Bearer ")
				if len(token) > 8 && strings.Contains(failure.Error(), token) {
					t.Error("the failure names the token")
				}
			}
		})
	}
	// Check (no context) works the same, and All hands contexts down.
	if f := open.Check(bearer(rsaToken)); f != nil {
		t.Errorf("Check refused: %v", f)
	}
	expectOIDC(t, All{NewBearer("X-Token", []byte("t")), open}, &Request{Header: http.Header{"X-Token": {"t"}, "Authorization": {"Bearer " + rsaToken}}}, 0, "")
}

func TestOIDCGoogleIssuerWithoutScheme(t *testing.T) {
	o := &OIDC{issuer: "https://accounts.google.com", audiences: []string{"a"}, opts: oidcOptions{now: time.Now, leeway: time.Second}}
	exp := jwt.NewNumericDate(time.Now().Add(time.Hour))
	if f := o.checkClaims(&oidcClaims{Issuer: "accounts.google.com", Audience: jwt.Audience{"a"}, Expiry: exp}); f != nil {
		t.Errorf("Google's bare issuer refused: %v", f)
	}
	o.issuer = "https://issuer.example.com"
	if f := o.checkClaims(&oidcClaims{Issuer: "issuer.example.com", Audience: jwt.Audience{"a"}, Expiry: exp}); f == nil || f.Reason != "wrong_issuer" {
		t.Errorf("bare issuer of another provider: %v", f)
	}
}

func TestOIDCKeyRotation(t *testing.T) {
	iss := newTestIssuer(t)
	oldKey, newKey := iss.newKey("2024-01", jose.RS256), iss.newKey("2024-02", jose.ES256)
	iss.publish(oldKey)
	checker := iss.newChecker(nil, WithOIDCMinRefreshInterval(100*time.Millisecond))
	oldToken := iss.sign(oldKey, nil)
	expectOIDC(t, checker, bearer(oldToken), 0, "")

	// The issuer rotates: the new key replaces the old one.
	iss.publish(newKey)
	newToken := iss.sign(newKey, nil)
	time.Sleep(150 * time.Millisecond) // past the minimum refresh interval
	hits := iss.keyHits.Load()
	expectOIDC(t, checker, bearer(newToken), 0, "") // unknown kid: refetched, accepted, no restart
	if got := iss.keyHits.Load() - hits; got != 1 {
		t.Errorf("key set fetched %d times for the new key, want 1", got)
	}
	expectOIDC(t, checker, bearer(oldToken), http.StatusUnauthorized, "invalid_signature") // gone with the refresh
	expectOIDC(t, checker, bearer(newToken), 0, "")
}

func TestOIDCPeriodicRefreshDropsRemovedKeys(t *testing.T) {
	iss := newTestIssuer(t)
	oldKey, newKey := iss.newKey("old", jose.ES256), iss.newKey("new", jose.ES256)
	iss.publish(oldKey, newKey)
	checker := iss.newChecker(nil, WithOIDCRefreshInterval(200*time.Millisecond))
	oldToken := iss.sign(oldKey, nil)
	expectOIDC(t, checker, bearer(oldToken), 0, "")

	// The issuer retires the old key; no token with an unknown key ID arrives to trigger a fetch.
	iss.publish(newKey)
	expectOIDC(t, checker, bearer(oldToken), 0, "") // cached: the keys are young
	start := time.Now()
	for {
		failure := checker.CheckContext(context.Background(), bearer(oldToken))
		if failure != nil {
			if failure.Reason != "invalid_signature" {
				t.Fatalf("refused with %s, want invalid_signature", failure.Reason)
			}
			break
		}
		if time.Since(start) > 3*time.Second {
			t.Fatal("the retired key is still trusted 3s after a 200ms refresh interval")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("retired key refused %v after the rotation (refresh interval 200ms)", time.Since(start).Round(time.Millisecond))
	expectOIDC(t, checker, bearer(iss.sign(newKey, nil)), 0, "")
}

func TestOIDCUnknownKeyIDsAreRateLimited(t *testing.T) {
	iss := newTestIssuer(t)
	key := iss.newKey("k", jose.ES256)
	iss.publish(key)
	checker := iss.newChecker(nil, WithOIDCMinRefreshInterval(time.Hour))
	expectOIDC(t, checker, bearer(iss.sign(key, nil)), 0, "")
	hits := iss.keyHits.Load()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			forged := iss.newKey("made-up-"+string(rune('a'+i%26)), jose.ES256)
			expectOIDC(t, checker, bearer(iss.sign(forged, nil)), http.StatusUnauthorized, "invalid_signature")
		}()
	}
	wg.Wait()
	if got := iss.keyHits.Load() - hits; got != 0 {
		t.Errorf("50 unknown key IDs within the minimum refresh interval fetched the key set %d times, want 0", got)
	}
}

func TestOIDCConcurrentColdStartFetchesOnce(t *testing.T) {
	iss := newTestIssuer(t)
	key := iss.newKey("k", jose.RS256)
	iss.publish(key)
	checker := iss.newChecker(nil, WithoutOIDCPrefetch())
	token := iss.sign(key, nil)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			expectOIDC(t, checker, bearer(token), 0, "")
		}()
	}
	wg.Wait()
	if d, k := iss.discoveryHits.Load(), iss.keyHits.Load(); d != 1 || k != 1 {
		t.Errorf("20 concurrent first requests: %d discovery and %d key fetches, want 1 and 1", d, k)
	}
}

func TestOIDCIssuerUnavailable(t *testing.T) {
	t.Run("hanging issuer: construction does not wait, a request waits for its context", func(t *testing.T) {
		iss := newTestIssuer(t)
		key := iss.newKey("k", jose.ES256)
		iss.publish(key)
		iss.hang.Store(true)
		start := time.Now()
		checker := iss.newChecker(nil, WithOIDCFetchTimeout(5*time.Second))
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("NewOIDC took %v", d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start = time.Now()
		failure := checker.CheckContext(ctx, bearer(iss.sign(key, nil)))
		elapsed := time.Since(start)
		if failure == nil || failure.Status != http.StatusServiceUnavailable || failure.Reason != "issuer_unavailable" {
			t.Fatalf("got %v, want 503 issuer_unavailable", failure)
		}
		if elapsed > time.Second {
			t.Errorf("refused after %v, want about the 200ms of the request context", elapsed)
		}
		t.Logf("hanging issuer: refused after %v (request context 200ms)", elapsed.Round(time.Millisecond))
	})

	t.Run("hanging issuer: Check without context is bounded by the fetch timeout", func(t *testing.T) {
		iss := newTestIssuer(t)
		key := iss.newKey("k", jose.ES256)
		iss.publish(key)
		iss.hang.Store(true)
		checker := iss.newChecker(nil, WithOIDCFetchTimeout(300*time.Millisecond), WithoutOIDCPrefetch())
		start := time.Now()
		failure := checker.Check(bearer(iss.sign(key, nil)))
		elapsed := time.Since(start)
		if failure == nil || failure.Status != http.StatusServiceUnavailable || failure.Reason != "issuer_unavailable" {
			t.Fatalf("got %v, want 503 issuer_unavailable", failure)
		}
		if elapsed > 2*time.Second {
			t.Errorf("refused after %v, want about the 300ms fetch timeout", elapsed)
		}
		t.Logf("Check without context: refused after %v (fetch timeout 300ms)", elapsed.Round(time.Millisecond))
	})

	t.Run("refused connections fail fast, are reported, and the issuer is used again when back", func(t *testing.T) {
		iss := newTestIssuer(t)
		key := iss.newKey("k", jose.ES256)
		iss.publish(key)
		iss.broken.Store(true)
		var reported atomic.Value
		checker := iss.newChecker(nil, WithOIDCFetchErrorHandler(func(err error) { reported.Store(err.Error()) }),
			WithOIDCMinRefreshInterval(time.Hour), WithoutOIDCPrefetch()) // failure backoff: 1s
		token := iss.sign(key, nil)
		start := time.Now()
		expectOIDC(t, checker, bearer(token), http.StatusServiceUnavailable, "issuer_unavailable")
		expectOIDC(t, checker, bearer(token), http.StatusServiceUnavailable, "issuer_unavailable") // backoff: no fetch
		if d := time.Since(start); d > time.Second {
			t.Errorf("two refusals took %v", d)
		}
		if msg, _ := reported.Load().(string); !strings.Contains(msg, "500") || strings.Contains(msg, token) {
			t.Errorf("reported fetch error %q: want the status, never the token", msg)
		}
		if hits := iss.discoveryHits.Load(); hits != 1 {
			t.Errorf("discovery fetched %d times within the failure backoff, want 1", hits)
		}
		iss.broken.Store(false)
		deadline := time.Now().Add(3 * time.Second)
		for CheckContext(context.Background(), checker, bearer(token)) != nil {
			if time.Now().After(deadline) {
				t.Fatal("still refused 3s after the issuer came back")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("cached keys keep serving while the issuer is down", func(t *testing.T) {
		iss := newTestIssuer(t)
		key := iss.newKey("k", jose.ES256)
		iss.publish(key)
		checker := iss.newChecker(nil, WithOIDCRefreshInterval(10*time.Millisecond))
		token := iss.sign(key, nil)
		expectOIDC(t, checker, bearer(token), 0, "")
		iss.broken.Store(true)
		for range 10 {
			time.Sleep(20 * time.Millisecond)
			expectOIDC(t, checker, bearer(token), 0, "")
		}
		// A key the server cannot fetch is the server's problem, not the caller's.
		time.Sleep(60 * time.Millisecond)
		expectOIDC(t, checker, bearer(iss.sign(iss.newKey("new", jose.ES256), nil)), http.StatusServiceUnavailable, "issuer_unavailable")
	})

	t.Run("a discovery document of another issuer is not used", func(t *testing.T) {
		iss := newTestIssuer(t)
		key := iss.newKey("k", jose.ES256)
		iss.publish(key)
		var reported atomic.Value
		spec := &fulfillmentv1alpha1.OIDCAuth{Issuer: iss.server.URL + "/tenant", Audiences: []string{"https://bot.example.com/webhook"}}
		checker, err := NewOIDC(context.Background(), spec, WithOIDCHTTPClient(iss.server.Client()),
			WithOIDCFetchErrorHandler(func(err error) { reported.Store(err.Error()) }))
		if err != nil {
			t.Fatal(err)
		}
		expectOIDC(t, checker, bearer(iss.sign(key, func(c map[string]any) { c["iss"] = spec.Issuer })), http.StatusServiceUnavailable, "issuer_unavailable")
		if msg, _ := reported.Load().(string); !strings.Contains(msg, "names issuer") {
			t.Errorf("reported %q", msg)
		}
	})
}

func TestNewOIDCRefusesBadSpecs(t *testing.T) {
	for name, spec := range map[string]*fulfillmentv1alpha1.OIDCAuth{
		"nil":         nil,
		"http issuer": {Issuer: "http://issuer.example.com", Audiences: []string{"a"}},
		"no host":     {Issuer: "https://", Audiences: []string{"a"}},
		"query":       {Issuer: "https://issuer.example.com?x=1", Audiences: []string{"a"}},
		"no audience": {Issuer: "https://issuer.example.com"},
	} {
		if _, err := NewOIDC(context.Background(), spec, WithoutOIDCPrefetch()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestOIDCPrefetchOutlivesTheConstructorContext(t *testing.T) {
	iss := newTestIssuer(t)
	key := iss.newKey("k", jose.ES256)
	iss.publish(key)
	ctx, cancel := context.WithCancel(context.Background())
	checker, err := NewOIDC(ctx, &fulfillmentv1alpha1.OIDCAuth{Issuer: iss.server.URL, Audiences: []string{"https://bot.example.com/webhook"}},
		WithOIDCHTTPClient(iss.server.Client()), WithOIDCMinRefreshInterval(time.Hour))
	cancel() // a caller that builds checkers under a short-lived context
	if err != nil {
		t.Fatal(err)
	}
	expectOIDC(t, checker, bearer(iss.sign(key, nil)), 0, "")
	if d, k := iss.discoveryHits.Load(), iss.keyHits.Load(); d != 1 || k != 1 {
		t.Errorf("%d discovery and %d key fetches, want the prefetch's 1 and 1", d, k)
	}
}
