package delivery

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// The buckets of the Local queue's file. Keys and values are described in the package documentation.
var (
	bucketMeta     = []byte("meta")
	bucketReady    = []byte("ready")
	bucketDelayed  = []byte("delayed")
	bucketInFlight = []byte("inflight")
	bucketDead     = []byte("dead")
	bucketIDs      = []byte("ids")

	metaFormat  = []byte("format")
	formatValue = []byte("1")
)

// Where an event is, as the first byte of its value in the ids bucket; the rest is its key in that bucket
// (nothing for in flight, whose key is the ID).
const (
	whereReady    = 'r'
	whereDelayed  = 'd'
	whereInFlight = 'f'
	whereDead     = 'x'
)

// localLockTimeout is how long OpenLocal waits for another process to release the file (a variable for
// tests).
var localLockTimeout = 2 * time.Second

// promoteBatch bounds the delayed events one transaction makes ready.
const promoteBatch = 1000

// Local is a Queue in a bbolt file: one process (one pod) owns it, since bbolt locks the file exclusively.
// Every change is a bbolt transaction, fsynced before it returns; concurrent changes share one transaction
// (group commit), so a burst of Enqueue calls costs one fsync, not one each.
type Local struct {
	db   *bolt.DB
	opts Options

	ops           chan *localOp // to the committer goroutine
	quit          chan struct{} // closed by Close
	committerDone chan struct{}
	closeOnce     sync.Once
	closeErr      error

	wake         chan struct{} // ready gained events
	delayedAdded chan struct{} // delayed gained events, the promoter rereads the earliest due time
	running      atomic.Bool

	// counts mirror the buckets' sizes: only the committer changes the file, and it updates them after each
	// commit, so they are exact without a scan.
	counts struct{ ready, delayed, inFlight, dead atomic.Int64 }
}

var _ Queue = (*Local)(nil)

// OpenLocal opens (or creates) the queue file at path. Events a crashed or stopped process left in flight go
// back to the ready events (at-least-once). It fails when another process holds the file.
func OpenLocal(path string, opts Options) (*Local, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("delivery: creating the queue folder: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: localLockTimeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("delivery: queue file %s is locked by another process (a Local queue belongs to one process)", path)
		}
		return nil, fmt.Errorf("delivery: opening queue file %s: %w", path, err)
	}
	q := &Local{
		db: db, opts: o,
		ops: make(chan *localOp), quit: make(chan struct{}), committerDone: make(chan struct{}),
		wake: make(chan struct{}, 1), delayedAdded: make(chan struct{}, 1),
	}
	if err := q.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	go q.commitLoop()
	if err := q.recoverInFlight(); err != nil {
		_ = q.Close()
		return nil, err
	}
	return q, nil
}

// init creates the buckets, checks the format and counts the events.
func (q *Local) init() error {
	err := q.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketReady, bucketDelayed, bucketInFlight, bucketDead, bucketIDs} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(metaFormat); {
		case v == nil:
			return meta.Put(metaFormat, formatValue)
		case !bytes.Equal(v, formatValue):
			return fmt.Errorf("queue file format %q, this version reads %q", v, formatValue)
		}
		q.counts.ready.Store(int64(tx.Bucket(bucketReady).Stats().KeyN))
		q.counts.delayed.Store(int64(tx.Bucket(bucketDelayed).Stats().KeyN))
		q.counts.inFlight.Store(int64(tx.Bucket(bucketInFlight).Stats().KeyN))
		q.counts.dead.Store(int64(tx.Bucket(bucketDead).Stats().KeyN))
		return nil
	})
	if err != nil {
		return fmt.Errorf("delivery: initializing queue file: %w", err)
	}
	return nil
}

// Enqueue stores the event; on nil the transaction holding it is fsynced.
func (q *Local) Enqueue(ctx context.Context, e *Event) error {
	ev, err := prepare(e, q.opts.Now)
	if err != nil {
		return err
	}
	v, err := encode(ev)
	if err != nil {
		return err
	}
	id := []byte(ev.ID)
	return q.do(ctx, func(tx *bolt.Tx) (localEffect, error) {
		if tx.Bucket(bucketIDs).Get(id) != nil {
			return localEffect{}, nil // already queued: keep the first copy
		}
		if err := putReady(tx, id, v); err != nil {
			return localEffect{}, err
		}
		return localEffect{ready: 1}, nil
	})
}

// Run processes events until ctx is done. It first returns the events a previous Run of this process left in
// flight to the ready events, then wakes delayed events at their due time with a timer.
func (q *Local) Run(ctx context.Context, handler Handler) error {
	if q.closed() {
		return ErrClosed
	}
	if !q.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer q.running.Store(false)
	if err := q.recoverInFlight(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { q.promoteLoop(ctx) })
	err := runWorkers(ctx, q, &q.opts, handler)
	cancel()
	wg.Wait()
	return err
}

// DeadLetters lists dead letters in the order they died.
func (q *Local) DeadLetters(_ context.Context, limit int) ([]*Event, error) {
	var out []*Event
	err := q.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDead).Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			e, err := decode(v)
			if err != nil {
				e = undecodable(hex.EncodeToString(k), bytes.Clone(v), err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Replay moves a dead letter back to the ready events with Attempts reset.
func (q *Local) Replay(ctx context.Context, id string) error {
	key := []byte(id)
	return q.do(ctx, func(tx *bolt.Tx) (localEffect, error) {
		where := tx.Bucket(bucketIDs).Get(key)
		if len(where) == 0 || where[0] != whereDead {
			return localEffect{}, ErrNotFound
		}
		dead := tx.Bucket(bucketDead)
		deadKey := where[1:]
		e, err := decode(dead.Get(deadKey))
		if err != nil {
			return localEffect{}, err
		}
		e.Attempts = 0
		v, err := encode(e)
		if err != nil {
			return localEffect{}, err
		}
		if err := dead.Delete(deadKey); err != nil {
			return localEffect{}, err
		}
		if err := putReady(tx, key, v); err != nil {
			return localEffect{}, err
		}
		return localEffect{dead: -1, ready: 1}, nil
	})
}

// Purge deletes a dead letter and forgets its ID.
func (q *Local) Purge(ctx context.Context, id string) error {
	key := []byte(id)
	return q.do(ctx, func(tx *bolt.Tx) (localEffect, error) {
		ids := tx.Bucket(bucketIDs)
		where := ids.Get(key)
		if len(where) == 0 || where[0] != whereDead {
			return localEffect{}, ErrNotFound
		}
		if err := tx.Bucket(bucketDead).Delete(bytes.Clone(where[1:])); err != nil {
			return localEffect{}, err
		}
		return localEffect{dead: -1}, ids.Delete(key)
	})
}

// PurgeAll deletes every dead letter and forgets their IDs.
func (q *Local) PurgeAll(ctx context.Context) (int, error) {
	var purged int
	err := q.do(ctx, func(tx *bolt.Tx) (localEffect, error) {
		isDead := func(where []byte) bool { return len(where) > 0 && where[0] == whereDead }
		if _, err := deleteKeys(tx.Bucket(bucketIDs), isDead); err != nil {
			return localEffect{}, err
		}
		n, err := deleteKeys(tx.Bucket(bucketDead), func([]byte) bool { return true })
		purged = n
		return localEffect{dead: -int64(n)}, err
	})
	if err != nil {
		return 0, err
	}
	return purged, nil
}

// deleteKeys deletes the keys of bucket whose value matches and returns how many. The keys are gathered first:
// deleting under a cursor skips the key after each deleted one.
func deleteKeys(bucket *bolt.Bucket, match func(value []byte) bool) (int, error) {
	var keys [][]byte
	c := bucket.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if match(v) {
			keys = append(keys, bytes.Clone(k))
		}
	}
	for _, k := range keys {
		if err := bucket.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// Durability is always Fsync: every commit is fsynced before it returns (TestLocalSyncsBeforeEnqueueReturns
// keeps the file out of bbolt's NoSync modes).
func (q *Local) Durability(context.Context) (Durability, string) {
	return DurabilityFsync, ""
}

// Stats counts the events from counters; it reads the file only for Oldest, when events wait.
func (q *Local) Stats(ctx context.Context) (Stats, error) {
	if q.closed() {
		return Stats{}, ErrClosed
	}
	stats := Stats{
		Pending:  q.counts.ready.Load(),
		InFlight: q.counts.inFlight.Load(),
		Delayed:  q.counts.delayed.Load(),
		Dead:     q.counts.dead.Load(),
	}
	if stats.Pending+stats.InFlight+stats.Delayed == 0 {
		return stats, nil
	}
	oldest, err := q.oldestWaiting(ctx)
	if err != nil {
		return Stats{}, err
	}
	stats.Oldest = oldest
	return stats, nil
}

// localOldestScan bounds the events of each bucket that oldestWaiting reads.
const localOldestScan = 1000

// oldestScan is where oldestWaiting reads a bucket from.
type oldestScan struct {
	bucket  []byte
	fromEnd bool
}

// oldestScans are the buckets of waiting events. Ready is read from its first key, the earliest arrivals and
// the earliest back from a retry or a restart; in flight holds what the workers hold; delayed is read from the
// events due last, those with the most failed attempts and so the oldest.
var oldestScans = []oldestScan{{bucketReady, false}, {bucketInFlight, false}, {bucketDelayed, true}}

// oldestWaiting is the earliest Received among at most localOldestScan events of each bucket of waiting
// events, so that a call costs the same for a queue of any size; a bigger bucket may hide an older event.
func (q *Local) oldestWaiting(ctx context.Context) (time.Time, error) {
	var oldest time.Time
	err := q.view(func(tx *bolt.Tx) error {
		for _, scan := range oldestScans {
			if err := ctx.Err(); err != nil {
				return err
			}
			c := tx.Bucket(scan.bucket).Cursor()
			first, next := c.First, c.Next
			if scan.fromEnd {
				first, next = c.Last, c.Prev
			}
			read := 0
			for k, v := first(); k != nil && read < localOldestScan; k, v = next() {
				read++
				if received, ok := receivedOf(v); ok {
					oldest = earlier(oldest, received)
				}
			}
		}
		return nil
	})
	return oldest, err
}

// Close stops the committer and closes the file. Events in flight stay there until the next OpenLocal.
func (q *Local) Close() error {
	q.closeOnce.Do(func() {
		close(q.quit)
		<-q.committerDone
		q.closeErr = q.db.Close()
	})
	return q.closeErr
}

func (q *Local) closed() bool {
	select {
	case <-q.quit:
		return true
	default:
		return false
	}
}

// take leases ready events; when there are none it waits until some arrive or ctx is done.
func (q *Local) take(ctx context.Context, limit int) ([]lease, error) {
	if q.counts.ready.Load() > 0 {
		var leases []lease
		err := q.do(ctx, func(tx *bolt.Tx) (localEffect, error) {
			leases = leases[:0] // the committer may run this twice
			return takeReady(tx, limit, &leases)
		})
		if err != nil || len(leases) > 0 {
			return leases, err
		}
	}
	select {
	case <-q.wake:
	case <-ctx.Done():
	case <-q.quit:
		return nil, ErrClosed
	}
	return nil, nil
}

// takeReady moves up to limit ready events, oldest first, to the in-flight bucket.
func takeReady(tx *bolt.Tx, limit int, leases *[]lease) (localEffect, error) {
	ready, inFlight, ids := tx.Bucket(bucketReady), tx.Bucket(bucketInFlight), tx.Bucket(bucketIDs)
	var keys [][]byte
	c := ready.Cursor()
	for k, _ := c.First(); k != nil && len(keys) < limit; k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	var eff localEffect
	for _, k := range keys {
		v := bytes.Clone(ready.Get(k))
		if err := ready.Delete(k); err != nil {
			return eff, err
		}
		eff.ready--
		e, err := decode(v)
		if err != nil {
			// Not an event: keep the bytes among the dead letters rather than retrying it forever.
			bad := undecodable(hex.EncodeToString(k), v, err)
			if err := putDeadEvent(tx, bad); err != nil {
				return eff, err
			}
			eff.dead++
			continue
		}
		if err := inFlight.Put([]byte(e.ID), v); err != nil {
			return eff, err
		}
		if err := ids.Put([]byte(e.ID), []byte{whereInFlight}); err != nil {
			return eff, err
		}
		eff.inFlight++
		*leases = append(*leases, lease{event: e})
	}
	return eff, nil
}

// settle records the outcome of an attempt.
func (q *Local) settle(ctx context.Context, l lease, o outcome) error {
	id := []byte(l.event.ID)
	var v []byte
	if o.verdict != complete {
		var err error
		if v, err = encode(l.event); err != nil {
			return err
		}
	}
	return q.do(ctx, func(tx *bolt.Tx) (localEffect, error) {
		inFlight, ids := tx.Bucket(bucketInFlight), tx.Bucket(bucketIDs)
		if inFlight.Get(id) == nil {
			return localEffect{}, errLeaseLost
		}
		if err := inFlight.Delete(id); err != nil {
			return localEffect{}, err
		}
		switch o.verdict {
		case complete:
			return localEffect{inFlight: -1}, ids.Delete(id)
		case retry:
			delayed := tx.Bucket(bucketDelayed)
			seq, err := delayed.NextSequence()
			if err != nil {
				return localEffect{}, err
			}
			key := delayedKey(o.due, seq)
			if err := delayed.Put(key, v); err != nil {
				return localEffect{}, err
			}
			return localEffect{inFlight: -1, delayed: 1}, ids.Put(id, append([]byte{whereDelayed}, key...))
		default:
			return localEffect{inFlight: -1, dead: 1}, putDead(tx, id, v)
		}
	})
}

func (q *Local) release(lease) {}

// recoverInFlight returns every in-flight event to the ready events: called when no worker of this process
// holds one (on open, and when Run starts).
func (q *Local) recoverInFlight() error {
	if q.counts.inFlight.Load() == 0 {
		return nil
	}
	err := q.do(context.Background(), func(tx *bolt.Tx) (localEffect, error) {
		inFlight := tx.Bucket(bucketInFlight)
		var eff localEffect
		var ids [][]byte
		c := inFlight.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			ids = append(ids, bytes.Clone(k))
		}
		for _, id := range ids {
			v := bytes.Clone(inFlight.Get(id))
			if err := inFlight.Delete(id); err != nil {
				return eff, err
			}
			if err := putReady(tx, id, v); err != nil {
				return eff, err
			}
			eff.inFlight--
			eff.ready++
		}
		return eff, nil
	})
	if err != nil {
		return fmt.Errorf("delivery: recovering in-flight events: %w", err)
	}
	return nil
}

// promoteLoop makes delayed events ready at their due time: it sleeps on a timer until the earliest due time,
// or until a new delayed event may be earlier.
func (q *Local) promoteLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	pause := newPause(q.opts.Logger, "making delayed events ready")
	for {
		due, err := q.nextDue()
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return
			}
			pause.failed(ctx, err)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		var fire <-chan time.Time
		if !due.IsZero() {
			if wait := due.Sub(q.opts.Now()); wait > 0 {
				timer.Reset(wait)
				fire = timer.C
			} else {
				if err := q.promote(ctx); err != nil {
					if errors.Is(err, ErrClosed) || ctx.Err() != nil {
						return
					}
					pause.failed(ctx, err)
				} else {
					pause.ok()
				}
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-q.delayedAdded:
		case <-fire:
		}
	}
}

// nextDue is the due time of the earliest delayed event, zero when there is none.
func (q *Local) nextDue() (time.Time, error) {
	var due time.Time
	err := q.view(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketDelayed).Cursor().First(); k != nil {
			due = dueOf(k)
		}
		return nil
	})
	return due, err
}

// promote moves the delayed events that are due to the ready events.
func (q *Local) promote(ctx context.Context) error {
	now := q.opts.Now()
	return q.do(ctx, func(tx *bolt.Tx) (localEffect, error) {
		delayed := tx.Bucket(bucketDelayed)
		var keys [][]byte
		c := delayed.Cursor()
		for k, _ := c.First(); k != nil && len(keys) < promoteBatch && !dueOf(k).After(now); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		var eff localEffect
		for _, k := range keys {
			v := bytes.Clone(delayed.Get(k))
			if err := delayed.Delete(k); err != nil {
				return eff, err
			}
			eff.delayed--
			e, err := decode(v)
			if err != nil {
				if err := putDeadEvent(tx, undecodable(hex.EncodeToString(k), v, err)); err != nil {
					return eff, err
				}
				eff.dead++
				continue
			}
			if err := putReady(tx, []byte(e.ID), v); err != nil {
				return eff, err
			}
			eff.ready++
		}
		return eff, nil
	})
}

// putReady appends an event to the ready bucket and records where it is.
func putReady(tx *bolt.Tx, id, v []byte) error {
	ready := tx.Bucket(bucketReady)
	seq, err := ready.NextSequence()
	if err != nil {
		return err
	}
	key := seqKey(seq)
	if err := ready.Put(key, v); err != nil {
		return err
	}
	return tx.Bucket(bucketIDs).Put(id, append([]byte{whereReady}, key...))
}

// putDead appends an event to the dead bucket and records where it is.
func putDead(tx *bolt.Tx, id, v []byte) error {
	dead := tx.Bucket(bucketDead)
	seq, err := dead.NextSequence()
	if err != nil {
		return err
	}
	key := seqKey(seq)
	if err := dead.Put(key, v); err != nil {
		return err
	}
	return tx.Bucket(bucketIDs).Put(id, append([]byte{whereDead}, key...))
}

func putDeadEvent(tx *bolt.Tx, e *Event) error {
	v, err := encode(e)
	if err != nil {
		return err
	}
	return putDead(tx, []byte(e.ID), v)
}

// seqKey is a big-endian sequence number, so that bbolt's byte order is the arrival order.
func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// delayedKey is the due time (big-endian Unix nanoseconds) and a sequence number: the first key is the next
// event due, and two events due at the same nanosecond stay distinct.
func delayedKey(due time.Time, seq uint64) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(max(due.UnixNano(), 0)))
	return binary.BigEndian.AppendUint64(k, seq)
}

func dueOf(key []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(key[:8])))
}

// localEffect is what a committed operation changed: deltas of the bucket sizes.
type localEffect struct{ ready, delayed, inFlight, dead int64 }

// localOp is one change for the committer. fn may run twice (in a group, then alone when the group failed),
// so it must not keep state outside the transaction except by resetting it first.
type localOp struct {
	fn   func(tx *bolt.Tx) (localEffect, error)
	eff  localEffect
	done chan error
}

// maxGroup bounds the operations one transaction commits.
const maxGroup = 256

// do hands fn to the committer and waits for its commit. Once handed over, it waits for the outcome even if
// ctx is done (the commit is quick), so that nil always means committed.
func (q *Local) do(ctx context.Context, fn func(tx *bolt.Tx) (localEffect, error)) error {
	op := &localOp{fn: fn, done: make(chan error, 1)}
	select {
	case q.ops <- op:
	case <-q.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-op.done
}

// commitLoop is the only writer of the file. It commits the operations waiting when it becomes free in one
// transaction: while one fsync runs, the next group gathers.
func (q *Local) commitLoop() {
	defer close(q.committerDone)
	for {
		select {
		case op := <-q.ops:
			group := []*localOp{op}
		gather:
			for len(group) < maxGroup {
				select {
				case op := <-q.ops:
					group = append(group, op)
				default:
					break gather
				}
			}
			q.commit(group)
		case <-q.quit:
			return
		}
	}
}

// commit runs a group in one transaction. When one operation fails, the transaction is rolled back and each
// operation runs alone, so that only the failing one fails.
func (q *Local) commit(group []*localOp) {
	err := q.db.Update(func(tx *bolt.Tx) error {
		for _, op := range group {
			eff, err := op.fn(tx)
			if err != nil {
				return err
			}
			op.eff = eff
		}
		return nil
	})
	if err != nil && len(group) > 1 {
		for _, op := range group {
			q.commit([]*localOp{op})
		}
		return
	}
	for _, op := range group {
		if err == nil {
			q.apply(op.eff)
		}
		op.done <- err
	}
}

// apply updates the counters after a commit and wakes whoever waits for ready or delayed events.
func (q *Local) apply(eff localEffect) {
	q.counts.ready.Add(eff.ready)
	q.counts.delayed.Add(eff.delayed)
	q.counts.inFlight.Add(eff.inFlight)
	q.counts.dead.Add(eff.dead)
	if eff.ready > 0 {
		signal(q.wake)
	}
	if eff.delayed > 0 {
		signal(q.delayedAdded)
	}
}

// view runs a read-only transaction.
func (q *Local) view(fn func(tx *bolt.Tx) error) error {
	if q.closed() {
		return ErrClosed
	}
	err := q.db.View(fn)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// signal wakes the reader of a one-slot channel without blocking; a pending signal is enough.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
