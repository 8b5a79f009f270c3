package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/redact"
)

func TestCheckAdminListen(t *testing.T) {
	for name, tc := range map[string]struct {
		address, tokenFile string
		refused            bool
	}{
		"off":                            {"", "", false},
		"IPv4 loopback":                  {"127.0.0.1:9091", "", false},
		"another IPv4 loopback address":  {"127.0.0.2:9091", "", false},
		"IPv6 loopback":                  {"[::1]:9091", "", false},
		"localhost":                      {"localhost:9091", "", false},
		"every interface":                {":9091", "", true},
		"IPv4 unspecified":               {"0.0.0.0:9091", "", true},
		"IPv6 unspecified":               {"[::]:9091", "", true},
		"a pod address":                  {"10.1.2.3:9091", "", true},
		"a host name may resolve to any": {"admin.example:9091", "", true},
		"not an address":                 {"9091", "", true},
		"every interface, with a token":  {":9091", "/etc/token", false},
		"a pod address, with a token":    {"10.1.2.3:9091", "/etc/token", false},
	} {
		t.Run(name, func(t *testing.T) {
			err := checkAdminListen(tc.address, tc.tokenFile)
			if (err != nil) != tc.refused {
				t.Fatalf("checkAdminListen(%q, %q) = %v, want refused %v", tc.address, tc.tokenFile, err, tc.refused)
			}
			if err != nil {
				for _, fix := range []string{"--admin-token-file", "--admin-listen 127.0.0.1:9091"} {
					if !strings.Contains(err.Error(), fix) {
						t.Errorf("the refusal does not name the fix %q: %v", fix, err)
					}
				}
			}
		})
	}
}

func TestReadAdminToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	for content, want := range map[string]string{"s3cret-admin-token\n": "s3cret-admin-token", "  tok \r\n": "tok"} {
		writeToken(t, path, content)
		if got, err := ReadAdminToken(path); err != nil || string(got) != want {
			t.Errorf("ReadAdminToken of %q = %q, %v; want %q", content, got, err, want)
		}
	}
	writeToken(t, path, " \n")
	if _, err := ReadAdminToken(path); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("an empty token file: %v, want an error saying it is empty", err)
	}
	if _, err := ReadAdminToken(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing token file was accepted")
	}
}

// TestRequireAdminToken: only the token in the file passes, compared whole; a rotated file applies to the next
// request; a file that cannot be read refuses everything; the token is learnt for redaction and never echoed.
func TestRequireAdminToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, "first-admin-token\n")
	secrets := &redact.Secrets{}
	s := &Server{opts: Options{AdminTokenFile: path, Secrets: secrets}, log: slog.New(slog.DiscardHandler)}
	handler := s.requireAdminToken(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("through"))
	}))
	call := func(authorization string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/admin/deadletters", nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		return rec.Code, string(body)
	}
	for _, tc := range []struct {
		authorization string
		status        int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer wrong-admin-token", http.StatusUnauthorized},
		{"Bearer first-admin-toke", http.StatusUnauthorized},
		{"Bearer first-admin-token-and-more", http.StatusUnauthorized},
		{"Basic first-admin-token", http.StatusUnauthorized},
		{"first-admin-token", http.StatusUnauthorized},
		{"Bearer first-admin-token", http.StatusOK},
		{"bearer first-admin-token", http.StatusOK},
	} {
		status, body := call(tc.authorization)
		if status != tc.status {
			t.Errorf("Authorization %q: %d %s, want %d", tc.authorization, status, body, tc.status)
		}
		if status != http.StatusOK && strings.Contains(body, "first-admin-token") {
			t.Errorf("the refusal echoes the token: %s", body)
		}
	}
	if got := secrets.Redact("x first-admin-token x"); strings.Contains(got, "first-admin-token") {
		t.Errorf("the admin token is not redacted from logs: %q", got)
	}

	writeToken(t, path, "second-admin-token")
	if status, _ := call("Bearer first-admin-token"); status != http.StatusUnauthorized {
		t.Errorf("the rotated-out token still passes: %d", status)
	}
	if status, _ := call("Bearer second-admin-token"); status != http.StatusOK {
		t.Errorf("the rotated-in token does not pass: %d", status)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if status, _ := call("Bearer second-admin-token"); status != http.StatusServiceUnavailable {
		t.Errorf("with the token file gone: %d, want 503", status)
	}
}

func writeToken(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAdminRefusesBrowserRequestsFromOtherSites: whoever port-forwards the admin listener also runs a browser. A
// page of another site must not replay or purge dead letters (a cross-site POST needs no preflight), nor read
// them through a name it made resolve to 127.0.0.1 (DNS rebinding); the admin commands still pass.
func TestAdminRefusesBrowserRequestsFromOtherSites(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	s.current.Store(&snapshot{}) // no Async endpoint: a request that gets through is answered 404 no_queue
	handler := s.adminHandler()
	for name, tc := range map[string]struct {
		method, host string
		header       http.Header
		want         int
	}{
		"the deadletters command":         {http.MethodPost, "127.0.0.1:9091", nil, http.StatusNotFound},
		"IPv6 loopback":                   {http.MethodGet, "[::1]:9091", nil, http.StatusNotFound},
		"localhost":                       {http.MethodGet, "localhost:9091", nil, http.StatusNotFound},
		"a cross-site POST":               {http.MethodPost, "127.0.0.1:9091", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		"a POST from another origin":      {http.MethodPost, "127.0.0.1:9091", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		"a rebound name":                  {http.MethodGet, "evil.example:9091", nil, http.StatusForbidden},
		"a loopback-looking name":         {http.MethodGet, "127.0.0.1.evil.example", nil, http.StatusForbidden},
		"a pod address without the token": {http.MethodGet, "10.1.2.3:9091", nil, http.StatusForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			path := "/admin/deadletters"
			if tc.method == http.MethodPost {
				path += "/purge?all=true"
			}
			req := httptest.NewRequest(tc.method, path, nil)
			req.Host = tc.host
			for key, values := range tc.header {
				req.Header[key] = values
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("%s %s to %s: %d %s, want %d", tc.method, path, tc.host, rec.Code, rec.Body, tc.want)
			}
		})
	}
}
