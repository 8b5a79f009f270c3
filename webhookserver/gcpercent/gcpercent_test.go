package gcpercent

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func currentPercent() int {
	percent := debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	return percent
}

// A load runs at LoadPercent, to bound the peak memory of its garbage, and the process's own setting comes back
// after it; a lower setting or GOGC=off is left alone.
func TestBeginLoadLowersThePercentUntilItEnds(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct{ process, during int }{{100, LoadPercent}, {300, LoadPercent}, {20, 20}, {-1, -1}} {
		debug.SetGCPercent(tc.process)
		end := BeginLoad()
		if during := currentPercent(); during != tc.during {
			t.Errorf("GOGC %d: %d during the load, want %d", tc.process, during, tc.during)
		}
		end()
		if after := currentPercent(); after != tc.process {
			t.Errorf("GOGC %d: %d after the load, want it back", tc.process, after)
		}
	}
}

func TestPercentForGivesTheHeapItsRunway(t *testing.T) {
	for _, tc := range []struct {
		base int
		live uint64
		want int
	}{
		{100, 3 << 20, 200},   // 3 MiB live: 6 MiB of runway is 200%
		{100, 4 << 20, 150},   // 4 MiB: 150%
		{100, 5 << 20, 120},   // rounded up: never less runway than MinRunway
		{100, 12 << 20, 100},  // the default already gives more
		{300, 3 << 20, 300},   // a higher setting stays
		{100, 0, 100},         // nothing measured: the setting stays
		{50, 64 << 20, 50},    // a lower setting on a large heap stays too
		{100, MinRunway, 100}, // exactly the runway
		{100, MinRunway - 1, 101},
	} {
		if got := percentFor(tc.base, tc.live); got != tc.want {
			t.Errorf("percentFor(%d, %d) = %d, want %d", tc.base, tc.live, got, tc.want)
		}
	}
}

// Until the process keeps the runway, the percent is left as it is: a test or a tool that builds a server does
// not get the binary's GC tuning.
func TestNoRunwayUnlessKept(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer runwayKept.Store(runwayKept.Load())
	runwayKept.Store(false)
	debug.SetGCPercent(100)
	runtime.GC() // a small live heap: a kept runway would raise the percent
	if got := SetRunway(); got != 100 || currentPercent() != 100 {
		t.Errorf("the runway was set without KeepRunway: %d (set: %d), want 100", got, currentPercent())
	}
}

// With a small live heap the runtime's own heap goal leaves at least MinRunway to grow, unless GOGC was set.
func TestKeptRunwayWidensTheHeapGoalUnlessGOGCIsSet(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(processPercent()))
	t.Setenv("GOGC", "")
	KeepRunway()
	runtime.GC()
	SetRunway()
	heap := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(heap)
	if goal, live := heap[0].Value.Uint64(), heap[1].Value.Uint64(); goal < live+MinRunway {
		t.Errorf("heap goal %d for %d live bytes: less than %d of runway (GC percent %d)", goal, live, MinRunway, currentPercent())
	}

	t.Setenv("GOGC", "100")
	debug.SetGCPercent(100)
	if got := SetRunway(); got != 100 || currentPercent() != 100 {
		t.Errorf("GOGC=100 was set, yet the GC percent is %d after SetRunway", currentPercent())
	}
}

// The runway is an addition to the live heap, not a multiple of it: once the live heap is larger than the runway
// (an idempotency store filled up), the percent is the process's own again.
func TestRunwayGoesAwayAsTheLiveHeapGrows(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(processPercent()))
	KeepRunway()
	store := make([]byte, 4*MinRunway)
	runtime.GC()
	if got, want := SetRunway(), processPercent(); got != want || currentPercent() != want {
		t.Errorf("with %d bytes live the GC percent is %d (set: %d), want the process's %d", len(store), got, currentPercent(), want)
	}
	runtime.KeepAlive(store)
}

// After every collection, not only after a load: the runway follows a live heap that grows while serving.
func TestRunwayFollowsTheLiveHeapAfterEveryCollection(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(processPercent()))
	KeepRunway()
	debug.SetGCPercent(1000) // as if set for a small heap
	store := make([]byte, 4*MinRunway)
	for deadline := time.Now().Add(5 * time.Second); currentPercent() != processPercent(); {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes live, and the GC percent is still %d after collections, want %d", len(store), currentPercent(), processPercent())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // the hook runs on the finalizer goroutine
	}
	runtime.KeepAlive(store)
}
