package idempotency

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestPool(t testing.TB, opts ...Option) *MemoryPool {
	t.Helper()
	p, err := NewMemoryPool(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// Stores of one pool never see each other's answers, even for the same key.
func TestPoolKeepsStoresApart(t *testing.T) {
	pool := newTestPool(t)
	a := newTestMemory(t, WithPool(pool))
	b := newTestMemory(t, WithPool(pool))
	if err := mustClaim(t, a, "same").Complete(t.Context(), &Answer{Status: 200, Body: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	claim := mustClaim(t, b, "same") // b has not answered "same": it processes
	if err := claim.Complete(t.Context(), &Answer{Status: 201, Body: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	assertAnswer(t, mustReplay(t, a, "same"), &Answer{Status: 200, Body: []byte("a")})
	assertAnswer(t, mustReplay(t, b, "same"), &Answer{Status: 201, Body: []byte("b")})
}

// Even when two stores hash a key alike, neither reads the other's answer nor waits on the other's claim:
// every answer and claim names its store.
func TestPoolKeepsStoresApartOnCollidingHashes(t *testing.T) {
	pool := newTestPool(t)
	a := newTestMemory(t, WithPool(pool))
	b := newTestMemory(t, WithPool(pool))
	b.seeds = a.seeds // every key of b hashes as in a
	if err := mustClaim(t, a, "k").Complete(t.Context(), &Answer{Status: 200, Body: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, b, "k").Release(t.Context())

	held := mustClaim(t, a, "held")
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	claim := mustClaimCtx(t, b, ctx, "held") // does not wait for a's claim
	if err := claim.Complete(t.Context(), &Answer{Status: 202, Body: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	if err := held.Complete(t.Context(), &Answer{Status: 200, Body: []byte("a held")}); err != nil {
		t.Fatalf("a's claim, taken from under it by b's colliding one: %v", err)
	}
	assertAnswer(t, mustReplay(t, a, "held"), &Answer{Status: 200, Body: []byte("a held")})
	mustClaim(t, b, "held") // a's answer replaced b's: b processes again, never replays a's
}

// The stores of a pool share its bound, oldest first across them.
func TestPoolBoundsItsStoresTogether(t *testing.T) {
	const maxEntries = 1000
	pool := newTestPool(t, WithMaxEntries(maxEntries))
	stores := []*Memory{newTestMemory(t, WithPool(pool)), newTestMemory(t, WithPool(pool)), newTestMemory(t, WithPool(pool))}
	for i, s := range stores {
		fill(t, s, "k", maxEntries/2, []byte(strconv.Itoa(i)))
	}
	if answers, _, _ := pool.stats(nil); answers != maxEntries {
		t.Fatalf("the pool holds %d answers, want its bound %d", answers, maxEntries)
	}
	if answers, _, _ := stores[0].stats(); answers != 0 {
		t.Fatalf("the first store still holds %d answers, the oldest of the pool", answers)
	}
	for _, s := range stores[1:] {
		if answers, _, _ := s.stats(); answers != maxEntries/2 {
			t.Fatalf("a later store holds %d answers, want all its %d", answers, maxEntries/2)
		}
		mustReplay(t, s, "k0")
	}
	mustClaim(t, stores[0], "k0")
}

// A closed store's answers leave the pool with the next sweep, so that they no longer take its room.
func TestPoolForgetsClosedStores(t *testing.T) {
	pool := newTestPool(t)
	kept := newTestMemory(t, WithPool(pool))
	closed, err := NewMemory(WithPool(pool))
	if err != nil {
		t.Fatal(err)
	}
	fill(t, kept, "k", 100, []byte("kept"))
	fill(t, closed, "k", 100, []byte("closed"))
	claim := mustClaim(t, closed, "late")
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	if err := claim.Complete(t.Context(), &Answer{Status: 200}); err != nil {
		t.Fatalf("Complete after Close: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		if answers, _, _ := pool.stats(nil); answers == 100 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("%d answers 2s after a store of 100 closed, want the other store's 100", answers)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mustReplay(t, kept, "k99")
}

// Answers of a short TTL behind answers of a long one are swept all the same.
func TestPoolSweepsExpiredAnswersOfMixedTTLs(t *testing.T) {
	pool := newTestPool(t)
	long := newTestMemory(t, WithPool(pool))
	short := newTestMemory(t, WithPool(pool), WithTTL(100*time.Millisecond), WithLockTTL(100*time.Millisecond))
	fill(t, long, "k", 100, nil)
	fill(t, short, "k", 100, nil)
	deadline := time.Now().Add(2 * time.Second)
	for {
		shortAnswers, _, _ := short.stats()
		longAnswers, _, _ := long.stats()
		if longAnswers != 100 {
			t.Fatalf("the long TTL's answers went: %d left", longAnswers)
		}
		if shortAnswers == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d answers of a 100ms TTL left after 2s", shortAnswers)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Records of every size, written around the ring many times, each come back as stored while the pool keeps
// them, none overlaps another, and the pool stays within its bound, whether its bytes or its entries bind.
func TestPoolRingKeepsRecordsIntact(t *testing.T) {
	for name, opts := range map[string][]Option{
		"bytes bind, one chunk":             {WithMaxBytes(64 << 10)},
		"bytes bind, records across chunks": {WithMaxBytes(300 << 10)},
		"entries bind":                      {WithMaxBytes(1 << 20), WithMaxEntries(40)},
	} {
		t.Run(name, func(t *testing.T) {
			m := newTestMemory(t, opts...)
			rng := rand.New(rand.NewPCG(1, 2))
			bodies := map[string][]byte{}
			for i := range 5000 {
				key := "k" + strconv.Itoa(i)
				body := bytes.Repeat([]byte{byte(i)}, rng.IntN(4<<10))
				if rng.IntN(50) == 0 {
					body = make([]byte, 20<<10+rng.IntN(40<<10)) // now and then one that takes much of the ring
				}
				if err := mustClaim(t, m, key).Complete(t.Context(), &Answer{Status: 200, Body: body}); err != nil {
					t.Fatal(err)
				}
				bodies[key] = body
				checkRing(t, m.pool)
				if i%97 == 0 {
					checkStored(t, m, bodies)
				}
			}
			answers, size, _ := m.stats()
			if size > m.cfg.maxBytes || answers > m.cfg.maxEntries || answers == 0 {
				t.Fatalf("%d answers of %d bytes in all, want some within %d bytes and %d answers", answers, size,
					m.cfg.maxBytes, m.cfg.maxEntries)
			}
			checkStored(t, m, bodies)
		})
	}
}

// checkRing fails unless every record of the pool lies within its ring, apart from the others.
func checkRing(t *testing.T, p *MemoryPool) {
	t.Helper()
	for i := range p.shards {
		sh := &p.shards[i]
		var used []answerSlot
		for _, a := range sh.slots {
			if a.store != 0 {
				used = append(used, a)
			}
		}
		slices.SortFunc(used, func(a, b answerSlot) int { return a.offset - b.offset })
		end := 0
		for _, a := range used {
			if a.offset < end || a.offset+int(a.size) > sh.ring.size {
				t.Fatalf("a record at %d of %d bytes overlaps the one before (to %d) or is past the ring's %d bytes",
					a.offset, a.size, end, sh.ring.size)
			}
			end = a.offset + int(a.size)
		}
		if sh.ring.size > sh.ring.limit {
			t.Fatalf("the ring has %d bytes, beyond its limit %d", sh.ring.size, sh.ring.limit)
		}
	}
}

// checkStored replays every answer m still holds and forgets the others.
func checkStored(t *testing.T, m *Memory, bodies map[string][]byte) {
	t.Helper()
	for key, body := range bodies {
		answer, claim, err := m.Begin(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if claim != nil {
			claim.Release(t.Context())
			delete(bodies, key) // evicted
			continue
		}
		if answer.Status != 200 || !bytes.Equal(answer.Body, body) {
			t.Fatalf("%s: got %d and %d bytes, want 200 and the %d bytes stored", key, answer.Status, len(answer.Body), len(body))
		}
	}
	if len(bodies) == 0 {
		t.Fatal("nothing is stored")
	}
}

// The garbage collector has nothing to scan in a full pool's answers: they hold no pointers.
func TestPoolAnswersAreNotScanned(t *testing.T) {
	heapBefore, scanBefore := liveHeap()
	m := newTestMemory(t)
	fill(t, m, "k", DefaultMaxEntries, bytes.Repeat([]byte("x"), 200))
	heapFull, scanFull := liveHeap()
	heap, scan := int64(heapFull)-int64(heapBefore), int64(scanFull)-int64(scanBefore)
	t.Logf("a full store: %d KiB of heap, %d KiB of it scannable", heap>>10, scan>>10)
	if heap < 4<<20 || scan > heap/50 {
		t.Fatalf("a full store takes %d KiB of heap, of which the collector scans %d KiB: want at most 2%%", heap>>10, scan>>10)
	}
	runtime.KeepAlive(m)
}

// Under concurrent use by several stores of a small pool, whose bytes bind, so that it evicts all the time
// and its ring goes round often, every replay is the answer its own store stored for the key.
func TestPoolUnderConcurrentStores(t *testing.T) {
	pool := newTestPool(t, WithMaxEntries(200), WithMaxBytes(64<<10))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for s := range 4 {
		store := newTestMemory(t, WithPool(pool))
		for g := range 2 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(s), uint64(g)))
				for range 5000 {
					key := "k" + strconv.Itoa(rng.IntN(300))
					want := "store " + strconv.Itoa(s) + " " + key + strings.Repeat(".", len(key)*200)
					answer, claim, err := store.Begin(t.Context(), key)
					switch {
					case err != nil:
						errs <- err
						return
					case claim != nil:
						if err := claim.Complete(t.Context(), &Answer{Status: 200, Body: []byte(want)}); err != nil {
							errs <- err
							return
						}
					case string(answer.Body) != want:
						errs <- fmt.Errorf("store %d replayed %.40q for %s", s, answer.Body, key)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if answers, size, claims := pool.stats(nil); answers > 200 || size > 64<<10 || claims != 0 {
		t.Fatalf("%d answers of %d bytes and %d claims left, want at most 200 answers within 64 KiB and no claim", answers, size, claims)
	}
}
