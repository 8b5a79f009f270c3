package server

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// minGCRunway is how much the heap may grow between two collections at least. At the runtime's default
// (GOGC=100) a heap grows by what the last collection found live: for a server whose live heap is 3 MiB (1,000
// routes) and which allocates 8 KiB per request, that is a collection every 0.4 ms of work, 30 a second at
// 11,000 requests a second, each a mark phase of 7-10 ms that about a fifth of the requests wait in: the
// server's p99 was the GC's (p90 2.3 ms, against 0.65 ms with GOGC=off). With 6 MiB of runway there are half as
// many, for at most 6 MiB more heap; a larger live heap (a big configuration, a full idempotency store) already
// has more runway than that and keeps the process's setting. docs/benchmarks.md has the measurements.
const minGCRunway = 6 << 20

// processGCPercent is the GC percent the process started with, before the server changed it.
var processGCPercent = sync.OnceValue(func() int { return debug.SetGCPercent(debug.SetGCPercent(100)) })

// gcPercentFor is the GC percent that gives a heap whose collections find live bytes (heap, stacks and globals:
// what the percent is a percent of) at least minGCRunway to grow, and never less than base.
func gcPercentFor(base int, live uint64) int {
	if live == 0 {
		return base
	}
	return max(base, int((minGCRunway*100+live-1)/live))
}

// setGCRunway sets the GC percent for the heap the last collection found live (gcPercentFor) and returns it. The
// server calls it after each load and then every ReloadInterval, since a percent is a multiple of the live heap
// and the runway must stay an addition to it: as an idempotency store fills, the percent comes back down to the
// process's setting, rather than multiply the store. A GOGC the process was started with, and GOGC=off, are left
// alone. Right after a reload the old configuration is still live, so the percent is a little low for a second.
func setGCRunway() int {
	base := processGCPercent()
	if os.Getenv("GOGC") != "" || base < 0 {
		return base
	}
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}
	metrics.Read(samples)
	var live uint64
	for _, sample := range samples {
		if sample.Value.Kind() == metrics.KindUint64 {
			live += sample.Value.Uint64()
		}
	}
	percent := gcPercentFor(base, live)
	debug.SetGCPercent(percent)
	return percent
}
