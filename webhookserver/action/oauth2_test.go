package action

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
)

// countingTokenEndpoint issues tok-1, tok-2, ... valid for expiresIn seconds, after delay.
func countingTokenEndpoint(t *testing.T, expiresIn int, delay time.Duration) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		_ = r.ParseForm() // first: the server notices a client that gives up only once the body is read
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		if id, secret, ok := r.BasicAuth(); !ok || id != "client" || secret != "secret" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"client secret was secret"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"bearer","expires_in":%d}`, n, expiresIn)
	}))
	t.Cleanup(server.Close)
	return server, &calls
}

func tokensFor(tokenURL, clientSecret string, observe TokenFetchObserver, allowed ...netip.Prefix) *Tokens {
	compiled := routespec.Outbound{OAuth2: &routespec.OAuth2{
		Spec:     &fulfillmentv1alpha1.OAuth2ClientCredentials{TokenURL: tokenURL},
		ClientID: "client", ClientSecret: clientSecret,
	}}
	return NewUpstreams("route", compiled, allowed, nil, nil, observe).Tokens
}

func TestTokensShareOneFetchAndRefreshBeforeExpiry(t *testing.T) {
	server, calls := countingTokenEndpoint(t, 3600, 50*time.Millisecond)
	tokens := tokensFor(server.URL, "secret", nil)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if token, err := tokens.Token(context.Background()); err != nil || token != "tok-1" {
				t.Errorf("token %q, %v", token, err)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d fetches for 50 concurrent requests, want 1", n)
	}

	// Past its refresh time the token is replaced; an invalidated one too, once.
	now := time.Now()
	tokens.now = func() time.Time { return now.Add(time.Hour - maxRefreshMargin) }
	if token, _ := tokens.Token(context.Background()); token != "tok-2" {
		t.Fatalf("a token due for refresh was kept: %q", token)
	}
	tokens.Invalidate("tok-1") // not the current one: nothing happens
	if token, _ := tokens.Token(context.Background()); token != "tok-2" {
		t.Fatalf("invalidating an old token dropped the current one: %q", token)
	}
	tokens.Invalidate("tok-2")
	if token, _ := tokens.Token(context.Background()); token != "tok-3" {
		t.Fatalf("after invalidation: %q", token)
	}
}

func TestTokensFailuresSayWhyWithoutSecrets(t *testing.T) {
	server, _ := countingTokenEndpoint(t, 3600, 0)
	var results []string
	observe := func(route, result string, cause error) {
		results = append(results, result)
		if cause != nil && strings.Contains(cause.Error(), "secret was") {
			t.Errorf("the cause quotes the token endpoint's answer: %v", cause)
		}
	}
	_, err := tokensFor(server.URL, "wrong", observe).Token(context.Background())
	var failure *Failure
	if !errors.As(err, &failure) || failure.Reason != "token_unavailable" || !strings.Contains(err.Error(), `answered 401 with error "invalid_client"`) {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error holds the client secret: %v", err)
	}

	slow, _ := countingTokenEndpoint(t, 3600, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = tokensFor(slow.URL, "secret", observe).Token(ctx)
	if !errors.As(err, &failure) || failure.Reason != "token_unavailable" || time.Since(start) > time.Second {
		t.Fatalf("a slow token endpoint: %v after %v", err, time.Since(start))
	}
	if want := []string{TokenFetchError, TokenFetchTimeout}; strings.Join(results, ",") != strings.Join(want, ",") {
		t.Errorf("observed %v, want %v", results, want)
	}
}

func TestTokensWaitNoLongerThanTheirDeadline(t *testing.T) {
	slow, _ := countingTokenEndpoint(t, 3600, 2*time.Second)
	tokens := tokensFor(slow.URL, "secret", nil)
	go func() { _, _ = tokens.Token(context.Background()) }() // holds the fetch
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := tokens.Token(ctx); err == nil || time.Since(start) > time.Second {
		t.Fatalf("a waiting request: %v after %v", err, time.Since(start))
	}
}

// The token endpoint is reached through the outbound guard: a metadata address is refused, unless exempted.
func TestTokenURLIsGuarded(t *testing.T) {
	_, err := tokensFor("http://169.254.169.254/token", "secret", nil).Token(context.Background())
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("a token URL at the metadata address: %v", err)
	}
	server, _ := countingTokenEndpoint(t, 3600, 0)
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	if _, err := tokensFor(server.URL, "secret", nil, loopback).Token(context.Background()); err != nil {
		t.Fatalf("an exempted token URL: %v", err)
	}
}

// A forward with auth.oauth2 sends the token, never the caller's credentials, and retries once with a new
// token after a 401.
func TestForwardSendsTheRouteTokenAndRefreshesOn401(t *testing.T) {
	tokenEndpoint, calls := countingTokenEndpoint(t, 3600, 0)
	var seen []string
	var mu sync.Mutex
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer tok-2" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"fulfillmentText":"ok"}`))
	}))
	t.Cleanup(backend.Close)
	compiled := routespec.Outbound{OAuth2: &routespec.OAuth2{
		Spec:     &fulfillmentv1alpha1.OAuth2ClientCredentials{TokenURL: tokenEndpoint.URL},
		ClientID: "client", ClientSecret: "secret",
	}}
	upstreams := NewUpstreams("route", compiled, nil, NewBreakers(BreakerSettings{}), nil, nil)
	forward := CompileForward(upstreams, &fulfillmentv1alpha1.ForwardAction{URL: backend.URL + "/hook"}, "bots")
	inv := &Invocation{Input: dialect.Input{Method: http.MethodPost, Body: []byte(`{}`),
		Header: http.Header{"Authorization": {"Bearer the-callers-own"}, "Content-Type": {"application/json"}}}}
	result, err := forward.Run(context.Background(), inv)
	if err != nil || result.Raw == nil || string(result.Raw.Body) != `{"fulfillmentText":"ok"}` {
		t.Fatalf("forward: %v %+v", err, result)
	}
	if strings.Join(seen, ",") != "Bearer tok-1,Bearer tok-2" || calls.Load() != 2 {
		t.Errorf("the backend saw %v after %d token fetches, want tok-1 then tok-2 after 2", seen, calls.Load())
	}
}

// A reload builds new routes: with the server's store they go on with the token of their grant, and a grant
// that changed in any part the token depends on gets its own.
func TestTokenStoreKeepsTokensAcrossReloads(t *testing.T) {
	server, calls := countingTokenEndpoint(t, 3600, 0)
	store := NewTokenStore()
	build := func(mutate func(*routespec.OAuth2)) *Tokens {
		compiled := &routespec.OAuth2{
			Spec:     &fulfillmentv1alpha1.OAuth2ClientCredentials{TokenURL: server.URL, Scopes: []string{"read"}},
			ClientID: "client", ClientSecret: "secret",
		}
		if mutate != nil {
			mutate(compiled)
		}
		return NewUpstreams("route", routespec.Outbound{OAuth2: compiled}, nil, nil, store, nil).Tokens
	}
	token := func(tokens *Tokens) string {
		t.Helper()
		value, err := tokens.Token(context.Background())
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		return value
	}

	if got := token(build(nil)); got != "tok-1" {
		t.Fatalf("first token %q", got)
	}
	if got := token(build(nil)); got != "tok-1" || calls.Load() != 1 {
		t.Errorf("after a reload: token %q after %d fetches, want tok-1 after 1", got, calls.Load())
	}
	// The token endpoint refuses another secret; what matters is that it was asked, under its own grant.
	_, err := build(func(o *routespec.OAuth2) { o.ClientSecret = "rotated" }).Token(context.Background())
	if err == nil || calls.Load() != 2 {
		t.Errorf("a rotated client secret: %v after %d fetches, want a fetch of its own", err, calls.Load())
	}
	if got := token(build(func(o *routespec.OAuth2) { o.Spec.Scopes = []string{"read", "write"} })); got != "tok-3" {
		t.Errorf("other scopes got token %q, want a token of their own", got)
	}
	// Without a store nothing is shared.
	if got := token(tokensFor(server.URL, "secret", nil)); got != "tok-4" {
		t.Errorf("without a store: token %q, want a fetch of its own", got)
	}
}

func TestGrantKeySeparatesFields(t *testing.T) {
	base := func() *clientcredentials.Config {
		return &clientcredentials.Config{TokenURL: "https://auth/t", ClientID: "a", ClientSecret: "s3cret-1", Scopes: []string{"x"}}
	}
	keys := map[string]string{}
	for name, mutate := range map[string]func(*clientcredentials.Config){
		"base":        func(*clientcredentials.Config) {},
		"client id":   func(c *clientcredentials.Config) { c.ClientID, c.ClientSecret = "as3cret-1", "" },
		"token url":   func(c *clientcredentials.Config) { c.TokenURL = "https://auth/u" },
		"scopes":      func(c *clientcredentials.Config) { c.Scopes = []string{"x", "y"} },
		"parameters":  func(c *clientcredentials.Config) { c.EndpointParams = url.Values{"audience": {"api"}} },
		"auth style":  func(c *clientcredentials.Config) { c.AuthStyle = oauth2.AuthStyleInParams },
		"secret only": func(c *clientcredentials.Config) { c.ClientSecret = "s3cret-2" },
	} {
		config := base()
		mutate(config)
		key := grantKey(config)
		if other, seen := keys[key]; seen {
			t.Errorf("%s and %s share a key", name, other)
		}
		if strings.Contains(key, config.ClientSecret) && config.ClientSecret != "" {
			t.Errorf("%s: the key holds the client secret", name)
		}
		keys[key] = name
	}
}
