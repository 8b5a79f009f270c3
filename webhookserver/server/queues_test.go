package server

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testredis"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

// /statusz and the metrics report each Async endpoint's queue: the events waiting while the upstream is down,
// with when the first was received, then none once they are delivered.
func TestStatuszReportsQueues(t *testing.T) {
	upstream := newApplyUpstream(t)
	redis := testredis.Start(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeConfig(t, path, threeEndpoints(upstream.URL, redis.URL()))
	s := serve(t, Options{Source: &FileSource{Path: path}, QueueDir: t.TempDir(), BreakerOpenTimeout: 50 * time.Millisecond})

	upstream.down.Store(true)
	for _, endpoint := range []struct{ path, name, kind string }{{"/local", "default/local", "Local"}, {"/redis", "default/redis", "Redis"}} {
		firstSent, firstAccepted := s.sendEvents(endpoint.path, "evt-1", "evt-2", "evt-3")
		got := s.queue(endpoint.name)
		if got.Kind != endpoint.kind || got.Error != "" || got.Waiting() != 3 || got.OldestReceived == nil ||
			got.OldestReceived.Before(firstSent) || got.OldestReceived.After(firstAccepted) {
			t.Errorf("%s on /statusz: %+v; want kind %s, 3 waiting, the oldest received between %v and %v",
				endpoint.name, got, endpoint.kind, firstSent, firstAccepted)
		}
		series := `fulfillment_queue_oldest_event_age_seconds{endpoint="` + endpoint.name + `"}`
		if age := s.metric(series); age == "" || age == "0" {
			t.Errorf("%s is %q, want the first event's age", series, age)
		}
	}
	if queues := s.status().Queues; len(queues) != 2 {
		t.Errorf("/statusz reports %d queues, want those of the 2 Async endpoints: %+v", len(queues), queues)
	}

	upstream.down.Store(false)
	for _, name := range []string{"default/local", "default/redis"} {
		eventually(t, name+" to be reported empty", func() bool {
			got := s.queue(name)
			return got.Waiting() == 0 && got.OldestReceived == nil
		})
		series := `fulfillment_queue_oldest_event_age_seconds{endpoint="` + name + `"}`
		if age := s.metric(series); age != "0" {
			t.Errorf("%s is %q once the queue is empty, want 0", series, age)
		}
	}
}

// /statusz and the metrics say what each queue's acknowledged events survive: a Local queue's are on disk, a
// Redis queue's depend on the persistence Redis was started with.
func TestStatuszReportsDurability(t *testing.T) {
	upstream := newApplyUpstream(t)
	redis := testredis.Start(t, "--appendfsync", "everysec")
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeConfig(t, path, threeEndpoints(upstream.URL, redis.URL()))
	s := serve(t, Options{Source: &FileSource{Path: path}, QueueDir: t.TempDir()})

	for _, want := range []struct{ endpoint, durability, detail, durable string }{
		{"default/local", statusz.DurabilityFsync, "", "1"},
		{"default/redis", statusz.DurabilityEverySecond, "appendonly yes, appendfsync everysec", "0"},
	} {
		got := s.queue(want.endpoint)
		if got.Durability != want.durability || got.DurabilityDetail != want.detail {
			t.Errorf("%s on /statusz: durability %q (%q), want %q (%q)", want.endpoint, got.Durability,
				got.DurabilityDetail, want.durability, want.detail)
		}
		series := `fulfillment_queue_durable{endpoint="` + want.endpoint + `"}`
		if durable := s.metric(series); durable != want.durable {
			t.Errorf("%s is %q, want %s", series, durable, want.durable)
		}
	}
}

// A queue whose counts cannot be read is reported with the error and no counts, in bounded time, and the other
// queues are still read.
func TestStatuszReportsAnUnreadableQueue(t *testing.T) {
	upstream := newApplyUpstream(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeConfig(t, path, threeEndpoints(upstream.URL, "redis://127.0.0.1:1/0"))
	s, err := New(Options{Source: &FileSource{Path: path}, QueueDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	report := s.Status()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Status took %v with Redis down, more than the operator waits", took)
	}
	for _, q := range report.Queues {
		switch q.Endpoint {
		case "default/redis":
			if q.Error == "" || !strings.Contains(q.Error, "redis") || q.Waiting() != 0 || q.Dead != 0 || q.OldestReceived != nil {
				t.Errorf("the queue of an unreachable Redis: %+v; want its error and no counts", q)
			}
			if q.Durability != statusz.DurabilityUnknown || !strings.Contains(q.DurabilityDetail, "refused") {
				t.Errorf("the queue of an unreachable Redis: durability %q (%q), want Unknown with the error",
					q.Durability, q.DurabilityDetail)
			}
		case "default/local":
			if q.Error != "" || q.Durability != statusz.DurabilityFsync {
				t.Errorf("the Local queue: %+v", q)
			}
		}
	}
	if len(report.Queues) != 2 {
		t.Errorf("/statusz reports %+v, want both queues", report.Queues)
	}
}
