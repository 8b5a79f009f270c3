package blackbox

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestUpstreamDownSlowAndFlapping: whatever the upstream does, every answer arrives within the deadline; after
// repeated failures the circuit opens and the fallback is answered at once without calling the upstream; once the
// upstream recovers, a trial request closes the circuit again.
func TestUpstreamDownSlowAndFlapping(t *testing.T) {
	var mode atomic.Value // "up", "down", "slow"
	mode.Store("up")
	var hits atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch mode.Load() {
		case "down":
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case "slow":
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"balance": 7}`))
	}))
	t.Cleanup(upstream.Close)
	dir := t.TempDir()
	writeFile(t, dir, "bot.yaml", balanceCallManifest("1s", upstream.URL))
	s := startServer(t, "--manifests", dir, "--breaker-open-timeout", "500ms")
	// Each question has its own responseId, as Dialogflow sends, so that none is answered from the idempotency
	// store.
	var asked atomic.Int64
	ask := func() (string, string, time.Duration) {
		start := time.Now()
		request := fmt.Sprintf(`{"responseId":"r-%d","session":"projects/p/agent/sessions/s","queryResult":{"intent":{"displayName":"Balance"}}}`, asked.Add(1))
		resp, content := s.post("/webhook", []byte(request), nil)
		elapsed := time.Since(start)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d: %s", resp.StatusCode, content)
		}
		if elapsed >= time.Second {
			t.Errorf("answered after %v, past the 1s deadline", elapsed)
		}
		return string(content), resp.Header.Get("Fulfillment-Fallback"), elapsed
	}
	state := func() string {
		lines := s.metric("fulfillment_upstream_circuit_state")
		if len(lines) == 0 {
			return "closed"
		}
		return map[string]string{"0": "closed", "1": "half-open", "2": "open"}[lines[0][strings.LastIndex(lines[0], " ")+1:]]
	}
	recoverWhenUp := func() {
		t.Helper()
		mode.Store("up")
		time.Sleep(600 * time.Millisecond) // the open timeout passes: the next request is the trial
		if content, fallback, _ := ask(); fallback != "" || !strings.Contains(content, "Balance 7") {
			t.Fatalf("after recovery: fallback %q %s", fallback, content)
		}
		if got := state(); got != "closed" {
			t.Fatalf("circuit %s after a successful trial, want closed", got)
		}
	}

	if content, _, _ := ask(); !strings.Contains(content, "Balance 7") {
		t.Fatalf("upstream up: %s", content)
	}

	// Down: five failures open the circuit; the next answers are immediate and the upstream is left alone.
	mode.Store("down")
	before := hits.Load()
	for range 5 {
		if _, fallback, _ := ask(); fallback != "action_failed" {
			t.Errorf("upstream down: fallback %q", fallback)
		}
	}
	if got := state(); got != "open" {
		t.Fatalf("circuit %s after 5 failures, want open", got)
	}
	for range 5 {
		if _, fallback, elapsed := ask(); fallback != "action_failed" || elapsed > 200*time.Millisecond {
			t.Errorf("open circuit: fallback %q after %v, want an immediate fallback", fallback, elapsed)
		}
	}
	if calls := hits.Load() - before; calls != 5 {
		t.Errorf("the upstream was called %d times, want 5 (none while the circuit is open)", calls)
	}
	recoverWhenUp()

	// Slow: each answer is the fallback in time; five timeouts open the circuit too.
	mode.Store("slow")
	for range 5 {
		if _, fallback, _ := ask(); fallback != "deadline" {
			t.Errorf("slow upstream: fallback %q, want deadline", fallback)
		}
	}
	if got := state(); got != "open" {
		t.Fatalf("circuit %s after 5 timeouts, want open", got)
	}
	recoverWhenUp()

	// Flapping: failures that never reach five in a row keep the circuit closed and each success answers.
	for i := range 12 {
		if i%3 == 2 {
			mode.Store("up")
			if content, _, _ := ask(); !strings.Contains(content, "Balance 7") {
				t.Errorf("flapping, up: %s", content)
			}
		} else {
			mode.Store("down")
			ask()
		}
	}
	if got := state(); got != "closed" {
		t.Errorf("circuit %s while flapping below the threshold, want closed", got)
	}
}

// TestCallerGoneIsNotADeadline: a caller that closes its connection while the route waits for a slow upstream is
// counted as a canceled fallback, not as a deadline one, so that alerts on deadlines do not fire for it.
func TestCallerGoneIsNotADeadline(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(upstream.Close)
	dir := t.TempDir()
	writeFile(t, dir, "bot.yaml", balanceCallManifest("4s", upstream.URL))
	s := startServer(t, "--manifests", dir)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	request := `{"responseId":"gone-1","session":"projects/p/agent/sessions/s","queryResult":{"intent":{"displayName":"Balance"}}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/webhook", strings.NewReader(request))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the request was answered (%d) before the caller went away", resp.StatusCode)
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(s.metric("fulfillment_fallbacks_total", `reason="canceled"`, "} 1")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no canceled fallback counted; fallbacks: %q", s.metric("fulfillment_fallbacks_total"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if deadlines := s.metric("fulfillment_fallbacks_total", `reason="deadline"`); len(deadlines) > 0 {
		t.Errorf("a caller gone counted as a deadline: %q", deadlines)
	}
	if !s.waitForLog("canceled") {
		t.Fatalf("no request line says canceled:\n%s", s.logs.String())
	}
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, "request answered") && strings.Contains(line, "canceled") && !strings.Contains(line, "INFO") {
			t.Errorf("a caller gone is logged above info, as if someone should look at it: %s", line)
		}
	}
}

// balanceCallManifest is an ES endpoint with the deadline timeout whose Balance route calls upstream once (no
// retry) and answers from its body.
func balanceCallManifest(timeout, upstream string) string {
	return fmt.Sprintf(`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bank}
spec:
  dialect: DialogflowES
  timeout: %s
  auth: {allowUnauthenticated: true}
  fallback: {text: "The bank is not answering."}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: balance}
spec:
  endpointRef: {name: bank}
  match: {intents: [Balance]}
  call:
    url: %s/balance
    method: GET
    retry: {attempts: 1}
    respond: {text: "Balance ${response.body.balance}"}
`, timeout, upstream)
}
