package blackbox

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// effects counts, per event id, how many times the upstream applied an event.
type effects struct {
	mu     sync.Mutex
	counts map[string]int
}

func (e *effects) handler(delay time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		time.Sleep(delay) // a slow effect, so that duplicates arrive while the first is in flight
		e.mu.Lock()
		e.counts[string(body)]++
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"applied": true}`))
	})
}

// TestDuplicatesAcrossTwoServersSharingRedis sends every event several times, concurrently, to two server
// processes sharing one Redis: each event's effect is applied exactly once, and every duplicate gets the same
// answer.
func TestDuplicatesAcrossTwoServersSharingRedis(t *testing.T) {
	redis := startRedis(t)
	applied := &effects{counts: map[string]int{}}
	upstream := httptest.NewServer(applied.handler(50 * time.Millisecond))
	t.Cleanup(upstream.Close)
	dir := t.TempDir()
	writeFile(t, dir, "events.yaml", fmt.Sprintf(`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: payments}
spec:
  dialect: Generic
  timeout: 5s
  auth: {allowUnauthenticated: true}
  idempotency: {enabled: true, store: Redis, ttl: 1h}
  redis: {url: %q}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: apply}
spec:
  endpointRef: {name: payments}
  match: {events: [invoice.paid]}
  call:
    url: %s/apply
    body: 'request.body.id'
    respond: {text: "applied ${request.body.id}"}
`, redis.URL(), upstream.URL))
	servers := []*server{startServer(t, "--manifests", dir), startServer(t, "--manifests", dir)}

	const events, copies = 20, 6
	type answer struct {
		status   int
		body     string
		replayed bool
	}
	answers := make([][]answer, events)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for e := range events {
		for c := range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("evt_%02d", e)
				s := servers[c%2]
				resp, content := s.post("/webhook", []byte(fmt.Sprintf(`{"event":"invoice.paid","id":%q}`, id)), nil)
				mu.Lock()
				answers[e] = append(answers[e], answer{resp.StatusCode, string(content), resp.Header.Get("Idempotent-Replayed") == "true"})
				mu.Unlock()
			}()
		}
	}
	wg.Wait()

	for e := range events {
		id := fmt.Sprintf("evt_%02d", e)
		if got := applied.counts[`"`+id+`"`]; got != 1 {
			t.Errorf("%s applied %d times, want exactly once", id, got)
		}
		replays := 0
		for _, a := range answers[e] {
			if a.status != http.StatusOK || !strings.Contains(a.body, "applied "+id) {
				t.Errorf("%s: answer %d %s", id, a.status, a.body)
			}
			if a.replayed {
				replays++
			}
		}
		if replays != copies-1 {
			t.Errorf("%s: %d answers marked replayed, want %d", id, replays, copies-1)
		}
	}
}

// TestIdempotencyFailurePolicy: with Redis down, Fail answers 503 with Retry-After quickly (never a hang), and
// Ignore processes the request without idempotency.
func TestIdempotencyFailurePolicy(t *testing.T) {
	redis := startRedis(t)
	url := redis.URL()
	redis.Kill()
	dir := t.TempDir()
	manifest := func(name, policy string) string {
		return fmt.Sprintf(`
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: %[1]s}
spec:
  dialect: Generic
  path: /%[1]s
  auth: {allowUnauthenticated: true}
  idempotency: {enabled: true, store: Redis, failurePolicy: %[2]s}
  redis: {url: %[3]q}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: %[1]s-route}
spec:
  endpointRef: {name: %[1]s}
  match: {events: [e]}
  respond: {text: ok}
`, name, policy, url)
	}
	writeFile(t, dir, "events.yaml", manifest("strict", "Fail")+manifest("lenient", "Ignore"))
	// Not ready, rightly: a store it requires is down. It still answers what reaches it.
	s := startServerNotReady(t, "--manifests", dir)

	start := time.Now()
	resp, content := s.post("/strict", []byte(`{"event":"e","id":"evt_1"}`), nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(content), "idempotency_unavailable") {
		t.Errorf("Fail policy: %d %s", resp.StatusCode, content)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Fail policy answered after %v: an unreachable store must not hang the request", elapsed)
	}
	resp, content = s.post("/lenient", []byte(`{"event":"e","id":"evt_1"}`), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(content), "ok") {
		t.Errorf("Ignore policy: %d %s", resp.StatusCode, content)
	}
	if len(s.metric(`fulfillment_idempotency_total{delivery="sync",endpoint="default/lenient",result="store_error"} 1`)) != 1 {
		t.Errorf("store errors not counted: %v", s.metric("fulfillment_idempotency_total"))
	}
}

// TestIdempotencyIsOnByDefault: an endpoint that says nothing about idempotency processes a redelivered event
// once and replays its answer; one that turns it off processes every delivery.
func TestIdempotencyIsOnByDefault(t *testing.T) {
	applied := &effects{counts: map[string]int{}}
	upstream := httptest.NewServer(applied.handler(0))
	t.Cleanup(upstream.Close)
	dir := t.TempDir()
	endpoint := func(name, more string) string {
		return fmt.Sprintf(`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: %[1]s}
spec:
  dialect: Generic
  path: /%[1]s
  auth: {allowUnauthenticated: true}%[2]s
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: %[1]s-apply}
spec:
  endpointRef: {name: %[1]s}
  match: {events: [invoice.paid]}
  call: {url: "%[3]s/apply", body: 'endpoint.name + "/" + request.body.id'}
`, name, more, upstream.URL)
	}
	writeFile(t, dir, "events.yaml", endpoint("unsaid", "")+"---"+endpoint("disabled", "\n  idempotency: {enabled: false}"))
	s := startServer(t, "--manifests", dir)

	for _, path := range []string{"/unsaid", "/disabled"} {
		for range 2 {
			if resp, content := s.post(path, []byte(`{"event":"invoice.paid","id":"evt_1"}`), nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, content)
			}
		}
	}
	applied.mu.Lock()
	defer applied.mu.Unlock()
	if got := applied.counts[`"unsaid/evt_1"`]; got != 1 {
		t.Errorf("without idempotency in the spec, a redelivered event was applied %d times, want once", got)
	}
	if got := applied.counts[`"disabled/evt_1"`]; got != 2 {
		t.Errorf("with idempotency off, an event sent twice was applied %d times, want twice", got)
	}
}
