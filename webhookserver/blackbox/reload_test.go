package blackbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func versionedManifest(text string) string {
	return fmt.Sprintf(`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: reload}
spec:
  dialect: Generic
  auth: {allowUnauthenticated: true}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: answer}
spec:
  endpointRef: {name: reload}
  match: {events: [ask]}
  respond: {text: %q}
`, text)
}

// TestReloadUnderLoad changes the configuration while clients keep sending: no request fails, the new answer
// arrives, and an invalid configuration is refused while the previous one keeps serving.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bot.yaml", versionedManifest("v1"))
	s := startServer(t, "--manifests", dir)

	var sent, failed atomic.Int64
	var mu sync.Mutex
	seen := map[string]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(s.URL+"/webhook", "application/json", strings.NewReader(`{"event":"ask"}`))
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					continue
				}
				var answer struct{ FulfillmentText string }
				decodeErr := json.NewDecoder(resp.Body).Decode(&answer)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || decodeErr != nil {
					failed.Add(1)
					continue
				}
				mu.Lock()
				seen[answer.FulfillmentText]++
				mu.Unlock()
			}
		}()
	}
	waitFor := func(text string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			n := seen[text]
			mu.Unlock()
			if n > 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("the answer %q never arrived", text)
	}

	waitFor("v1")
	writeFile(t, dir, "bot.yaml", versionedManifest("v2"))
	waitFor("v2")

	// An invalid configuration: refused, counted, and v2 keeps answering.
	writeFile(t, dir, "bot.yaml", strings.Replace(versionedManifest("v3"), "events: [ask]", "events: [ask], when: 'params.x +'", 1))
	deadline := time.Now().Add(5 * time.Second)
	for len(s.metric(`fulfillment_config_reloads_total{result="failure"} 1`)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the invalid configuration was not refused: %v", s.metric("fulfillment_config_reloads_total"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	before := seen["v2"]
	mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	after := seen["v2"]
	mu.Unlock()
	if after <= before {
		t.Error("the previous configuration stopped answering after an invalid one was written")
	}
	if !strings.Contains(s.logs.String(), "configuration refused") || !strings.Contains(s.logs.String(), "spec.match.when") {
		t.Error("the refusal is not logged with the field")
	}

	writeFile(t, dir, "bot.yaml", versionedManifest("v3"))
	waitFor("v3")
	close(stop)
	wg.Wait()

	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during reloads", failed.Load(), sent.Load())
	}
	if sent.Load() < 100 {
		t.Errorf("only %d requests sent: the load was too light to show anything", sent.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	for text := range seen {
		if text != "v1" && text != "v2" && text != "v3" {
			t.Errorf("unexpected answer %q", text)
		}
	}
	t.Logf("%d requests during 3 reloads and 1 refused configuration, answers %v", sent.Load(), seen)
}

// TestGracefulShutdown sends SIGTERM while a request is in flight: it is answered, then the server exits.
func TestGracefulShutdown(t *testing.T) {
	s, up := startGeneric(t)
	_ = up
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		// The balance call is quick; use the slow route with a fallback, which takes most of the 1s deadline.
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/events", strings.NewReader(`{"event":"slow.fallback"}`))
		req.Header = eventsToken.Clone()
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	time.Sleep(150 * time.Millisecond)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.err != nil || got.status != http.StatusOK {
		t.Errorf("in-flight request during shutdown: %d %v", got.status, got.err)
	}
	select {
	case <-s.exited:
		if s.exitErr != nil {
			t.Errorf("exit: %v", s.exitErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not exit after SIGTERM")
	}
	if !strings.Contains(s.logs.String(), "draining in-flight requests") {
		t.Error("no drain logged")
	}
}
