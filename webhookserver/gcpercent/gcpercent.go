// Package gcpercent sets the garbage collector's target percent for a server: lower while a configuration
// loads (never higher than it was), and, once the process asks for it with KeepRunway, high enough the rest of
// the time to give a small live heap a runway, unless the process was started with GOGC.
package gcpercent

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// LoadPercent is the GC's target while a configuration loads. A load churns through memory that is garbage at
// once; collecting it sooner keeps it from raising the process's peak RSS, at no measurable cost in load time
// (docs/benchmarks.md).
const LoadPercent = 50

// MinRunway is how much the heap may grow between two collections at least, in bytes. At the runtime's default
// (GOGC=100) a heap grows by what the last collection found live, so a server with a small live heap collects
// often under load, and requests wait in the mark phases: its tail latency becomes the GC's. With a runway there
// are fewer collections, for at most this much more heap; a larger live heap (a big configuration, a full
// idempotency store) already has more runway than that and keeps the process's setting. docs/benchmarks.md has
// the measurements.
const MinRunway = 6 << 20

// tuning serializes the changes to the GC percent, so that a collection's runway update never undoes a load's
// lower percent.
var tuning struct {
	sync.Mutex
	loads int
}

// runwayKept is set by KeepRunway: only then does SetRunway change the percent.
var runwayKept atomic.Bool

// processPercent is the GC percent the process started with, before it was changed here.
var processPercent = sync.OnceValue(func() int { return debug.SetGCPercent(debug.SetGCPercent(100)) })

// tuned says whether the runway is set: not when the process was started with GOGC, which is then the
// operator's choice, nor with the GC off.
func tuned() bool { return os.Getenv("GOGC") == "" && processPercent() >= 0 }

// KeepRunway keeps the runway from now on: it is set after every collection, and whenever SetRunway is called
// (after each load). Call it before the first load, so that the process's own percent is the one the runway
// adds to.
func KeepRunway() {
	processPercent()
	runwayKept.Store(true)
	armOnce()
}

// BeginLoad runs the GC at LoadPercent (never higher than it was) until the returned function is called.
func BeginLoad() (end func()) {
	tuning.Lock()
	defer tuning.Unlock()
	previous := debug.SetGCPercent(LoadPercent)
	if previous < LoadPercent { // GOGC=off (-1) stays off, and a lower setting is not raised
		debug.SetGCPercent(previous)
	}
	tuning.loads++
	return func() {
		tuning.Lock()
		defer tuning.Unlock()
		tuning.loads--
		debug.SetGCPercent(previous)
	}
}

// percentFor is the GC percent that gives a heap whose collections find live bytes (heap, stacks and globals:
// what the percent is a percent of) at least MinRunway to grow, and never less than base.
func percentFor(base int, live uint64) int {
	if live == 0 {
		return base
	}
	return max(base, int((MinRunway*100+live-1)/live))
}

// SetRunway sets the GC percent for the heap the last collection found live (percentFor), when the runway is
// kept, and returns the percent in force. A percent is a multiple of the live heap and the runway must stay an
// addition to it, so it is set again after every collection: as an idempotency store fills, the percent comes
// back down to the process's setting rather than multiply the store. Right after a reload the old
// configuration is still live, so the percent is a little low until the next collection.
func SetRunway() int {
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"},
		{Name: "/gc/scan/globals:bytes"}, {Name: "/gc/gogc:percent"}}
	tuning.Lock()
	defer tuning.Unlock()
	metrics.Read(samples)
	if !runwayKept.Load() || !tuned() || tuning.loads > 0 {
		return int(samples[3].Value.Uint64())
	}
	var live uint64
	for _, sample := range samples[:3] {
		live += sample.Value.Uint64()
	}
	percent := percentFor(processPercent(), live)
	debug.SetGCPercent(percent)
	return percent
}

// armOnce runs SetRunway after every collection, once per process: from the finalizer of an object that each
// run makes anew, so that the next collection finds it unreachable again. Set on a timer instead, the percent
// lagged behind a store filling under load, and raised the peak RSS.
var armOnce = sync.OnceFunc(arm)

// cycle is the object whose finalizer runs after a collection; it holds a pointer, so that it is never one of
// the tiny objects the allocator batches together (whose finalizers may never run).
type cycle struct{ _ *byte }

func arm() {
	runtime.SetFinalizer(&cycle{}, func(*cycle) {
		SetRunway()
		arm()
	})
}
