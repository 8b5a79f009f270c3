package server

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The server sets the GC's target percent itself: lower while a configuration loads (never higher than it was),
// and the rest of the time high enough to give the live heap a runway, unless the process was started with GOGC.

// loadGCPercent is the GC's target while a configuration loads. Admitting and compiling 1,000 routes churns
// through about 20 MiB that is garbage at once; at the default 100 that raised the process's peak RSS (VmHWM)
// to 50 MiB, at 50 to 42-44 MiB, with no measurable cost in load time (350 ms).
const loadGCPercent = 50

// minGCRunway is how much the heap may grow between two collections at least. At the runtime's default
// (GOGC=100) a heap grows by what the last collection found live: for a server whose live heap is 3 MiB (1,000
// routes) and which allocates 8 KiB per request, that is a collection every 0.4 ms of work, 30 a second at
// 11,000 requests a second, each a mark phase of 7-10 ms that about a fifth of the requests wait in: the
// server's p99 was the GC's (p90 2.3 ms, against 0.65 ms with GOGC=off). With 6 MiB of runway there are half as
// many, for at most 6 MiB more heap; a larger live heap (a big configuration, a full idempotency store) already
// has more runway than that and keeps the process's setting. docs/benchmarks.md has the measurements.
const minGCRunway = 6 << 20

// gcTuning serializes the server's changes to the GC percent, so that a collection's runway update never undoes
// a load's lower percent.
var gcTuning struct {
	sync.Mutex
	loads int
}

// processGCPercent is the GC percent the process started with, before the server changed it.
var processGCPercent = sync.OnceValue(func() int { return debug.SetGCPercent(debug.SetGCPercent(100)) })

// gcTuned says whether the server sets the GC percent: not when the process was started with GOGC, which is
// then the operator's choice, nor with the GC off.
func gcTuned() bool { return os.Getenv("GOGC") == "" && processGCPercent() >= 0 }

// beginLoad runs the GC at loadGCPercent (never higher than it was) until the returned function is called.
func beginLoad() (end func()) {
	gcTuning.Lock()
	defer gcTuning.Unlock()
	previous := debug.SetGCPercent(loadGCPercent)
	if previous < loadGCPercent { // GOGC=off (-1) stays off, and a lower setting is not raised
		debug.SetGCPercent(previous)
	}
	gcTuning.loads++
	return func() {
		gcTuning.Lock()
		defer gcTuning.Unlock()
		gcTuning.loads--
		debug.SetGCPercent(previous)
	}
}

// gcPercentFor is the GC percent that gives a heap whose collections find live bytes (heap, stacks and globals:
// what the percent is a percent of) at least minGCRunway to grow, and never less than base.
func gcPercentFor(base int, live uint64) int {
	if live == 0 {
		return base
	}
	return max(base, int((minGCRunway*100+live-1)/live))
}

// setGCRunway sets the GC percent for the heap the last collection found live (gcPercentFor) and returns the
// percent in force. The server calls it after each load and after every collection (startGCRunwayHook), since a
// percent is a multiple of the live heap and the runway must stay an addition to it: as an idempotency store
// fills, the percent comes back down to the process's setting rather than multiply the store. Right after a
// reload the old configuration is still live, so the percent is a little low until the next collection.
func setGCRunway() int {
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"},
		{Name: "/gc/scan/globals:bytes"}, {Name: "/gc/gogc:percent"}}
	gcTuning.Lock()
	defer gcTuning.Unlock()
	metrics.Read(samples)
	if !gcTuned() || gcTuning.loads > 0 {
		return int(samples[3].Value.Uint64())
	}
	var live uint64
	for _, sample := range samples[:3] {
		live += sample.Value.Uint64()
	}
	percent := gcPercentFor(processGCPercent(), live)
	debug.SetGCPercent(percent)
	return percent
}

// startGCRunwayHook runs setGCRunway after every collection, once per process: from the finalizer of an object
// that each run makes anew, so that the next collection finds it unreachable again. Set once a second instead, the
// percent lagged behind a store filling with 11,000 answers a second, and the peak RSS went 57 -> 62 MiB.
var startGCRunwayHook = sync.OnceFunc(armGCRunwayHook)

// gcCycle is the object whose finalizer runs after a collection; it holds a pointer, so that it is never one of
// the tiny objects the allocator batches together (whose finalizers may never run).
type gcCycle struct{ _ *byte }

func armGCRunwayHook() {
	runtime.SetFinalizer(&gcCycle{}, func(*gcCycle) {
		setGCRunway()
		armGCRunwayHook()
	})
}
