package idempotency

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Memory is a Store in the process's memory. Answers are kept for the TTL and bounded by WithMaxEntries and
// WithMaxBytes, evicting the oldest first. Oldest-first rather than least-recently-used: duplicates come
// close to the original (sender retries), so an answer's worth falls with its age, not with its last replay;
// and with one TTL per store the oldest answer is also the next to expire, so one list per shard serves both
// expiry and eviction in O(1).
//
// Keys are hashed into 128 bits (two maphash sums under seeds of the store's own, so that nobody outside can
// make two keys collide) that pick a shard, each with its own mutex, map and lists. Expired entries are removed
// lazily (a few at a time on each Begin in their shard) and by a sweeper goroutine that Close stops.
type Memory struct {
	cfg    config
	seeds  [2]maphash.Seed
	start  time.Time // the monotonic origin of the shards' clock
	shards []memShard
	mask   uint32
	closed atomic.Bool
	stop   chan struct{}
	swept  chan struct{}
	once   sync.Once
}

var _ Store = (*Memory)(nil)

// memEntryOverhead approximates what an entry costs beside its record (entry struct, map slot), for the
// byte bound.
const memEntryOverhead = 200

// expireBatch bounds how many expired entries one Begin removes, so no request pays for a mass expiry.
const expireBatch = 16

type memShard struct {
	mu       sync.Mutex
	entries  map[memKey]*memEntry
	answers  memList // stored answers, oldest (next to expire) first
	claims   memList // claims in progress, oldest (next lock to expire) first
	count    int     // of the answers
	bytes    int64   // of the answers, records plus overhead
	maxCount int
	maxBytes int64
	m        *Memory
	_        [64]byte // keep shards on separate cache lines
}

type entryState uint8

const (
	stateClaimed  entryState = iota // in progress: in claims
	stateAnswered                   // record holds the answer: in answers until expired or evicted
	stateReleased                   // released by its holder
	stateDropped                    // its lock expired and it was removed (swept or taken over)
)

// memEntry is a key's entry in a shard, and also the Claim of the request that created it: when a claim is
// taken over, the key gets a new entry, so the old claim knows it no longer holds the key.
type memEntry struct {
	key        memKey
	shard      *memShard
	expires    time.Duration // on the store's clock: the lock's or the answer's expiry
	record     string        // the answer record, once answered; never changed afterwards
	done       chan struct{} // made by the first waiter, closed when the claim settles
	state      entryState
	prev, next *memEntry
}

// memKey is a key's hash. 128 bits make a chance collision negligible for any number of entries a process
// holds; SHA-256, which Redis keys need (they outlive the process), costs several times more.
type memKey [2]uint64

func (m *Memory) keyOf(key string) memKey {
	return memKey{maphash.String(m.seeds[0], key), maphash.String(m.seeds[1], key)}
}

type memList struct{ head, tail *memEntry }

func (l *memList) pushBack(e *memEntry) {
	e.prev, e.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = e
	} else {
		l.head = e
	}
	l.tail = e
}

func (l *memList) remove(e *memEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

// NewMemory returns a Memory store. Options used: WithTTL, WithLockTTL, WithMaxEntries, WithMaxBytes. Close
// stops its sweeper.
func NewMemory(opts ...Option) (*Memory, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return newMemory(cfg, shardCount(cfg.maxEntries, cfg.maxBytes)), nil
}

// shardCount gives each shard at least 1024 answers and 1 MiB, so that oldest-first within a shard stays
// close to oldest-first overall, with up to 32 shards (the defaults: 8 shards).
func shardCount(maxEntries int, maxBytes int64) int {
	n := 1
	for n < 32 && maxEntries/(n*2) >= 1024 && maxBytes/int64(n*2) >= 1<<20 {
		n *= 2
	}
	return n
}

func newMemory(cfg config, shards int) *Memory {
	m := &Memory{
		cfg:    cfg,
		seeds:  [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		start:  time.Now(),
		shards: make([]memShard, shards),
		mask:   uint32(shards - 1),
		stop:   make(chan struct{}),
		swept:  make(chan struct{}),
	}
	for i := range m.shards {
		m.shards[i] = memShard{
			entries:  make(map[memKey]*memEntry),
			maxCount: (cfg.maxEntries + shards - 1) / shards,
			maxBytes: (cfg.maxBytes + int64(shards) - 1) / int64(shards),
			m:        m,
		}
	}
	go m.sweep(sweepInterval(min(cfg.ttl, cfg.lockTTL)))
	return m
}

// sweepInterval is half the shorter TTL, within [50ms, 1m].
func sweepInterval(ttl time.Duration) time.Duration {
	return min(max(ttl/2, 50*time.Millisecond), time.Minute)
}

func (m *Memory) now() time.Duration { return time.Since(m.start) }

// Begin implements Store. Waiters block on the holder's channel (and a timer for its lock), not polling.
func (m *Memory) Begin(ctx context.Context, key string) (*Answer, Claim, error) {
	if key == "" {
		return nil, nil, ErrEmptyKey
	}
	if m.closed.Load() {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnavailable, errClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	h := m.keyOf(key)
	sh := &m.shards[uint32(h[0])&m.mask]
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		sh.mu.Lock()
		now := m.now() // under the lock, so that the lists stay in expiry order
		sh.expire(now, expireBatch)
		e := sh.entries[h]
		if e != nil && now < e.expires {
			if e.state == stateAnswered {
				rec := e.record
				sh.mu.Unlock()
				a, err := decodeAnswer(rec)
				return a, nil, err
			}
			// Claimed by another request: wait for it to settle or for its lock to expire.
			if e.done == nil {
				e.done = make(chan struct{})
			}
			done, wait := e.done, e.expires-now
			sh.mu.Unlock()
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-done:
				sh.mu.Lock()
				rec := e.record
				sh.mu.Unlock()
				if rec != "" {
					a, err := decodeAnswer(rec)
					return a, nil, err
				}
			case <-timer.C:
			case <-ctx.Done():
				return nil, nil, inProgress(ctx)
			}
			continue
		}
		// No entry, or an expired one: claim.
		if e != nil {
			sh.drop(e)
		}
		c := &memEntry{key: h, shard: sh, expires: now + m.cfg.lockTTL}
		sh.entries[h] = c
		sh.claims.pushBack(c)
		sh.mu.Unlock()
		return nil, c, nil
	}
}

// Complete implements Claim.
func (e *memEntry) Complete(_ context.Context, answer *Answer) error {
	rec, err := encodeAnswer(answer)
	if err != nil {
		return err
	}
	sh := e.shard
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := sh.m.now()
	switch e.state {
	case stateAnswered, stateReleased:
		return ErrSettled
	case stateClaimed:
		sh.claims.remove(e)
	case stateDropped:
		// The lock expired: the answer is stored only if no other request holds the key or has answered.
		if cur := sh.entries[e.key]; cur != nil {
			if now < cur.expires {
				e.state = stateReleased // settled, as for Redis: a second Complete gets ErrSettled
				return ErrClaimLost
			}
			sh.drop(cur)
		}
		sh.entries[e.key] = e
	}
	e.state = stateAnswered
	e.record = rec
	e.expires = now + sh.m.cfg.ttl
	sh.answers.pushBack(e)
	sh.count++
	sh.bytes += int64(len(rec)) + memEntryOverhead
	sh.settle(e)
	for sh.answers.head != nil && (sh.count > sh.maxCount || sh.bytes > sh.maxBytes) {
		sh.drop(sh.answers.head)
	}
	return nil
}

// Release implements Claim.
func (e *memEntry) Release(context.Context) {
	sh := e.shard
	sh.mu.Lock()
	defer sh.mu.Unlock()
	switch e.state {
	case stateClaimed:
		sh.drop(e)
		e.state = stateReleased
	case stateDropped:
		e.state = stateReleased
	}
}

// drop removes e from the shard and wakes its waiters. The caller holds mu.
func (sh *memShard) drop(e *memEntry) {
	if sh.entries[e.key] == e {
		delete(sh.entries, e.key)
	}
	switch e.state {
	case stateClaimed:
		sh.claims.remove(e)
		e.state = stateDropped
		sh.settle(e)
	case stateAnswered:
		sh.answers.remove(e)
		sh.count--
		sh.bytes -= int64(len(e.record)) + memEntryOverhead
	}
}

// settle wakes e's waiters. The caller holds mu.
func (sh *memShard) settle(e *memEntry) {
	if e.done != nil {
		close(e.done)
		e.done = nil
	}
}

// expire drops up to limit entries that expired at now (limit < 0: all). The caller holds mu.
func (sh *memShard) expire(now time.Duration, limit int) {
	limit = sh.expireList(&sh.answers, now, limit)
	sh.expireList(&sh.claims, now, limit)
}

func (sh *memShard) expireList(l *memList, now time.Duration, limit int) int {
	for l.head != nil && l.head.expires <= now && limit != 0 {
		sh.drop(l.head)
		limit--
	}
	return limit
}

func (m *Memory) sweep(interval time.Duration) {
	defer close(m.swept)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		for i := range m.shards {
			sh := &m.shards[i]
			sh.mu.Lock()
			sh.expire(m.now(), -1)
			sh.mu.Unlock()
		}
	}
}

// Close implements Store: it stops the sweeper. Claims already given may still Complete or Release.
func (m *Memory) Close() error {
	m.once.Do(func() {
		m.closed.Store(true)
		close(m.stop)
		<-m.swept
	})
	return nil
}

// stats counts the entries: stored answers (and their bytes) and claims in progress.
func (m *Memory) stats() (answers int, bytes int64, claims int) {
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		answers += sh.count
		bytes += sh.bytes
		claims += len(sh.entries) - sh.count
		sh.mu.Unlock()
	}
	return answers, bytes, claims
}
