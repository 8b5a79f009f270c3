package server

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/gcpercent"
)

// gcPercentSource records the GC's target percent while it loads.
type gcPercentSource struct{ during int }

func (s *gcPercentSource) Load() (Loaded, error) {
	s.during = currentGCPercent()
	return Loaded{}, errors.New("nothing to load")
}
func (s *gcPercentSource) Fingerprint() (string, error) { return "fixed", nil }
func (s *gcPercentSource) Describe() string             { return "test source" }

func currentGCPercent() int {
	percent := debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	return percent
}

// A load runs at gcpercent.LoadPercent, to bound the peak memory of its garbage, and the process's own setting comes
// back after it; a lower setting or GOGC=off is left alone.
func TestLoadLowersTheGCPercentForItsDuration(t *testing.T) {
	t.Setenv("GOGC", "100") // the percents set here are the process's own: no runway is set over them
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct{ process, during int }{{100, gcpercent.LoadPercent}, {300, gcpercent.LoadPercent}, {20, 20}, {-1, -1}} {
		debug.SetGCPercent(tc.process)
		source := &gcPercentSource{}
		if _, err := New(Options{Source: source, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err == nil {
			t.Fatal("the failing source was accepted")
		}
		if source.during != tc.during {
			t.Errorf("GOGC %d: %d during the load, want %d", tc.process, source.during, tc.during)
		}
		if after := currentGCPercent(); after != tc.process {
			t.Errorf("GOGC %d: %d after the load, want it back", tc.process, after)
		}
	}
}

// In a process that keeps the GC runway (the webhookserver binary), the runtime's own heap goal leaves the live
// heap at least gcpercent.MinRunway to grow after a load, unless GOGC was set.
func TestLoadWidensTheGCRunwayUnlessGOGCIsSet(t *testing.T) {
	defer debug.SetGCPercent(currentGCPercent())
	samples := filepath.Join(testenv.RepoRoot(), "config", "samples")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	t.Setenv("GOGC", "")
	gcpercent.KeepRunway()
	if _, err := New(Options{Source: &ManifestSource{Paths: []string{samples}}, Logger: logger, QueueDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	heap := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(heap)
	if goal, live := heap[0].Value.Uint64(), heap[1].Value.Uint64(); goal < live+gcpercent.MinRunway {
		t.Errorf("heap goal %d for %d live bytes: less than %d of runway (GC percent %d)", goal, live, gcpercent.MinRunway, currentGCPercent())
	}

	t.Setenv("GOGC", "100")
	debug.SetGCPercent(100)
	if _, err := New(Options{Source: &ManifestSource{Paths: []string{samples}}, Logger: logger, QueueDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if got := currentGCPercent(); got != 100 {
		t.Errorf("GOGC=100 was set, yet the GC percent is %d after a load", got)
	}
}
