package server

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
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

// A load runs at loadGCPercent, to bound the peak memory of its garbage, and the process's own setting comes
// back after it; a lower setting or GOGC=off is left alone.
func TestLoadLowersTheGCPercentForItsDuration(t *testing.T) {
	t.Setenv("GOGC", "100") // the percents set here are the process's own: no runway is set over them
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct{ process, during int }{{100, loadGCPercent}, {300, loadGCPercent}, {20, 20}, {-1, -1}} {
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

func TestGCPercentForGivesTheHeapItsRunway(t *testing.T) {
	for _, tc := range []struct {
		base int
		live uint64
		want int
	}{
		{100, 3 << 20, 200},     // 3 MiB live: 6 MiB of runway is 200%
		{100, 4 << 20, 150},     // 4 MiB: 150%
		{100, 5 << 20, 120},     // rounded up: never less runway than minGCRunway
		{100, 12 << 20, 100},    // the default already gives more
		{300, 3 << 20, 300},     // a higher setting stays
		{100, 0, 100},           // nothing measured: the setting stays
		{50, 64 << 20, 50},      // a lower setting on a large heap stays too
		{100, minGCRunway, 100}, // exactly the runway
		{100, minGCRunway - 1, 101},
	} {
		if got := gcPercentFor(tc.base, tc.live); got != tc.want {
			t.Errorf("gcPercentFor(%d, %d) = %d, want %d", tc.base, tc.live, got, tc.want)
		}
	}
}

// After a load the runtime's own heap goal leaves the live heap at least minGCRunway to grow, unless GOGC was set.
func TestLoadWidensTheGCRunwayUnlessGOGCIsSet(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(processGCPercent()))
	samples := filepath.Join(testenv.RepoRoot(), "config", "samples")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	t.Setenv("GOGC", "")
	if _, err := New(Options{Source: &ManifestSource{Paths: []string{samples}}, Logger: logger, QueueDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	heap := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(heap)
	if goal, live := heap[0].Value.Uint64(), heap[1].Value.Uint64(); goal < live+minGCRunway {
		t.Errorf("heap goal %d for %d live bytes: less than %d of runway (GC percent %d)", goal, live, minGCRunway, currentGCPercent())
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

// The runway is an addition to the live heap, not a multiple of it: once the live heap is larger than the runway
// (an idempotency store filled up), the percent is the process's own again.
func TestGCRunwayGoesAwayAsTheLiveHeapGrows(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(processGCPercent()))
	store := make([]byte, 4*minGCRunway)
	runtime.GC()
	if got, want := setGCRunway(), processGCPercent(); got != want || currentGCPercent() != want {
		t.Errorf("with %d bytes live the GC percent is %d (set: %d), want the process's %d", len(store), got, currentGCPercent(), want)
	}
	runtime.KeepAlive(store)
}

// After every collection, not only after a load: the runway follows a live heap that grows while serving.
func TestGCRunwayFollowsTheLiveHeapAfterEveryCollection(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(processGCPercent()))
	startGCRunwayHook()
	debug.SetGCPercent(1000) // as if set for a small heap
	store := make([]byte, 4*minGCRunway)
	for deadline := time.Now().Add(5 * time.Second); currentGCPercent() != processGCPercent(); {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes live, and the GC percent is still %d after collections, want %d", len(store), currentGCPercent(), processGCPercent())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // the hook runs on the finalizer goroutine
	}
	runtime.KeepAlive(store)
}
