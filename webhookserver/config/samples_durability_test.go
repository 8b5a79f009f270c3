package config

import (
	"path/filepath"
	"testing"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/delivery"
)

// sampleOutage is how long an upstream may be down without a sample's acknowledged events going to the dead
// letters: well beyond an upstream restarted or redeployed during a routine rollout.
const sampleOutage = time.Hour

// TestAsyncSamplesKeepEventsThroughAnOutage: every Async endpoint of config/samples keeps its acknowledged events
// on a volume or in Redis, and retries them for longer than sampleOutage (on average, the backoff being
// jittered), so that a sample copied as it is delivers what it acknowledged once the upstream is back.
func TestAsyncSamplesKeepEventsThroughAnOutage(t *testing.T) {
	loaded, err := LoadManifests(filepath.Join(testenv.RepoRoot(), "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	async := 0
	for _, endpoint := range loaded.File.Endpoints {
		d := endpoint.Spec.Delivery
		if d == nil || d.Mode != fulfillmentv1alpha1.DeliveryAsync {
			continue
		}
		async++
		if d.Queue == fulfillmentv1alpha1.QueueRedis && endpoint.Spec.Redis == nil {
			t.Errorf("endpoint %s: a Redis queue without spec.redis", endpoint.Name)
		}
		if span := expectedRetrySpan(d); span < sampleOutage {
			t.Errorf("endpoint %s: its %d attempts span about %s on average, less than an outage of %s: its events "+
				"would go to the dead letters before the upstream is back", endpoint.Name, attempts(d), span, sampleOutage)
		}
	}
	if async == 0 {
		t.Fatal("no Async sample endpoint found")
	}
}

func attempts(d *fulfillmentv1alpha1.Delivery) int {
	if d.MaxAttempts == nil {
		return delivery.DefaultMaxAttempts
	}
	return int(*d.MaxAttempts)
}

// expectedRetrySpan is the average time from an event's first attempt to its last: the sum of the mean delays
// of the jittered backoff between them.
func expectedRetrySpan(d *fulfillmentv1alpha1.Delivery) time.Duration {
	initial, maxDelay := delivery.DefaultInitialBackoff, delivery.DefaultMaxBackoff
	if d.Backoff != nil && d.Backoff.Initial != nil {
		initial = d.Backoff.Initial.Duration
	}
	if d.Backoff != nil && d.Backoff.Max != nil {
		maxDelay = d.Backoff.Max.Duration
	}
	mean := func(n int64) int64 { return n / 2 }
	var span time.Duration
	for attempt := 1; attempt < attempts(d); attempt++ {
		span += delivery.Backoff(attempt, initial, maxDelay, mean)
	}
	return span
}
