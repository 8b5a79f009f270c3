package action

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// recorder is an upstream that records the headers each path receives, and the request targets as they
// arrive. /start redirects to /target on the same host.
type recorder struct {
	mu       sync.Mutex
	received map[string]http.Header
	targets  []string
}

func newRecorder(t *testing.T, serve func(http.Handler) *httptest.Server) (*recorder, *httptest.Server) {
	r := &recorder{received: map[string]http.Header{}}
	server := serve(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.received[req.URL.Path] = req.Header.Clone()
		r.targets = append(r.targets, req.RequestURI)
		r.mu.Unlock()
		if req.URL.Path == "/start" {
			http.Redirect(w, req, "/target", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	t.Cleanup(server.Close)
	return r, server
}

func (r *recorder) header(path string) (http.Header, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.received[path]
	return h, ok
}

func (r *recorder) requestTargets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.targets)
}

func secretHeader(name string) fulfillmentv1alpha1.Header {
	return fulfillmentv1alpha1.Header{Name: name, ValueFrom: &fulfillmentv1alpha1.HeaderSource{
		SecretKeyRef: fulfillmentv1alpha1.SecretKeySelector{Name: "api", Key: "token"}}}
}

func TestCredentialsNeverReachARedirectTarget(t *testing.T) {
	cases := map[string]struct {
		headers  []fulfillmentv1alpha1.Header
		followed bool
	}{
		"a header from a Secret":                  {headers: []fulfillmentv1alpha1.Header{secretHeader("X-Api-Key")}},
		"Authorization from a template":           {headers: []fulfillmentv1alpha1.Header{{Name: "Authorization", Value: "Bearer ${params.token}"}}},
		"a cookie, whatever its case":             {headers: []fulfillmentv1alpha1.Header{{Name: "cookie", Value: "session=${params.token}"}}},
		"no credential: the redirect is followed": {headers: []fulfillmentv1alpha1.Header{{Name: "X-Trace", Value: "t-1"}}, followed: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			upstream, server := newRecorder(t, httptest.NewServer)
			call := compileCall(t, fulfillmentv1alpha1.CallAction{URL: server.URL + "/start", Method: http.MethodGet, Headers: tc.headers})
			_, err := call.Run(context.Background(), invocation(map[string]any{"token": "user-token-123"}))
			if _, ok := upstream.header("/start"); !ok {
				t.Fatal("the call did not reach the route's URL")
			}
			target, reached := upstream.header("/target")
			if tc.followed {
				if err != nil || !reached || target.Get("X-Trace") != "t-1" {
					t.Errorf("want the redirect followed with the route's headers: err %v, reached %v, headers %v", err, reached, target)
				}
				return
			}
			if reached {
				t.Errorf("the redirect target was called, with %v", target)
			}
			if got := upstream.requestTargets(); len(got) != 1 {
				t.Errorf("the upstream received %q; a refused redirect is not retried", got)
			}
			if !errors.Is(err, ErrRedirectRefused) || !strings.Contains(err.Error(), "the call carries credentials") {
				t.Errorf("want the redirect refused because of the credentials, got %v", err)
			}
			if strings.Contains(err.Error(), "upstream-secret") || strings.Contains(err.Error(), "user-token-123") {
				t.Errorf("the error holds the credential: %v", err)
			}
		})
	}
}

func TestRedirectFromHTTPSToHTTPIsNotFollowed(t *testing.T) {
	// The redirect keeps the host and port, so that only the scheme changes, as from https://bank.example to
	// http://bank.example.
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/target", http.StatusFound)
	}))
	defer secure.Close()
	client := newClient(secure.Client().Transport.(*http.Transport).TLSClientConfig, nil)
	spec := &fulfillmentv1alpha1.CallAction{URL: secure.URL + "/start", Method: http.MethodGet, Retry: &fulfillmentv1alpha1.Retry{Attempts: 1}}
	call := newCall(t, Upstreams{Client: client}, spec, noSecrets)
	_, err := call.Run(context.Background(), invocation(nil))
	if !errors.Is(err, ErrRedirectRefused) || !strings.Contains(err.Error(), "redirect from https to http refused") {
		t.Errorf("want the https -> http redirect refused, got %v", err)
	}
}

func TestCheckRedirect(t *testing.T) {
	request := func(target string) *http.Request {
		u, err := url.Parse(target)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Request{URL: u}
	}
	chain := func(targets ...string) []*http.Request {
		var via []*http.Request
		for _, target := range targets {
			via = append(via, request(target))
		}
		return via
	}
	cases := map[string]struct {
		to   string
		via  []*http.Request
		want string // "" when followed
	}{
		"same host, another path":        {to: "https://api.example/v2/x", via: chain("https://api.example/v1/x")},
		"http to https":                  {to: "https://api.example/x", via: chain("http://api.example/x")},
		"http to http":                   {to: "http://api.example/y", via: chain("http://api.example/x")},
		"another host":                   {to: "https://evil.example/x", via: chain("https://api.example/x"), want: "redirect to another host (evil.example) refused"},
		"another port":                   {to: "https://api.example:8443/x", via: chain("https://api.example/x"), want: "another host"},
		"https to http":                  {to: "http://api.example/x", via: chain("https://api.example/x"), want: "redirect from https to http refused"},
		"https to http after a hop":      {to: "http://api.example/z", via: chain("http://api.example/x", "https://api.example/y"), want: "from https to http"},
		"back to the first host is fine": {to: "https://api.example/z", via: chain("https://api.example/x", "https://api.example/y")},
		"too many":                       {to: "https://api.example/x", via: chain("https://api.example/1", "https://api.example/2", "https://api.example/3", "https://api.example/4", "https://api.example/5", "https://api.example/6"), want: "more than 5 redirects"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := checkRedirect(request(tc.to), tc.via)
			if tc.want == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrRedirectRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// A zoned link-local address is refused before any connection, like the same address without its zone.
func TestZonedLinkLocalAddressIsRefused(t *testing.T) {
	call := compileCall(t, fulfillmentv1alpha1.CallAction{URL: "http://[fe80::a9fe:a9fe%25lo]:80/latest/meta-data/", Method: http.MethodGet})
	_, err := call.Run(context.Background(), invocation(nil))
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("want ErrForbiddenAddress, got %v", err)
	}
}
