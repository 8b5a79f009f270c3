package server

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/fulfillment-dev/fulfillment-operator/internal/reference"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

// TestMetricReference keeps docs/reference/metrics.md what a fresh server's registry exports. A vector exports
// nothing until it has a series, so each gets one; a collector that exports fewer metrics than it describes
// fails the test, so that a new metric cannot be left out of the page.
func TestMetricReference(t *testing.T) {
	oldest := time.Now().Add(-time.Minute)
	queues := func() []statusz.Queue {
		return []statusz.Queue{{Endpoint: "ns/name", Durability: statusz.DurabilityFsync, OldestReceived: &oldest}}
	}
	m := NewMetrics(queues)
	giveEveryVectorASeries(m)
	for _, collector := range m.fulfillmentCollectors(queues) {
		if described, exported := describedMetrics(collector), exportedFamilies(t, collector); exported != described {
			t.Errorf("%s describes %d metrics and exports %d: give it a series in giveEveryVectorASeries",
				describedNames(collector), described, exported)
		}
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var own []*dto.MetricFamily
	for _, family := range families {
		switch name := family.GetName(); {
		case strings.HasPrefix(name, "fulfillment_"):
			own = append(own, family)
		case strings.HasPrefix(name, "go_"), strings.HasPrefix(name, "process_"):
			// The Go and process collectors' families change with the Go release and the OS: the page names
			// them as a whole.
		default:
			t.Errorf("metric %s is none of fulfillment_*, go_* or process_*", name)
		}
	}
	reference.Check(t, "docs/reference/metrics.md", "webhookserver", "\n"+reference.MetricTable(own)+"\n")
}

// giveEveryVectorASeries adds one series, with empty label values, to each vector.
func giveEveryVectorASeries(m *Metrics) {
	m.requests.WithLabelValues("", "", "")
	m.duration.WithLabelValues("")
	m.fallbacks.WithLabelValues("", "", "")
	m.actionErrors.WithLabelValues("", "", "")
	m.authFailures.WithLabelValues("", "", "")
	m.upstreamCalls.WithLabelValues("", "", "", "")
	m.upstreamLatency.WithLabelValues("", "", "")
	m.reloads.WithLabelValues("")
	m.configInfo.WithLabelValues("")
	m.routes.WithLabelValues("")
	m.deadline.WithLabelValues("")
	m.idempotency.WithLabelValues("", "", "")
	m.breakerState.WithLabelValues("")
	m.tokenFetches.WithLabelValues("", "", "")
	m.deliveryAttempts.WithLabelValues("", "")
}

func describedMetrics(collector prometheus.Collector) int {
	descs := make(chan *prometheus.Desc, 16)
	go func() { collector.Describe(descs); close(descs) }()
	count := 0
	for range descs {
		count++
	}
	return count
}

// describedNames says which metrics a collector describes, to name it in a failure.
func describedNames(collector prometheus.Collector) string {
	descs := make(chan *prometheus.Desc, 16)
	go func() { collector.Describe(descs); close(descs) }()
	var names []string
	for desc := range descs {
		names = append(names, desc.String())
	}
	return strings.Join(names, ", ")
}

func exportedFamilies(t *testing.T, collector prometheus.Collector) int {
	t.Helper()
	registry := prometheus.NewRegistry()
	registry.MustRegister(collector)
	families, err := registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return len(families)
}
