package blackbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// asyncManifest is an Async Generic endpoint that applies each event at upstream.
func asyncManifest(upstream, queue, redisURL string, maxAttempts int) string {
	redis := ""
	if redisURL != "" {
		redis = fmt.Sprintf("\n  redis: {url: %q}", redisURL)
	}
	idempotencyStore := "Memory"
	if redisURL != "" {
		idempotencyStore = "Redis"
	}
	return fmt.Sprintf(`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: events}
spec:
  dialect: Generic
  timeout: 5s
  auth: {allowUnauthenticated: true}
  idempotency: {enabled: true, store: %s}
  delivery: {mode: Async, queue: %s, maxAttempts: %d, backoff: {initial: 20ms, max: 200ms}}%s
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: apply}
spec:
  endpointRef: {name: events}
  match: {events: [order.paid]}
  call: {url: "%s/apply", body: 'request.body.id', retry: {attempts: 1}}
`, idempotencyStore, queue, maxAttempts, redis, upstream)
}

// counter is an upstream that counts effects per event id and can fail on demand. Like Stripe and most payment
// APIs it honours Idempotency-Key: a call repeating the key of an applied call is answered without applying
// again. This is what makes "exactly once" possible across a crash between the upstream's effect and the
// server storing its answer: the retry carries the same key.
type counter struct {
	mu         sync.Mutex
	effects    map[string]int
	appliedKey map[string]bool
	withoutKey int
	failing    atomic.Bool
	delay      time.Duration
}

func newCounter(t *testing.T, delay time.Duration) (*counter, string) {
	c := &counter{effects: map[string]int{}, appliedKey: map[string]bool{}, delay: delay}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id string
		_ = json.NewDecoder(r.Body).Decode(&id)
		time.Sleep(c.delay)
		if c.failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		c.mu.Lock()
		switch {
		case key == "":
			c.withoutKey++
			c.effects[id]++
		case !c.appliedKey[key]:
			c.appliedKey[key] = true
			c.effects[id]++
		}
		c.mu.Unlock()
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(server.Close)
	return c, server.URL
}

func (c *counter) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.effects[id]
}

func (c *counter) total() (events, effects int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.effects {
		events++
		effects += n
	}
	return events, effects
}

func sendEvent(s *server, id string) (int, string) {
	resp, content := s.post("/webhook", []byte(fmt.Sprintf(`{"event":"order.paid","id":%q}`, id)), nil)
	return resp.StatusCode, string(content)
}

func waitUntil(t *testing.T, timeout time.Duration, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAsyncDeliveryWithDeadLetters: 202 once queued, processed later; an event that keeps failing becomes a
// dead letter, listed and replayed through the CLI.
func TestAsyncDeliveryWithDeadLetters(t *testing.T) {
	upstream, url := newCounter(t, 0)
	dir := t.TempDir()
	writeFile(t, dir, "events.yaml", asyncManifest(url, "Local", "", 3))
	s := startServer(t, "--manifests", dir, "--queue-dir", t.TempDir())

	status, content := sendEvent(s, "evt_ok")
	if status != http.StatusAccepted || !strings.Contains(content, `"id":"evt_ok"`) {
		t.Fatalf("want 202 with the id, got %d %s", status, content)
	}
	waitUntil(t, 5*time.Second, "the event to be applied", func() bool { return upstream.count("evt_ok") == 1 })

	// A malformed event is refused now, not queued to die later.
	resp, content2 := s.post("/webhook", []byte(`{"event":`), nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed event: %d %s", resp.StatusCode, content2)
	}

	upstream.failing.Store(true)
	if status, _ := sendEvent(s, "evt_doomed"); status != http.StatusAccepted {
		t.Fatalf("status %d", status)
	}
	admin := "--admin=" + s.AdminURL
	waitUntil(t, 10*time.Second, "a dead letter", func() bool {
		out, err := runBinary(t, "deadletters", "list", admin)
		return err == nil && strings.Contains(out, "evt_doomed")
	})
	out, _ := runBinary(t, "deadletters", "list", admin)
	if !strings.Contains(out, `"attempts":3`) || !strings.Contains(out, "answered 502") {
		t.Errorf("the dead letter does not say how many attempts and why: %s", out)
	}
	if len(s.metric(`fulfillment_queue_events{endpoint="default/events",state="dead"} 1`)) != 1 {
		t.Errorf("dead letters not in the queue metric: %v", s.metric("fulfillment_queue_events"))
	}

	upstream.failing.Store(false)
	if out, err := runBinary(t, "deadletters", "replay", "evt_doomed", admin); err != nil {
		t.Fatalf("replay: %v %s", err, out)
	}
	waitUntil(t, 5*time.Second, "the replayed event to be applied", func() bool { return upstream.count("evt_doomed") == 1 })
}

// TestKillNineWithQueuedEvents kills the server (SIGKILL) while it holds queued and in-flight events, restarts
// it on the same queue, and counts: every acknowledged event is applied, and, with idempotency on, exactly once.
func TestKillNineWithQueuedEvents(t *testing.T) {
	upstream, url := newCounter(t, 30*time.Millisecond)
	redis := startRedis(t) // idempotency shared across the crash: the memory store would die with the process
	dir, queueDir := t.TempDir(), t.TempDir()
	writeFile(t, dir, "events.yaml", asyncManifest(url, "Local", redis.URL(), 10))
	first := startServer(t, "--manifests", dir, "--queue-dir", queueDir)

	var acknowledged []string
	for i := range 150 {
		id := fmt.Sprintf("evt_%03d", i)
		if status, _ := sendEvent(first, id); status == http.StatusAccepted {
			acknowledged = append(acknowledged, id)
		}
	}
	applied, _ := upstream.total()
	if applied == len(acknowledged) {
		t.Fatal("every event was applied before the kill: the test would show nothing")
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.exited
	t.Logf("killed with %d of %d acknowledged events applied", applied, len(acknowledged))

	startServer(t, "--manifests", dir, "--queue-dir", queueDir)
	waitUntil(t, 30*time.Second, "every acknowledged event to be applied", func() bool {
		for _, id := range acknowledged {
			if upstream.count(id) == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(300 * time.Millisecond) // let any duplicate delivery land before counting
	for _, id := range acknowledged {
		if n := upstream.count(id); n != 1 {
			t.Errorf("%s applied %d times, want exactly once", id, n)
		}
	}
	upstream.mu.Lock()
	defer upstream.mu.Unlock()
	if upstream.withoutKey != 0 {
		t.Errorf("%d calls reached the upstream without an Idempotency-Key", upstream.withoutKey)
	}
}

// TestRedisRestartMidLoad restarts Redis while events are being queued to a Redis queue: no acknowledged event
// is lost, and events refused while Redis is down were answered 503, never 202.
func TestRedisRestartMidLoad(t *testing.T) {
	upstream, url := newCounter(t, 0)
	redis := startRedis(t)
	dir := t.TempDir()
	writeFile(t, dir, "events.yaml", asyncManifest(url, "Redis", redis.URL(), 10))
	s := startServer(t, "--manifests", dir)

	var mu sync.Mutex
	var acknowledged []string
	refused := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("evt_%d_%04d", g, i)
				status, _ := sendEvent(s, id)
				mu.Lock()
				switch status {
				case http.StatusAccepted:
					acknowledged = append(acknowledged, id)
				case http.StatusServiceUnavailable:
					refused++
				default:
					t.Errorf("status %d for %s", status, id)
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	redis.Restart()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()

	// An event whose outcome could not be recorded while Redis was down stays pending under this consumer and
	// is reclaimed after the queue's minimum idle time (30s): allow for that.
	start := time.Now()
	waitUntil(t, 90*time.Second, "every acknowledged event to be applied", func() bool {
		for _, id := range acknowledged {
			if upstream.count(id) == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("%d events acknowledged, %d refused with 503 while Redis restarted; all acknowledged applied within %v",
		len(acknowledged), refused, time.Since(start).Round(time.Second))
}

// TestSigtermUnderLoad stops the server while clients keep sending: every request gets an answer (no
// connection error while it drains), and every acknowledged event is applied after a restart.
func TestSigtermUnderLoad(t *testing.T) {
	upstream, url := newCounter(t, 20*time.Millisecond)
	dir, queueDir := t.TempDir(), t.TempDir()
	writeFile(t, dir, "events.yaml", asyncManifest(url, "Local", "", 10))
	s := startServer(t, "--manifests", dir, "--queue-dir", queueDir, "--shutdown-delay", "300ms")

	var mu sync.Mutex
	var acknowledged []string
	var failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("evt_%d_%04d", g, i)
				resp, err := client.Post(s.URL+"/webhook", "application/json", strings.NewReader(fmt.Sprintf(`{"event":"order.paid","id":%q}`, id)))
				if err != nil {
					failed.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					acknowledged = append(acknowledged, id)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(150 * time.Millisecond) // clients keep sending during the shutdown delay
	close(stop)
	wg.Wait()
	<-s.exited
	if failed.Load() != 0 {
		t.Errorf("%d requests failed while the server drained", failed.Load())
	}

	startServer(t, "--manifests", dir, "--queue-dir", queueDir)
	waitUntil(t, 30*time.Second, "every acknowledged event to be applied", func() bool {
		for _, id := range acknowledged {
			if upstream.count(id) == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("%d events acknowledged around a SIGTERM, all applied", len(acknowledged))
}
