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

// counter is an upstream that counts every call reaching it per event id (deliveries, duplicates included),
// remembers the Idempotency-Key each carried, and can fail on demand. It does not deduplicate, as a real
// upstream honouring Idempotency-Key would: a test sees every duplicate delivery the server makes.
type counter struct {
	mu         sync.Mutex
	deliveries map[string]int
	keys       map[string]map[string]bool // event id → the Idempotency-Keys its deliveries carried
	withoutKey int
	failing    atomic.Bool
	delay      time.Duration
}

func newCounter(t *testing.T, delay time.Duration) (*counter, string) {
	c := &counter{deliveries: map[string]int{}, keys: map[string]map[string]bool{}, delay: delay}
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
		c.deliveries[id]++
		if key == "" {
			c.withoutKey++
		} else {
			if c.keys[id] == nil {
				c.keys[id] = map[string]bool{}
			}
			c.keys[id][key] = true
		}
		c.mu.Unlock()
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(server.Close)
	return c, server.URL
}

// count is how many times the event reached the upstream.
func (c *counter) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deliveries[id]
}

// total is how many distinct events reached the upstream, and how many deliveries they took.
func (c *counter) total() (events, deliveries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.deliveries {
		events++
		deliveries += n
	}
	return events, deliveries
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
	// The log says so, with what it takes to act on it.
	s.waitForLog("moved to the dead letters")
	dead := s.logLine("delivery: event moved to the dead letters after its last attempt", "")
	checkFields(t, "dead letter", dead, map[string]any{"level": "WARN", "endpoint": "default/events", "eventId": "evt_doomed", "attempts": 3})
	if !strings.Contains(fmt.Sprint(dead["lastError"]), "answered 502") {
		t.Errorf("the dead letter's line does not say why: %v", dead)
	}
	// Each attempt is logged under the event's id, with the route and why it failed.
	attempt := s.logLine("queued event failed; it will be retried or kept as a dead letter", "")
	checkFields(t, "failed attempt", attempt, map[string]any{"eventId": "evt_doomed", "event": "order.paid", "route": "apply",
		"status": 502, "outcome": "error"})

	upstream.failing.Store(false)
	if out, err := runBinary(t, "deadletters", "replay", "evt_doomed", admin); err != nil {
		t.Fatalf("replay: %v %s", err, out)
	}
	waitUntil(t, 5*time.Second, "the replayed event to be applied", func() bool { return upstream.count("evt_doomed") == 1 })
}

// TestKillNineWithQueuedEvents kills the server (SIGKILL) while it holds queued and in-flight events, restarts
// it on the same queue, and counts what the upstream saw: every acknowledged event delivered at least once,
// every delivery with an Idempotency-Key and all of an event's deliveries with the same one, and duplicates
// only for the events in progress when the process died (at most one per worker).
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

	second := startServer(t, "--manifests", dir, "--queue-dir", queueDir)
	waitUntil(t, 30*time.Second, "every acknowledged event to be applied", func() bool {
		for _, id := range acknowledged {
			if upstream.count(id) == 0 {
				return false
			}
		}
		return true
	})
	// A duplicate is a redelivery from the queue: once it holds nothing, none can come.
	waitQueueEmpty(t, second, "default/events")
	upstream.mu.Lock()
	defer upstream.mu.Unlock()
	duplicates := 0
	for _, id := range acknowledged {
		duplicates += upstream.deliveries[id] - 1
		if len(upstream.keys[id]) > 1 {
			t.Errorf("%s was delivered with %d different Idempotency-Keys: an upstream could not deduplicate it", id, len(upstream.keys[id]))
		}
	}
	if upstream.withoutKey != 0 {
		t.Errorf("%d calls reached the upstream without an Idempotency-Key", upstream.withoutKey)
	}
	if workers := 4; duplicates > workers { // delivery.DefaultWorkers: events in progress at the kill
		t.Errorf("%d duplicate deliveries, more than the %d events the workers could have had in progress", duplicates, workers)
	}
	t.Logf("%d acknowledged events: %d duplicate deliveries after the kill (same Idempotency-Key each)", len(acknowledged), duplicates)
}

// waitQueueEmpty waits until the endpoint's queue holds no pending, in-flight or delayed event, as its metric
// says: every event has been processed for good.
func waitQueueEmpty(t *testing.T, s *server, endpoint string) {
	t.Helper()
	waitUntil(t, 30*time.Second, "the queue of "+endpoint+" to be empty", func() bool {
		for _, state := range []string{"pending", "in_flight", "delayed"} {
			if len(s.metric(fmt.Sprintf(`fulfillment_queue_events{endpoint=%q,state=%q} 0`, endpoint, state))) != 1 {
				return false
			}
		}
		return true
	})
}

// TestRedisRestartMidLoad stops and restarts Redis while events are being queued to a Redis queue: requests
// during the outage are answered 503 (at least one must be, or the test showed nothing), no acknowledged event
// is lost, and queueing resumes once Redis is back.
func TestRedisRestartMidLoad(t *testing.T) {
	upstream, url := newCounter(t, 0)
	redis := startRedis(t)
	dir := t.TempDir()
	writeFile(t, dir, "events.yaml", asyncManifest(url, "Redis", redis.URL(), 10))
	s := startServer(t, "--manifests", dir)

	var mu sync.Mutex
	var acknowledged []string
	refused, sentWhileDown := 0, 0
	var redisDown atomic.Bool
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
				down := redisDown.Load()
				status, _ := sendEvent(s, id)
				mu.Lock()
				if down && redisDown.Load() {
					sentWhileDown++
				}
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
	counts := func() (acked, refusedSoFar int) {
		mu.Lock()
		defer mu.Unlock()
		return len(acknowledged), refused
	}
	waitUntil(t, 10*time.Second, "events to be queued before the outage", func() bool { acked, _ := counts(); return acked >= 20 })
	redisDown.Store(true)
	redis.Kill()
	waitUntil(t, 10*time.Second, "a request to be refused while Redis is down", func() bool { _, r := counts(); return r >= 1 })
	redis.Revive()
	redisDown.Store(false)
	ackedAtRevive, _ := counts()
	waitUntil(t, 10*time.Second, "events to be queued again after the outage", func() bool { acked, _ := counts(); return acked >= ackedAtRevive+20 })
	close(stop)
	wg.Wait()
	if refused == 0 && sentWhileDown == 0 {
		t.Fatal("no request hit the outage: the test showed nothing")
	}

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
	t.Logf("%d events acknowledged, %d refused with 503, %d sent while Redis was down; all acknowledged applied within %v",
		len(acknowledged), refused, sentWhileDown, time.Since(start).Round(time.Second))
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
	acked := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acknowledged)
	}
	waitUntil(t, 10*time.Second, "events to be queued before the SIGTERM", func() bool { return acked() >= 20 })
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	// Clients keep sending while it drains: wait until it says so, and until more events were accepted since.
	waitUntil(t, 5*time.Second, "/readyz to turn 503 on SIGTERM", func() bool {
		resp, err := http.Get(s.MetricsURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	ackedWhenDraining := acked()
	waitUntil(t, 5*time.Second, "events to be accepted while draining", func() bool { return acked() >= ackedWhenDraining+5 })
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
