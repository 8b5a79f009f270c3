package idempotency

import (
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testredis"
)

// benchAnswer is a typical Dialogflow answer.
var benchAnswer = &Answer{
	Status: 200,
	Header: map[string][]string{"Content-Type": {"application/json"}},
	Body:   []byte(`{"fulfillmentText":"Your order 12345 ships tomorrow.","outputContexts":[{"name":"projects/p/agent/sessions/s/contexts/order","lifespanCount":5,"parameters":{"order":"12345"}}]}`),
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "9b2f6a1e-delivery-" + strconv.Itoa(i)
	}
	return keys
}

// beginComplete is the path of a first request: claim, then store the answer.
func beginComplete(b *testing.B, s Store, key string) {
	answer, claim, err := s.Begin(b.Context(), key)
	if err != nil || answer != nil {
		b.Fatal(err, answer)
	}
	if err := claim.Complete(b.Context(), benchAnswer); err != nil {
		b.Fatal(err)
	}
}

func replay(b *testing.B, s Store, key string) {
	answer, _, err := s.Begin(b.Context(), key)
	if err != nil || answer == nil {
		b.Fatal(err, answer)
	}
}

func BenchmarkMemory(b *testing.B) {
	b.Run("BeginComplete", func(b *testing.B) {
		s := newTestMemory(b)
		keys := benchKeys(b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			beginComplete(b, s, keys[i])
		}
	})
	b.Run("Replay", func(b *testing.B) {
		s := newTestMemory(b)
		keys := benchKeys(1000)
		for _, k := range keys {
			beginComplete(b, s, k)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			replay(b, s, keys[i%len(keys)])
		}
	})
	// The shard count against one mutex, under parallel load.
	for _, shards := range []int{1, 32} {
		b.Run("BeginCompleteParallel/shards="+strconv.Itoa(shards), func(b *testing.B) {
			cfg, _ := newConfig(nil)
			s := mustStore(b, newMemory(cfg, newMemoryPool(cfg, shards), true), nil)
			keys := benchKeys(b.N)
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					beginComplete(b, s, keys[next.Add(1)-1])
				}
			})
		})
	}
}

// BenchmarkRedis runs with the test server's durability (appendfsync always: every write waits for the disk)
// and with the common production setting (everysec), which measures the store rather than the disk.
func BenchmarkRedis(b *testing.B) {
	srv := testredis.Start(b)
	raw := rawClient(b, srv)
	var runs atomic.Int64 // each run of a benchmark function gets fresh keys
	prefix := func() Option { return WithPrefix("bench-" + strconv.FormatInt(runs.Add(1), 10) + ":") }
	for _, fsync := range []string{"always", "everysec"} {
		if err := raw.ConfigSet(b.Context(), "appendfsync", fsync).Err(); err != nil {
			b.Fatal(err)
		}
		b.Run("fsync="+fsync+"/BeginComplete", func(b *testing.B) {
			s := newTestRedis(b, srv.URL(), prefix())
			keys := benchKeys(b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				beginComplete(b, s, keys[i])
			}
		})
		b.Run("fsync="+fsync+"/BeginCompleteParallel", func(b *testing.B) {
			s := newTestRedis(b, srv.URL(), prefix())
			keys := benchKeys(b.N)
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					beginComplete(b, s, keys[next.Add(1)-1])
				}
			})
		})
	}
	b.Run("Replay", func(b *testing.B) {
		s := newTestRedis(b, srv.URL(), prefix())
		keys := benchKeys(100)
		for _, k := range keys {
			beginComplete(b, s, k)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			replay(b, s, keys[i%len(keys)])
		}
	})
}

// BenchmarkMemoryFull measures what a store full at its default bound costs the process: the live heap it
// holds, the part of it the garbage collector must scan for pointers, and the CPU time of a collection with
// the store live (gc-cpu-ns), against the same before the store was filled (gc-cpu-ns-empty). ns/op is the
// wall time of a collection with the store live.
func BenchmarkMemoryFull(b *testing.B) {
	emptyGC := gcCPU(10)
	heapBefore, scanBefore := liveHeap()
	s, err := NewMemory()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close() // not at the benchmark's cleanup: each run measures its own store alone
	for i := range 3 * DefaultMaxEntries {
		beginComplete(b, s, "9b2f6a1e-delivery-"+strconv.Itoa(i))
	}
	heapFull, scanFull := liveHeap()
	answers, _, _ := s.stats()
	fullGC := gcCPU(10)
	b.ResetTimer()
	for range b.N {
		runtime.GC()
	}
	b.StopTimer()
	b.ReportMetric(float64(answers), "answers")
	b.ReportMetric(float64(int64(heapFull)-int64(heapBefore))/(1<<20), "heap-MiB")
	b.ReportMetric(float64(int64(scanFull)-int64(scanBefore))/(1<<20), "scan-MiB")
	b.ReportMetric(emptyGC, "gc-cpu-ns-empty")
	b.ReportMetric(fullGC, "gc-cpu-ns")
	runtime.KeepAlive(s)
}

// liveHeap is the heap left after a collection, and how much of it may hold pointers.
func liveHeap() (alloc, scannable uint64) {
	runtime.GC()
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	sample := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}
	metrics.Read(sample)
	return stats.HeapAlloc, sample[0].Value.Uint64()
}

// gcCPU is the mean CPU time the garbage collector spends on each of n forced collections, in nanoseconds.
func gcCPU(n int) float64 {
	sample := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	runtime.GC() // the counter is updated at the end of a collection
	metrics.Read(sample)
	before := sample[0].Value.Float64()
	for range n {
		runtime.GC()
	}
	metrics.Read(sample)
	return (sample[0].Value.Float64() - before) / float64(n) * 1e9
}
