package server

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
)

// TestObserveWorkLabelsDelivery: a request's and a queued event's work land in the same families, told apart by
// the delivery label.
func TestObserveWorkLabelsDelivery(t *testing.T) {
	m := NewMetrics(nil)
	called := &endpoint.Outcome{Route: "apply", Upstream: true, UpstreamOutcome: "ok", UpstreamDuration: 20 * time.Millisecond}
	m.observeWork("ns/bot", deliverySync, called)
	m.observeWork("ns/bot", deliveryAsync, called)
	m.observeWork("ns/bot", deliveryAsync, called)
	m.observeWork("ns/bot", deliveryAsync, &endpoint.Outcome{Replayed: true})
	m.observeWork("ns/bot", deliveryAsync, &endpoint.Outcome{IdempotencyError: errors.New("down"), Fallback: "action_failed"})
	m.observeWork("ns/bot", deliverySync, &endpoint.Outcome{ActionError: "unprocessable_event"})

	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"sync upstream calls", counterValue(t, m.upstreamCalls.WithLabelValues("ns/bot", "apply", "ok", "sync")), 1},
		{"async upstream calls", counterValue(t, m.upstreamCalls.WithLabelValues("ns/bot", "apply", "ok", "async")), 2},
		{"async replays", counterValue(t, m.idempotency.WithLabelValues("ns/bot", "replayed", "async")), 1},
		{"async store errors", counterValue(t, m.idempotency.WithLabelValues("ns/bot", "store_error", "async")), 1},
		{"async fallbacks", counterValue(t, m.fallbacks.WithLabelValues("ns/bot", "action_failed", "async")), 1},
		{"sync fallbacks", counterValue(t, m.fallbacks.WithLabelValues("ns/bot", "action_failed", "sync")), 0},
		{"sync action errors", counterValue(t, m.actionErrors.WithLabelValues("ns/bot", "unprocessable_event", "sync")), 1},
		{"async action errors", counterValue(t, m.actionErrors.WithLabelValues("ns/bot", "unprocessable_event", "async")), 0},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	for _, delivery := range []string{"sync", "async"} {
		var sample dto.Metric
		if err := m.upstreamLatency.WithLabelValues("ns/bot", "apply", delivery).(prometheus.Metric).Write(&sample); err != nil {
			t.Fatal(err)
		}
		if sample.GetHistogram().GetSampleCount() == 0 {
			t.Errorf("the %s upstream call is not timed", delivery)
		}
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var sample dto.Metric
	if err := c.Write(&sample); err != nil {
		t.Fatal(err)
	}
	return sample.GetCounter().GetValue()
}
