package server

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testredis"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

// A pod named in drainPods drains: not ready, new events for its Local queue refused with 503 and Retry-After
// while the Sync and Redis endpoints answer, and the queued events delivered. A configuration without its name
// ends draining.
func TestDrainingReplica(t *testing.T) {
	upstream := newApplyUpstream(t)
	redis := testredis.Start(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeConfig(t, path, threeEndpoints(upstream.URL, redis.URL()))
	s := serve(t, Options{Source: &FileSource{Path: path}, PodName: "events-1", QueueDir: t.TempDir(),
		ReloadInterval: time.Hour, BreakerOpenTimeout: 50 * time.Millisecond})

	upstream.down.Store(true)
	s.sendEvents("/local", "evt-1", "evt-2", "evt-3")
	if s.status().Draining {
		t.Fatal("draining before the configuration names the pod")
	}

	writeConfig(t, path, threeEndpoints(upstream.URL, redis.URL(), "events-0", "events-1"))
	if _, err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if code, body := s.get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "being retired") ||
		!strings.Contains(body, "hold 3 events to deliver") {
		t.Errorf("/readyz while draining: %d %q; want 503 saying the replica is being retired and holds 3 events", code, body)
	}
	refused := s.post("/local", `{"event":"order.paid","id":"evt-4"}`)
	if refused.status != http.StatusServiceUnavailable || refused.header.Get("Retry-After") == "" || !refused.closed ||
		!strings.Contains(refused.body, `"replica_retiring"`) || !strings.Contains(refused.body, "being retired") {
		t.Errorf("a new Local event while draining: %d, Retry-After %q, connection closed %v, %s; want 503 with Retry-After, closing the connection",
			refused.status, refused.header.Get("Retry-After"), refused.closed, refused.body)
	}
	if got := s.post("/sync", `{"event":"ping"}`); got.status != http.StatusOK {
		t.Errorf("the Sync endpoint while draining: %d %s", got.status, got.body)
	}
	if got := s.post("/redis", `{"event":"order.paid","id":"evt-redis"}`); got.status != http.StatusAccepted {
		t.Errorf("the Redis-queued endpoint while draining: %d %s", got.status, got.body)
	}
	if !s.status().Draining {
		t.Error("/statusz does not say draining")
	}
	if value := s.metric("fulfillment_draining"); value != "1" {
		t.Errorf("fulfillment_draining is %q while draining, want 1", value)
	}

	// The queued events are still delivered.
	upstream.down.Store(false)
	eventually(t, "the queued events to be delivered", func() bool {
		return upstream.count("evt-1") > 0 && upstream.count("evt-2") > 0 && upstream.count("evt-3") > 0
	})
	eventually(t, "the Local queue to be reported empty", func() bool { return s.queue("default/local").Waiting() == 0 })
	if upstream.count("evt-4") != 0 {
		t.Error("the event refused while draining was delivered")
	}
	if code, body := s.get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "hold 0 events") {
		t.Errorf("/readyz while draining with an empty queue: %d %q; want 503 until the configuration changes", code, body)
	}

	writeConfig(t, path, threeEndpoints(upstream.URL, redis.URL(), "events-0"))
	if _, err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if code, body := s.get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz once the configuration no longer names the pod: %d %q", code, body)
	}
	if got := s.post("/local", `{"event":"order.paid","id":"evt-5"}`); got.status != http.StatusAccepted {
		t.Errorf("a new Local event once draining ended: %d %s", got.status, got.body)
	}
	if s.status().Draining {
		t.Error("/statusz still says draining")
	}
	if value := s.metric("fulfillment_draining"); value != "0" {
		t.Errorf("fulfillment_draining is %q once draining ended, want 0", value)
	}
	logs := s.logs.String()
	if strings.Count(logs, `msg="draining: `) != 1 || strings.Count(logs, `msg="draining ended`) != 1 {
		t.Errorf("want the start and the end of draining logged once each:\n%s", logs)
	}
}

// Without a pod name (standalone) a server never drains, whatever drainPods says.
func TestNoPodNameNeverDrains(t *testing.T) {
	upstream := newApplyUpstream(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeConfig(t, path, threeEndpoints(upstream.URL, "redis://127.0.0.1:1/0", `""`, "events-1"))
	s, err := New(Options{Source: &FileSource{Path: path}, QueueDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Status().Draining {
		t.Error("a server without a pod name drains")
	}
}

func TestRetiringMessage(t *testing.T) {
	for name, tc := range map[string]struct {
		queues []statusz.Queue
		want   string
	}{
		"empty": {nil, "not ready: this replica is being retired (drainPods); its Local queues hold 0 events to deliver"},
		"events and dead letters": {
			[]statusz.Queue{{Endpoint: "a/x", Pending: 1, InFlight: 2, Delayed: 3, Dead: 4}, {Endpoint: "a/y", Pending: 1}},
			"not ready: this replica is being retired (drainPods); its Local queues hold 7 events to deliver and 4 dead letters",
		},
		"a queue that cannot be read": {
			[]statusz.Queue{{Endpoint: "a/x", Error: "delivery: queue closed"}},
			"not ready: this replica is being retired (drainPods); its Local queues hold 0 events to deliver; could not read a/x: delivery: queue closed",
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := retiringMessage(tc.queues); got != tc.want {
				t.Errorf("retiringMessage = %q\nwant %q", got, tc.want)
			}
		})
	}
}
