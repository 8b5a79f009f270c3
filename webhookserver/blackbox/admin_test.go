package blackbox

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// randomSecret is a secret no output can contain by chance, recorded for the suite-wide scan.
func randomSecret(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	value := prefix + hex.EncodeToString(b[:])
	secretsUsed.add([]byte(value))
	return value
}

// bearerAsyncManifest is asyncManifest behind a bearer token (in a Secret of the manifests) instead of open.
func bearerAsyncManifest(upstream, queue, redisURL string, maxAttempts int, token string) string {
	return strings.Replace(asyncManifest(upstream, queue, redisURL, maxAttempts),
		"auth: {allowUnauthenticated: true}", "auth: {bearer: {secretRef: {name: events-token, key: token}}}", 1) + fmt.Sprintf(`
---
apiVersion: v1
kind: Secret
metadata: {name: events-token}
stringData: {token: %q}
`, token)
}

// adminTokenFile writes a new random admin token to a file and returns both.
func adminTokenFile(t *testing.T) (path, token string) {
	token = randomSecret("admin-")
	return writeFile(t, t.TempDir(), "admin-token", token+"\n"), token
}

// admin calls the server's admin listener with token ("" for none).
func (s *server) admin(method, path, token string) (int, string) {
	s.t.Helper()
	req := mustRequest(s.t, method, s.AdminURL+path)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	recordCredentials(req.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	outputs.add(string(body))
	return resp.StatusCode, string(body)
}

// TestQueuedEventsKeepNoCredentials: an event authenticated with a bearer token (and carrying a cookie and a
// signature) dead-letters; neither the dead-letter listing nor the queue's store (the Local file, or every Redis
// key and Redis's append-only file) holds any byte of those credentials, while the headers an event may keep
// are kept.
func TestQueuedEventsKeepNoCredentials(t *testing.T) {
	for _, queue := range []string{"Local", "Redis"} {
		t.Run(queue, func(t *testing.T) {
			upstream, url := newCounter(t, 0)
			upstream.failing.Store(true)
			bearer := randomSecret("bearer-")
			dir, queueDir := t.TempDir(), t.TempDir()
			args := []string{"--manifests", dir, "--queue-dir", queueDir}
			var stored func() string
			switch queue {
			case "Local":
				writeFile(t, dir, "events.yaml", bearerAsyncManifest(url, "Local", "", 1, bearer))
				stored = func() string { return storedUnder(t, queueDir) }
			case "Redis":
				redis := startRedis(t)
				writeFile(t, dir, "events.yaml", bearerAsyncManifest(url, "Redis", redis.URL(), 1, bearer))
				stored = func() string { return redisContents(t, redis.URL()) + storedUnder(t, redis.Dir) }
			}
			tokenFile, adminToken := adminTokenFile(t)
			s := startServer(t, append(args, "--admin-token-file", tokenFile)...)

			cookie, signature := randomSecret("cookie-"), randomSecret("signature-")
			header := http.Header{
				"Authorization":       {"Bearer " + bearer},
				"Cookie":              {"session=" + cookie},
				"X-Hub-Signature-256": {"sha256=" + signature},
				"X-Request-Id":        {"request-kept-1"},
			}
			resp, content := s.post("/webhook", []byte(`{"event":"order.paid","id":"evt_signed"}`), header)
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("want 202, got %d %s", resp.StatusCode, content)
			}
			var listing string
			waitUntil(t, 10*time.Second, "the event to dead-letter", func() bool {
				_, listing = s.admin(http.MethodGet, "/admin/deadletters", adminToken)
				return strings.Contains(listing, "evt_signed")
			})
			if !strings.Contains(listing, "request-kept-1") {
				t.Errorf("the dead letter lost the headers an event keeps: %s", listing)
			}
			s.stop()
			for name, text := range map[string]string{"the dead-letter listing": listing, "the queue's store": stored()} {
				if strings.Contains(strings.ToLower(text), "authorization") || strings.Contains(text, "Cookie") {
					t.Errorf("%s holds a credential header", name)
				}
				for _, secret := range []string{bearer, cookie, signature} {
					if strings.Contains(text, secret) {
						t.Errorf("%s holds the credential %.8s...", name, secret)
					}
				}
			}
		})
	}
}

// storedUnder is the content of every file under dir, which must hold some.
func storedUnder(t *testing.T, dir string) string {
	t.Helper()
	content := filesUnder(dir)
	if content == "" {
		t.Fatalf("no stored data under %s: the scan would prove nothing", dir)
	}
	return content
}

// TestAdminAPI: dead-letter operations are not on the metrics listener; on the admin listener they need the
// admin token; list, replay and purge work through the CLI with the token file.
func TestAdminAPI(t *testing.T) {
	upstream, url := newCounter(t, 0)
	upstream.failing.Store(true)
	dir := t.TempDir()
	writeFile(t, dir, "events.yaml", asyncManifest(url, "Local", "", 1))
	tokenFile, token := adminTokenFile(t)
	s := startServer(t, "--manifests", dir, "--queue-dir", t.TempDir(), "--admin-token-file", tokenFile)
	for _, id := range []string{"evt_a", "evt_b", "evt_c"} {
		if status, content := sendEvent(s, id); status != http.StatusAccepted {
			t.Fatalf("%s: want 202, got %d %s", id, status, content)
		}
	}
	waitUntil(t, 10*time.Second, "three dead letters", func() bool {
		return len(s.metric(`fulfillment_queue_events{endpoint="default/events",state="dead"} 3`)) == 1
	})

	for _, call := range []struct{ method, path string }{
		{http.MethodGet, "/admin/deadletters"}, {http.MethodPost, "/admin/deadletters/replay?id=evt_a"},
		{http.MethodPost, "/admin/deadletters/purge?all=true"},
	} {
		resp, err := http.DefaultClient.Do(mustRequest(t, call.method, s.MetricsURL+call.path))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s on the metrics listener: %d, want 404", call.method, call.path, resp.StatusCode)
		}
	}

	for name, sent := range map[string]string{"no token": "", "a wrong token": randomSecret("wrong-"), "the token's prefix": token[:len(token)-1]} {
		if status, body := s.admin(http.MethodGet, "/admin/deadletters", sent); status != http.StatusUnauthorized || strings.Contains(body, "evt_a") {
			t.Errorf("%s: %d %s, want 401 without the dead letters", name, status, body)
		}
	}
	if status, body := s.admin(http.MethodGet, "/admin/deadletters", token); status != http.StatusOK || !strings.Contains(body, "evt_a") {
		t.Fatalf("with the token: %d %s, want the dead letters", status, body)
	}

	admin := []string{"--admin=" + s.AdminURL, "--admin-token-file=" + tokenFile}
	if out, err := runBinary(t, "deadletters", "list", "--admin="+s.AdminURL); err == nil || !strings.Contains(out, "401") {
		t.Errorf("the CLI without the token file: %v %s, want a 401", err, out)
	}
	if out, err := runBinary(t, append([]string{"deadletters", "list"}, admin...)...); err != nil || !strings.Contains(out, "evt_b") {
		t.Fatalf("deadletters list: %v %s", err, out)
	}

	upstream.failing.Store(false)
	if out, err := runBinary(t, append([]string{"deadletters", "replay", "evt_a"}, admin...)...); err != nil {
		t.Fatalf("deadletters replay: %v %s", err, out)
	}
	waitUntil(t, 5*time.Second, "the replayed event to be applied", func() bool { return upstream.count("evt_a") == 1 })

	if out, err := runBinary(t, append([]string{"deadletters", "purge", "evt_b"}, admin...)...); err != nil || !strings.Contains(out, `"purged":1`) {
		t.Fatalf("deadletters purge evt_b: %v %s", err, out)
	}
	if out, _ := runBinary(t, append([]string{"deadletters", "list"}, admin...)...); strings.Contains(out, "evt_b") || !strings.Contains(out, "evt_c") {
		t.Errorf("after purging evt_b the list is %s, want evt_c alone", out)
	}
	if out, err := runBinary(t, append([]string{"deadletters", "purge", "evt_b"}, admin...)...); err == nil || !strings.Contains(out, "404") {
		t.Errorf("purging evt_b again: %v %s, want a 404", err, out)
	}
	if out, err := runBinary(t, append([]string{"deadletters", "purge", "--all"}, admin...)...); err != nil || !strings.Contains(out, `"purged":1`) {
		t.Fatalf("deadletters purge --all: %v %s", err, out)
	}
	if len(s.metric(`fulfillment_queue_events{endpoint="default/events",state="dead"} 0`)) != 1 {
		t.Errorf("dead letters left after purge --all: %v", s.metric("fulfillment_queue_events"))
	}
	if upstream.count("evt_b") != 0 || upstream.count("evt_c") != 0 {
		t.Error("a purged dead letter was applied")
	}
}

// TestAdminListenerExposure: an admin listener other hosts can reach needs a token: without one serve refuses
// to start and says how to fix it; with one it starts and refuses requests without the token. An empty
// --admin-listen turns the listener off.
func TestAdminListenerExposure(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "events.yaml", asyncManifest("http://127.0.0.1:1", "Local", "", 1))
	exposed := "0.0.0.0:" + strings.Split(freePort(t), ":")[1]
	out, err := runBinary(t, "serve", "--manifests", dir, "--queue-dir", t.TempDir(), "--listen", freePort(t),
		"--metrics-listen", freePort(t), "--admin-listen", exposed)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("serve with --admin-listen %s and no token: %v, want a failed start\n%s", exposed, err, out)
	}
	for _, fix := range []string{"--admin-token-file", "--admin-listen 127.0.0.1:9091", "kubectl port-forward"} {
		if !strings.Contains(out, fix) {
			t.Errorf("the refusal does not name the fix %q:\n%s", fix, out)
		}
	}

	tokenFile, _ := adminTokenFile(t)
	s := startServer(t, "--manifests", dir, "--queue-dir", t.TempDir(), "--admin-listen", exposed, "--admin-token-file", tokenFile)
	s.AdminURL = "http://" + strings.Replace(exposed, "0.0.0.0", "127.0.0.1", 1)
	if status, body := s.admin(http.MethodGet, "/admin/deadletters", ""); status != http.StatusUnauthorized {
		t.Errorf("the exposed admin listener without a token: %d %s, want 401", status, body)
	}
	s.stop()

	off := startServer(t, "--manifests", dir, "--queue-dir", t.TempDir(), "--admin-listen", "")
	if resp, err := http.Get(off.AdminURL + "/admin/deadletters"); err == nil {
		resp.Body.Close()
		t.Errorf("--admin-listen \"\" still serves the admin listener: %s", resp.Status)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("--admin-listen \"\": %v, want the connection refused", err)
	}
}

func mustRequest(t testing.TB, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
