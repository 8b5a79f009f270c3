package blackbox

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dependenciesManifest serves three endpoints on one Redis: a Sync one whose idempotency store is required
// (failurePolicy Fail, the default), one that does without it (Ignore), and an Async one on a Redis queue.
func dependenciesManifest(redisURL, upstream string) string {
	return fmt.Sprintf(`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: strict}
spec:
  dialect: Generic
  path: /strict
  auth: {allowUnauthenticated: true}
  idempotency: {enabled: true, store: Redis}
  redis: {url: %[1]q}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: lenient}
spec:
  dialect: Generic
  path: /lenient
  auth: {allowUnauthenticated: true}
  idempotency: {enabled: true, store: Redis, failurePolicy: Ignore}
  redis: {url: %[1]q}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: queued}
spec:
  dialect: Generic
  path: /queued
  auth: {allowUnauthenticated: true}
  delivery: {mode: Async, queue: Redis}
  redis: {url: %[1]q}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: apply}
spec:
  endpointRef: {name: queued}
  match: {events: [order.paid]}
  call: {url: "%[2]s/apply", body: 'request.body.id'}
`, redisURL, upstream)
}

// get returns the status and body of a GET on url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	content, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(content)
}

// TestReadyzFollowsRequiredRedis stops the Redis that endpoints require: /readyz turns 503 and names each
// endpoint and dependency (never the address), /healthz stays 200, and /readyz is 200 again once Redis is back.
func TestReadyzFollowsRequiredRedis(t *testing.T) {
	redis := startRedis(t)
	_, upstream := newCounter(t, 0)
	dir := t.TempDir()
	writeFile(t, dir, "endpoints.yaml", dependenciesManifest(redis.URL(), upstream))
	s := startServer(t, "--manifests", dir)

	if status, body := get(t, s.MetricsURL+"/readyz"); status != http.StatusOK {
		t.Fatalf("/readyz with Redis up: %d %s", status, body)
	}
	redis.Kill()
	// Each endpoint's Redis is pinged on its own: wait until both have found it down.
	wants := []string{"endpoint default/strict: redis idempotency store", "endpoint default/queued: redis queue"}
	var body string
	waitUntil(t, 10*time.Second, "/readyz to fail with Redis down, naming both endpoints", func() bool {
		var status int
		status, body = get(t, s.MetricsURL+"/readyz")
		return status == http.StatusServiceUnavailable && strings.Contains(body, wants[0]) && strings.Contains(body, wants[1])
	})
	if strings.Contains(body, "lenient") {
		t.Errorf("/readyz blames an endpoint whose store is optional (failurePolicy: Ignore): %s", body)
	}
	if strings.Contains(body, redis.Addr) || strings.Contains(body, "redis://") {
		t.Errorf("/readyz body shows the Redis address: %s", body)
	}
	if status, body := get(t, s.MetricsURL+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz with Redis down: %d %s, want 200 (liveness does not depend on Redis)", status, body)
	}

	redis.Revive()
	waitUntil(t, 10*time.Second, "/readyz to pass with Redis back", func() bool {
		status, _ := get(t, s.MetricsURL+"/readyz")
		return status == http.StatusOK
	})
}

// TestAsyncWorkIsMeasured: a queued event's upstream call is counted and timed as a synchronous request's
// is, under delivery="async".
func TestAsyncWorkIsMeasured(t *testing.T) {
	upstream, url := newCounter(t, 0)
	dir := t.TempDir()
	writeFile(t, dir, "events.yaml", asyncManifest(url, "Local", "", 3))
	s := startServer(t, "--manifests", dir, "--queue-dir", t.TempDir())

	if status, content := sendEvent(s, "evt_measured"); status != http.StatusAccepted {
		t.Fatalf("want 202, got %d %s", status, content)
	}
	waitUntil(t, 5*time.Second, "the event to be applied", func() bool { return upstream.count("evt_measured") == 1 })
	// The worker counts after the upstream answered: wait for the line rather than read once.
	calls := `fulfillment_upstream_requests_total{delivery="async",endpoint="default/events",outcome="ok",route="apply"} 1`
	waitUntil(t, 5*time.Second, "the async upstream call to be counted", func() bool { return len(s.metric(calls)) == 1 })
	if len(s.metric(`fulfillment_upstream_duration_seconds_count{delivery="async",endpoint="default/events",route="apply"} 1`)) != 1 {
		t.Errorf("the async upstream call is not timed: %v", s.metric("fulfillment_upstream_duration_seconds_count"))
	}
	if lines := s.metric("fulfillment_upstream_requests_total", `delivery="sync"`); len(lines) != 0 {
		t.Errorf("a queued event's call counted as sync: %v", lines)
	}
}

// TestRasaHealthWhileDraining: Rasa's GET /health answers 503 once the server drains (during --shutdown-delay,
// while requests are still served), so that whoever watches it stops sending.
func TestRasaHealthWhileDraining(t *testing.T) {
	s := startServer(t, "--manifests", samples(), "--endpoint", "rasa-actions", "--shutdown-delay", "3s")
	if resp, content := s.do(http.MethodGet, "/health", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /health before shutdown: %d %s", resp.StatusCode, content)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var content []byte
	waitUntil(t, 2*time.Second, "GET /health to answer 503 while draining", func() bool {
		var resp *http.Response
		resp, content = s.do(http.MethodGet, "/health", nil, nil)
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if !strings.Contains(string(content), "shutting down") {
		t.Errorf("GET /health while draining does not say why: %s", content)
	}
}

// TestDrainingClosesKeptAliveConnections: while the server drains, each answer closes its connection, so that a
// client's next request opens a new one to a pod that stays instead of being cut when the drain ends.
func TestDrainingClosesKeptAliveConnections(t *testing.T) {
	s := startServer(t, "--manifests", samples(), "--endpoint", "rasa-actions", "--shutdown-delay", "3s")
	if resp, _ := s.do(http.MethodGet, "/health", nil, nil); resp.Close {
		t.Fatal("a serving server closes the connection after each answer: keep-alive is off")
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Second, "answers to close their connection while draining", func() bool {
		resp, _ := s.do(http.MethodGet, "/health", nil, nil)
		return resp.Close // the server answered Connection: close
	})
}
