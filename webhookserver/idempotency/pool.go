package idempotency

import (
	"sync"
	"sync/atomic"
	"time"
)

// MemoryPool holds the answers of Memory stores within one bound of entries and bytes, so that a process
// serving many endpoints keeps one budget however many stores it has: the oldest answers go first, whichever
// store they belong to. Give it to each store with WithPool; a store without one has a pool of its own.
//
// The answers hold no pointers, so that the garbage collector does not scan them: their records are copied
// into a byte ring per shard, and a map from the key's 128-bit hash to a slot number finds them. Only the
// claims in progress, as many as the requests in flight, are ordinary objects.
type MemoryPool struct {
	start  time.Time // the monotonic origin of the shards' clock
	shards []poolShard
	mask   uint32
	// stores numbers the stores, so that an answer names its owner in a number.
	stores atomic.Uint32
	// closedMu guards closed: stores closed since the last sweep, whose answers the next sweep removes.
	closedMu sync.Mutex
	closed   []uint32
	interval atomic.Int64 // between sweeps, lowered by each store to half its shortest TTL
	wake     chan struct{}
	stop     chan struct{}
	swept    chan struct{}
	once     sync.Once
}

// memEntryOverhead is what an answer costs beside its record, for the byte bound: its slot and its share of
// the index map.
const memEntryOverhead = 128

// expireBatch bounds how many expired answers one Begin removes, so no request pays for a mass expiry.
const expireBatch = 16

// sweepChunk bounds the slots a sweep looks at while holding a shard's lock, so that a sweep of a large pool
// never holds up a request for long.
const sweepChunk = 512

// NewMemoryPool returns a pool bounded by WithMaxEntries and WithMaxBytes (the other options are ignored).
// Close stops its sweeper.
func NewMemoryPool(opts ...Option) (*MemoryPool, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return newMemoryPool(cfg, shardCount(cfg.maxEntries, cfg.maxBytes)), nil
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

func newMemoryPool(cfg config, shards int) *MemoryPool {
	p := &MemoryPool{
		start:  time.Now(),
		shards: make([]poolShard, shards),
		mask:   uint32(shards - 1),
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		swept:  make(chan struct{}),
	}
	p.interval.Store(int64(time.Minute))
	maxBytes := (cfg.maxBytes + int64(shards) - 1) / int64(shards)
	for i := range p.shards {
		p.shards[i] = poolShard{
			index:    make(map[memKey]uint32),
			claims:   make(map[memKey]*memClaim),
			oldest:   noSlot,
			newest:   noSlot,
			free:     noSlot,
			maxCount: (cfg.maxEntries + shards - 1) / shards,
			maxBytes: maxBytes,
			ring:     newRing(int(min(maxBytes, int64(maxRecord)))),
		}
	}
	go p.sweep()
	return p
}

func (p *MemoryPool) now() time.Duration { return time.Since(p.start) }

func (p *MemoryPool) shard(key memKey) *poolShard { return &p.shards[uint32(key[0])&p.mask] }

// register numbers a new store and makes the sweeps at least as frequent as its TTLs need.
func (p *MemoryPool) register(ttl, lockTTL time.Duration) uint32 {
	interval := int64(sweepInterval(min(ttl, lockTTL)))
	for {
		current := p.interval.Load()
		if interval >= current || p.interval.CompareAndSwap(current, interval) {
			break
		}
	}
	p.wakeSweeper()
	return p.stores.Add(1)
}

// forget has the next sweep remove the answers of a closed store, which no Begin can read any more.
func (p *MemoryPool) forget(store uint32) {
	p.closedMu.Lock()
	p.closed = append(p.closed, store)
	p.closedMu.Unlock()
	p.wakeSweeper()
}

func (p *MemoryPool) wakeSweeper() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// sweepInterval is half the shorter TTL, within [50ms, 1m].
func sweepInterval(ttl time.Duration) time.Duration {
	return min(max(ttl/2, 50*time.Millisecond), time.Minute)
}

// sweep removes expired answers and claims, and the answers of closed stores, until Close.
func (p *MemoryPool) sweep() {
	defer close(p.swept)
	interval := p.sweepEvery()
	due := time.Now().Add(interval)
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-p.wake:
			// A store came (its TTLs may want sweeps sooner) or went (its answers are to be removed).
			if sooner := time.Now().Add(p.sweepEvery()); sooner.Before(due) {
				due = sooner
				timer.Reset(time.Until(due))
			}
			if !p.hasClosedStores() {
				continue
			}
		case <-timer.C:
		}
		p.sweepOnce()
		interval = p.sweepEvery()
		due = time.Now().Add(interval)
		timer.Reset(interval)
	}
}

func (p *MemoryPool) sweepEvery() time.Duration { return time.Duration(p.interval.Load()) }

func (p *MemoryPool) hasClosedStores() bool {
	p.closedMu.Lock()
	defer p.closedMu.Unlock()
	return len(p.closed) > 0
}

func (p *MemoryPool) sweepOnce() {
	p.closedMu.Lock()
	closed := make(map[uint32]bool, len(p.closed))
	for _, store := range p.closed {
		closed[store] = true
	}
	p.closed = nil
	p.closedMu.Unlock()
	for i := range p.shards {
		p.shards[i].sweep(p.now, closed)
	}
}

// Close stops the sweeper. Stores using the pool must be closed first.
func (p *MemoryPool) Close() error {
	p.once.Do(func() {
		close(p.stop)
		<-p.swept
	})
	return nil
}

// stats counts the answers (and their bytes) and the claims in progress of one store, or of all when store
// is nil.
func (p *MemoryPool) stats(store *Memory) (answers int, bytes int64, claims int) {
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		for j := range sh.slots {
			a := &sh.slots[j]
			if a.store != 0 && (store == nil || a.store == store.id) {
				answers++
				bytes += int64(a.size) + memEntryOverhead
			}
		}
		for _, c := range sh.claims {
			if store == nil || c.store == store {
				claims++
			}
		}
		sh.mu.Unlock()
	}
	return answers, bytes, claims
}

// poolShard is one part of a pool: its own lock, answers and claims.
type poolShard struct {
	mu sync.Mutex
	// index finds a stored answer's slot by key.
	index map[memKey]uint32
	// slots hold the answers; a free slot has store 0 and links the free list through newer.
	slots []answerSlot
	free  uint32
	// oldest and newest end the list of stored answers, oldest (next evicted) first.
	oldest, newest uint32
	ring           ring
	count          int   // of the answers
	bytes          int64 // of the answers, records plus overhead
	maxCount       int
	maxBytes       int64
	// claims are the claims in progress by key.
	claims map[memKey]*memClaim
	_      [64]byte // keep shards on separate cache lines
}

// answerSlot is a stored answer. It holds no pointer: its record is in the shard's ring.
type answerSlot struct {
	key     memKey
	expires time.Duration // on the pool's clock
	offset  int           // of the record in the ring
	size    uint32        // of the record
	store   uint32        // the owner's number; 0 for a free slot
	// older and newer link the answers in the order they were stored.
	older, newer uint32
}

const noSlot = ^uint32(0)

// lookup returns the record key stored for store, copied out of the ring, or nil when there is none live.
// The caller holds mu.
func (sh *poolShard) lookup(store uint32, key memKey, now time.Duration) []byte {
	i, ok := sh.index[key]
	if !ok {
		return nil
	}
	a := &sh.slots[i]
	if a.store != store || a.expires <= now {
		sh.evict(i) // expired, or another store's answer for a colliding hash: in the way of this key
		return nil
	}
	return sh.ring.read(a.offset, int(a.size))
}

// has says whether store has a live answer for key. The caller holds mu.
func (sh *poolShard) has(store uint32, key memKey, now time.Duration) bool {
	i, ok := sh.index[key]
	return ok && sh.slots[i].store == store && now < sh.slots[i].expires
}

// store keeps rec as store's answer for key until expires, evicting the oldest answers beyond the bounds. A
// record larger than the shard's bound is not kept. The caller holds mu.
func (sh *poolShard) store(store uint32, key memKey, rec []byte, expires time.Duration) {
	if i, ok := sh.index[key]; ok {
		sh.evict(i)
	}
	cost := int64(len(rec)) + memEntryOverhead
	if cost > sh.maxBytes || len(rec) > sh.ring.limit {
		return
	}
	offset := sh.reserve(len(rec))
	sh.ring.write(offset, rec)
	i := sh.newSlot()
	sh.slots[i] = answerSlot{key: key, expires: expires, offset: offset, size: uint32(len(rec)), store: store, older: sh.newest, newer: noSlot}
	if sh.newest != noSlot {
		sh.slots[sh.newest].newer = i
	} else {
		sh.oldest = i
	}
	sh.newest = i
	sh.index[key] = i
	sh.count++
	sh.bytes += cost
	for sh.count > sh.maxCount || sh.bytes > sh.maxBytes {
		sh.evict(sh.oldest)
	}
}

// reserve returns where in the ring a record of n bytes goes, evicting the oldest answers whose records are
// in the way. Records are written one after another, so the ones at and past the write position are the
// oldest, in order. At the end of the ring, the write position goes back to the start when the oldest
// record leaves room there, else the ring grows up to its limit, else the oldest records at the start go.
// The caller holds mu.
func (sh *poolShard) reserve(n int) int {
	r := &sh.ring
	if r.next+n > r.size {
		// The records past the write position, from the previous round, are the oldest: they go first.
		for sh.oldest != noSlot && sh.slots[sh.oldest].offset >= r.next {
			sh.evict(sh.oldest)
		}
		if sh.oldest != noSlot && sh.slots[sh.oldest].offset < n {
			r.grow(r.next + n)
		}
		if r.next+n > r.size {
			r.next = 0
		}
		if n > r.size {
			r.grow(n) // only when the ring is empty: a record past the start would be before n
		}
	}
	at := r.next
	for sh.oldest != noSlot {
		if oldest := &sh.slots[sh.oldest]; oldest.offset < at || oldest.offset >= at+n {
			break
		}
		sh.evict(sh.oldest)
	}
	r.next = at + n
	return at
}

func (sh *poolShard) newSlot() uint32 {
	if i := sh.free; i != noSlot {
		sh.free = sh.slots[i].newer
		return i
	}
	sh.slots = append(sh.slots, answerSlot{})
	return uint32(len(sh.slots) - 1)
}

// evict removes answer i. The caller holds mu.
func (sh *poolShard) evict(i uint32) {
	a := &sh.slots[i]
	if a.older != noSlot {
		sh.slots[a.older].newer = a.newer
	} else {
		sh.oldest = a.newer
	}
	if a.newer != noSlot {
		sh.slots[a.newer].older = a.older
	} else {
		sh.newest = a.older
	}
	if sh.index[a.key] == i {
		delete(sh.index, a.key)
	}
	sh.count--
	sh.bytes -= int64(a.size) + memEntryOverhead
	*a = answerSlot{newer: sh.free}
	sh.free = i
}

// expireOldest removes up to limit answers that expired at now from the oldest end. The caller holds mu.
func (sh *poolShard) expireOldest(now time.Duration, limit int) {
	for ; limit > 0 && sh.oldest != noSlot && sh.slots[sh.oldest].expires <= now; limit-- {
		sh.evict(sh.oldest)
	}
}

// sweep removes the shard's expired answers and claims, and the answers of closed stores. Stores of
// different TTLs share the shard, so an expired answer may be behind a live one: every slot is looked at, a
// chunk at a time.
func (sh *poolShard) sweep(now func() time.Duration, closed map[uint32]bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	at := now()
	for _, c := range sh.claims {
		if c.expires <= at {
			sh.dropClaim(c)
		}
	}
	for start := 0; start < len(sh.slots); start += sweepChunk {
		if start > 0 {
			sh.mu.Unlock()
			sh.mu.Lock()
			at = now()
		}
		for i := start; i < min(start+sweepChunk, len(sh.slots)); i++ {
			if a := &sh.slots[i]; a.store != 0 && (a.expires <= at || closed[a.store]) {
				sh.evict(uint32(i))
			}
		}
	}
}

// maxRecord is the largest record a ring keeps, so that offsets and sizes fit their fields everywhere.
const maxRecord = 1<<31 - 1

// ring is a shard's answer records, written one after another and around again from the start once the ring
// is at its limit. It grows a chunk at a time as records come, so that an idle pool takes little memory and
// growing copies nothing. A record may span chunks.
type ring struct {
	chunks [][]byte
	chunk  int // the size of every chunk but the last, which may be smaller
	size   int // the bytes of all chunks
	limit  int // the size the ring grows to
	next   int // where the next record goes
}

// newRing returns a ring of up to limit bytes, in chunks of 64 KiB or a 64th of the limit, whichever is
// larger: little room unused, few chunks.
func newRing(limit int) ring {
	return ring{limit: limit, chunk: min(max(64<<10, limit/64), limit)}
}

// grow adds chunks until the ring has at least need bytes, within its limit.
func (r *ring) grow(need int) {
	for r.size < need && r.size < r.limit {
		n := min(r.chunk, r.limit-r.size)
		r.chunks = append(r.chunks, make([]byte, n))
		r.size += n
	}
}

// write copies rec to the ring at offset at.
func (r *ring) write(at int, rec []byte) {
	for len(rec) > 0 {
		n := copy(r.chunks[at/r.chunk][at%r.chunk:], rec)
		rec, at = rec[n:], at+n
	}
}

// read returns a copy of the n bytes at offset at.
func (r *ring) read(at, n int) []byte {
	b := make([]byte, 0, n)
	for len(b) < n {
		part := r.chunks[at/r.chunk][at%r.chunk:]
		part = part[:min(len(part), n-len(b))]
		b = append(b, part...)
		at += len(part)
	}
	return b
}
