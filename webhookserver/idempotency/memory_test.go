package idempotency

import (
	"bytes"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"
)

func newTestMemory(t testing.TB, opts ...Option) *Memory {
	t.Helper()
	m, err := NewMemory(opts...)
	return mustStore(t, m, err)
}

func fill(t testing.TB, s Store, prefix string, n int, body []byte) {
	t.Helper()
	for i := range n {
		if err := mustClaim(t, s, prefix+strconv.Itoa(i)).Complete(t.Context(), &Answer{Status: 200, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemoryEvictsOldestBeyondMaxEntries(t *testing.T) {
	for _, maxEntries := range []int{1000, 5000} { // one shard; four shards
		t.Run(strconv.Itoa(maxEntries), func(t *testing.T) {
			m := newTestMemory(t, WithMaxEntries(maxEntries))
			t.Logf("%d shards", len(m.pool.shards))
			fill(t, m, "k", 3*maxEntries, nil)
			if answers, _, claims := m.stats(); answers > maxEntries || answers < maxEntries*9/10 || claims != 0 {
				t.Fatalf("%d answers and %d claims, want about %d answers", answers, claims, maxEntries)
			}
			mustReplay(t, m, "k"+strconv.Itoa(3*maxEntries-1)) // the newest stays
			mustClaim(t, m, "k0")                              // the oldest went
		})
	}
}

func TestMemoryEvictsBeyondMaxBytes(t *testing.T) {
	const maxBytes = 100 << 10
	m := newTestMemory(t, WithMaxBytes(maxBytes))
	fill(t, m, "k", 100, make([]byte, 10<<10))
	answers, size, _ := m.stats()
	perAnswer := 1 + 2 + 1 + 10<<10 + memEntryOverhead // tag, status, no header, body, bookkeeping
	if size > maxBytes || answers != maxBytes/perAnswer {
		t.Fatalf("%d answers of %d bytes in all, want at most %d bytes", answers, size, maxBytes)
	}
	// An answer larger than the bound is still handed over, just not kept.
	claim := mustClaim(t, m, "huge")
	if err := claim.Complete(t.Context(), &Answer{Status: 200, Body: make([]byte, 2*maxBytes)}); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, m, "huge")
}

// TestMemoryStaysBounded measures the heap: 50,000 answers of 1 KiB through a store bounded to 1,000 must
// leave about 1 MiB, not 50.
func TestMemoryStaysBounded(t *testing.T) {
	m := newTestMemory(t, WithMaxEntries(1000))
	body := bytes.Repeat([]byte("x"), 1024)
	fill(t, m, "warm-up", 2000, body)
	before := heapInUse()
	fill(t, m, "k", 50_000, body)
	grown := int64(heapInUse()) - int64(before)
	t.Logf("heap grew %d KiB", grown>>10)
	if grown > 8<<20 {
		t.Fatalf("heap grew %d MiB for a store bounded to 1000 answers of 1 KiB", grown>>20)
	}
	runtime.KeepAlive(m)
}

func heapInUse() uint64 {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return s.HeapInuse
}

func TestMemorySweepsExpiredEntries(t *testing.T) {
	m := newTestMemory(t, WithTTL(100*time.Millisecond), WithLockTTL(100*time.Millisecond))
	fill(t, m, "k", 100, []byte("x"))
	_ = mustClaim(t, m, "never settled")
	if answers, _, claims := m.stats(); answers != 100 || claims != 1 {
		t.Fatalf("%d answers, %d claims", answers, claims)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		answers, size, claims := m.stats()
		if answers == 0 && size == 0 && claims == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("without any Begin, %d answers (%d bytes) and %d claims left after 2s", answers, size, claims)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMemoryClosed(t *testing.T) {
	m := newTestMemory(t)
	claim := mustClaim(t, m, "k")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Begin(t.Context(), "other"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Begin after Close: got %v, want ErrUnavailable", err)
	}
	if err := claim.Complete(t.Context(), &Answer{Status: 200}); err != nil {
		t.Fatalf("Complete after Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOptionsAreValidated(t *testing.T) {
	for name, opt := range map[string]Option{
		"ttl":           WithTTL(0),
		"lock ttl":      WithLockTTL(-time.Second),
		"max entries":   WithMaxEntries(0),
		"max bytes":     WithMaxBytes(0),
		"poll interval": WithPollInterval(0),
		"op timeout":    WithOpTimeout(0),
	} {
		if _, err := NewMemory(opt); err == nil {
			t.Errorf("%s: NewMemory accepted an invalid value", name)
		}
		if _, err := NewRedis("redis://127.0.0.1:1/0", opt); err == nil {
			t.Errorf("%s: NewRedis accepted an invalid value", name)
		}
	}
}

func TestShardCount(t *testing.T) {
	for _, c := range []struct {
		maxEntries int
		maxBytes   int64
		want       int
	}{
		{1, DefaultMaxBytes, 1},
		{2047, DefaultMaxBytes, 1},
		{2048, DefaultMaxBytes, 2},
		{5000, DefaultMaxBytes, 4},
		{100_000, 64 << 20, 32},
		{DefaultMaxEntries, DefaultMaxBytes, 8},
		{1 << 30, 1 << 40, 32},
		{DefaultMaxEntries, 100 << 10, 1},
		{DefaultMaxEntries, 4 << 20, 4},
	} {
		if got := shardCount(c.maxEntries, c.maxBytes); got != c.want {
			t.Errorf("shardCount(%d, %d) = %d, want %d", c.maxEntries, c.maxBytes, got, c.want)
		}
	}
}
