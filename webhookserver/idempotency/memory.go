package idempotency

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Memory is a Store in the process's memory. Answers are kept for the TTL in a MemoryPool, bounded by its
// entries and bytes, evicting the oldest first. Oldest-first rather than least-recently-used: duplicates come
// close to the original (sender retries), so an answer's worth falls with its age, not with its last replay;
// and it needs no bookkeeping on a replay. The stores of a pool share its bound: their answers are kept apart
// by the store's own number, which every answer carries, and by the store's own hash seeds.
//
// Keys are hashed into 128 bits (two maphash sums under seeds of the store's own, so that nobody outside can
// make two keys collide) that pick a shard of the pool, each with its own mutex. Expired answers are removed
// lazily (a few at a time on each Begin in their shard) and by the pool's sweeper.
type Memory struct {
	cfg   config
	seeds [2]maphash.Seed
	pool  *MemoryPool
	// ownPool is set when the store made its pool, and closes it with itself.
	ownPool bool
	id      uint32
	closed  atomic.Bool
}

var _ Store = (*Memory)(nil)

type claimState uint8

const (
	stateClaimed  claimState = iota // in progress: in the shard's claims
	stateAnswered                   // completed: its answer is stored
	stateReleased                   // released by its holder
	stateDropped                    // its lock expired and it was removed (swept or taken over)
)

// memClaim is a claim in progress, and the Claim of the request that made it: when a claim is taken over, the
// key gets a new claim, so the old one knows it no longer holds the key.
type memClaim struct {
	key     memKey
	store   *Memory
	shard   *poolShard
	expires time.Duration // the lock's, on the pool's clock
	// record is the answer, kept here for the waiters once completed.
	record string
	done   chan struct{} // made by the first waiter, closed when the claim settles
	state  claimState
}

// memKey is a key's hash. 128 bits make a chance collision negligible for any number of entries a process
// holds; SHA-256, which Redis keys need (they outlive the process), costs several times more.
type memKey [2]uint64

func (m *Memory) keyOf(key string) memKey {
	return memKey{maphash.String(m.seeds[0], key), maphash.String(m.seeds[1], key)}
}

// NewMemory returns a Memory store. Options used: WithTTL, WithLockTTL, WithPool, and without a pool
// WithMaxEntries and WithMaxBytes, which bound the store's own. Close stops the sweeper of its own pool.
func NewMemory(opts ...Option) (*Memory, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.pool != nil {
		return newMemory(cfg, cfg.pool, false), nil
	}
	return newMemory(cfg, newMemoryPool(cfg, shardCount(cfg.maxEntries, cfg.maxBytes)), true), nil
}

func newMemory(cfg config, pool *MemoryPool, ownPool bool) *Memory {
	return &Memory{
		cfg:     cfg,
		seeds:   [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		pool:    pool,
		ownPool: ownPool,
		id:      pool.register(cfg.ttl, cfg.lockTTL),
	}
}

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
	sh := m.pool.shard(h)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		sh.mu.Lock()
		now := m.pool.now()
		sh.expireOldest(now, expireBatch)
		if c := sh.claims[h]; c != nil {
			if c.store == m && now < c.expires {
				// Claimed by another request: wait for it to settle or for its lock to expire.
				if c.done == nil {
					c.done = make(chan struct{})
				}
				done, wait := c.done, c.expires-now
				sh.mu.Unlock()
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-done:
					sh.mu.Lock()
					rec := c.record
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
			sh.dropClaim(c) // its lock expired, or another store's claim for a colliding hash
		}
		if rec := sh.lookup(m.id, h, now); rec != nil {
			sh.mu.Unlock()
			a, err := decodeOwnedAnswer(rec)
			return a, nil, err
		}
		c := &memClaim{key: h, store: m, shard: sh, expires: now + m.cfg.lockTTL}
		sh.claims[h] = c
		sh.mu.Unlock()
		return nil, c, nil
	}
}

// Complete implements Claim.
func (c *memClaim) Complete(_ context.Context, answer *Answer) error {
	buf := recordBuffers.Get().(*[]byte)
	rec, err := appendAnswer((*buf)[:0], answer)
	defer func() {
		if cap(rec) <= maxPooledRecord {
			*buf = rec
			recordBuffers.Put(buf)
		}
	}()
	if err != nil {
		return err
	}
	sh, m := c.shard, c.store
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := m.pool.now()
	switch c.state {
	case stateAnswered, stateReleased:
		return ErrSettled
	case stateClaimed:
		delete(sh.claims, c.key)
	case stateDropped:
		// The lock expired: the answer is stored only if no other request holds the key or has answered.
		if cur := sh.claims[c.key]; cur != nil {
			if now < cur.expires {
				c.state = stateReleased // settled, as for Redis: a second Complete gets ErrSettled
				return ErrClaimLost
			}
			sh.dropClaim(cur)
		}
		if sh.has(m.id, c.key, now) {
			c.state = stateReleased
			return ErrClaimLost
		}
	}
	c.state = stateAnswered
	if !m.closed.Load() { // a closed store's answers could never be read
		sh.store(m.id, c.key, rec, now+m.cfg.ttl)
	}
	if c.done != nil {
		c.record = string(rec)
		close(c.done)
		c.done = nil
	}
	return nil
}

// recordBuffers are the buffers Complete encodes answers into before the pool copies them: a request that
// stores its answer allocates nothing for it. Buffers beyond maxPooledRecord are left to the collector.
var recordBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledRecord = 64 << 10

// Release implements Claim.
func (c *memClaim) Release(context.Context) {
	sh := c.shard
	sh.mu.Lock()
	defer sh.mu.Unlock()
	switch c.state {
	case stateClaimed:
		sh.dropClaim(c)
		c.state = stateReleased
	case stateDropped:
		c.state = stateReleased
	}
}

// dropClaim removes c from the shard and wakes its waiters. The caller holds mu.
func (sh *poolShard) dropClaim(c *memClaim) {
	if sh.claims[c.key] == c {
		delete(sh.claims, c.key)
	}
	if c.state != stateClaimed {
		return
	}
	c.state = stateDropped
	if c.done != nil {
		close(c.done)
		c.done = nil
	}
}

// Close implements Store: its answers are removed by the pool's next sweep, and its own pool's sweeper stops.
// Claims already given may still Complete or Release.
func (m *Memory) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	if m.ownPool {
		return m.pool.Close()
	}
	m.pool.forget(m.id)
	return nil
}

// stats counts the store's entries: stored answers (and their bytes) and claims in progress.
func (m *Memory) stats() (answers int, bytes int64, claims int) {
	return m.pool.stats(m)
}
