package blackbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

// drainingConfig is the rendered configuration of an Async endpoint with a Local queue that applies each event
// at upstream, retiring the pods in drainPods.
func drainingConfig(upstream string, drainPods ...string) string {
	drain := ""
	if len(drainPods) > 0 {
		drain = fmt.Sprintf("drainPods: [%s]\n", strings.Join(drainPods, ", "))
	}
	return fmt.Sprintf(`apiVersion: fulfillment.dev/v1alpha1
kind: WebhookServerConfig
%[2]sendpoints:
- name: events
  namespace: default
  spec:
    dialect: Generic
    auth: {allowUnauthenticated: true}
    delivery: {mode: Async, queue: Local, maxAttempts: 100, backoff: {initial: 20ms, max: 200ms}}
  routes:
  - name: apply
    spec:
      endpointRef: {name: events}
      match: {events: [order.paid]}
      call: {url: "%[1]s/apply", body: 'request.body.id', retry: {attempts: 1}}
`, upstream, drain)
}

// TestDrainingPodDeliversItsQueue runs the server as a StatefulSet pod would, named by POD_NAME: once the
// configuration names it in drainPods it is not ready, sends new events elsewhere (503 and Retry-After) and
// delivers its queue, which /statusz shows until it is empty; a configuration without its name ends draining.
func TestDrainingPodDeliversItsQueue(t *testing.T) {
	t.Setenv("POD_NAME", "events-2")
	upstream, url := newCounter(t, 0)
	dir := t.TempDir()
	path := writeFile(t, dir, "config.yaml", drainingConfig(url))
	s := startServer(t, "--config", path, "--queue-dir", t.TempDir(), "--breaker-open-timeout", "100ms")

	upstream.failing.Store(true)
	for _, id := range []string{"evt_1", "evt_2", "evt_3"} {
		if status, content := sendEvent(s, id); status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", id, status, content)
		}
	}
	writeFile(t, dir, "config.yaml", drainingConfig(url, "events-1", "events-2"))
	waitUntil(t, 5*time.Second, "/readyz to say the pod is being retired", func() bool {
		code, body := s.get("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "being retired") && strings.Contains(body, "hold 3 events")
	})
	if status, content := sendEvent(s, "evt_late"); status != http.StatusServiceUnavailable || !strings.Contains(content, "replica_retiring") {
		t.Errorf("a new event while draining: %d %s; want 503 replica_retiring", status, content)
	}
	report := s.statusz()
	if !report.Draining || len(report.Queues) != 1 || report.Queues[0].Waiting() != 3 || report.Queues[0].OldestReceived == nil {
		t.Errorf("/statusz while draining: %+v; want draining, with 3 events waiting and the oldest one's time", report)
	}

	upstream.failing.Store(false)
	waitUntil(t, 10*time.Second, "/statusz to show the queue empty", func() bool {
		queues := s.statusz().Queues
		return len(queues) == 1 && queues[0].Waiting() == 0 && queues[0].OldestReceived == nil
	})
	for _, id := range []string{"evt_1", "evt_2", "evt_3"} {
		if upstream.count(id) == 0 {
			t.Errorf("%s was not delivered while draining", id)
		}
	}

	writeFile(t, dir, "config.yaml", drainingConfig(url, "events-1"))
	waitUntil(t, 5*time.Second, "/readyz to turn ready again", func() bool {
		code, _ := s.get("/readyz")
		return code == http.StatusOK
	})
	if status, content := sendEvent(s, "evt_after"); status != http.StatusAccepted {
		t.Errorf("a new event once draining ended: %d %s", status, content)
	}
}

// get answers GET path on the metrics listener.
func (s *server) get(path string) (int, string) {
	s.t.Helper()
	resp, err := http.Get(s.MetricsURL + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	content, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(content)
}

func (s *server) statusz() statusz.Report {
	s.t.Helper()
	code, content := s.get(statusz.Path)
	var report statusz.Report
	if err := json.Unmarshal([]byte(content), &report); code != http.StatusOK || err != nil {
		s.t.Fatalf("GET %s: %d %v %s", statusz.Path, code, err, content)
	}
	return report
}
