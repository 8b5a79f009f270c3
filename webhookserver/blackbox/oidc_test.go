package blackbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestOIDCAccessTokenScopes: a JWT access token (RFC 9068) from a local issuer is admitted when it grants every
// scope of auth.oidc.requiredScopes, in `scope` or in `scp`, and refused 403 insufficient_scope otherwise. The
// issuer serves discovery and its key set over TLS on loopback; the server trusts its certificate through
// SSL_CERT_FILE, as it would a private CA's.
func TestOIDCAccessTokenScopes(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var issuer *httptest.Server
	issuer = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuer.URL, "jwks_uri": issuer.URL + "/keys"})
		case "/keys":
			_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
				{Key: key.Public(), KeyID: "k1", Algorithm: string(jose.ES256), Use: "sig"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(issuer.Close)
	caFile := filepath.Join(t.TempDir(), "issuer.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issuer.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", caFile) // inherited by the server process

	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	token := func(edit func(map[string]any)) string {
		claims := map[string]any{"iss": issuer.URL, "aud": "https://bot.example.com", "sub": "dialog-platform",
			"client_id": "dialog-platform", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
		edit(claims)
		signed, err := jwt.Signed(signer).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}

	dir := t.TempDir()
	writeFile(t, dir, "bot.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: events}
spec:
  dialect: Generic
  auth:
    oidc:
      issuer: `+issuer.URL+`
      audiences: [https://bot.example.com]
      requiredScopes: ["fulfillment:write", bank.read]
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: ok}
spec:
  endpointRef: {name: events}
  match: {events: [e]}
  respond: {text: ok}
`)
	s := startServer(t, "--manifests", dir)
	body := []byte(`{"event":"e"}`)

	for name, tc := range map[string]struct {
		claims    func(map[string]any)
		status    int
		challenge string
	}{
		"scope string":      {func(c map[string]any) { c["scope"] = "openid bank.read fulfillment:write" }, 200, ""},
		"scp list":          {func(c map[string]any) { c["scp"] = []string{"fulfillment:write", "bank.read"} }, 200, ""},
		"one scope missing": {func(c map[string]any) { c["scope"] = "bank.read" }, 403, `Bearer realm="fulfillment", error="insufficient_scope", scope="fulfillment:write bank.read"`},
		"no scope":          {func(map[string]any) {}, 403, `Bearer realm="fulfillment", error="insufficient_scope", scope="fulfillment:write bank.read"`},
		"expired": {func(c map[string]any) {
			c["scope"], c["exp"] = "bank.read fulfillment:write", time.Now().Add(-time.Hour).Unix()
		}, 401, `Bearer realm="fulfillment", error="invalid_token"`},
	} {
		resp, content := s.post("/webhook", body, bearerHeader(token(tc.claims)))
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", name, resp.StatusCode, content, tc.status)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != tc.challenge {
			t.Errorf("%s: WWW-Authenticate %q, want %q", name, got, tc.challenge)
		}
		if tc.status == 403 && !strings.Contains(string(content), "insufficient_scope") {
			t.Errorf("%s: %s does not name insufficient_scope", name, content)
		}
	}
	if lines := s.metric(`fulfillment_auth_failures_total{`, `method="oidc"`, `reason="insufficient_scope"`); len(lines) != 1 || !strings.HasSuffix(lines[0], " 2") {
		t.Errorf("metric %q, want two insufficient_scope refusals", lines)
	}
}
