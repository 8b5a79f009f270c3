package delivery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of RedisOptions.
const (
	DefaultRedisPrefix       = "fulfillment:delivery"
	DefaultRedisGroup        = "workers"
	DefaultRedisMinIdle      = 30 * time.Second
	DefaultRedisBlock        = time.Second
	DefaultRedisPollInterval = time.Second
	DefaultRedisTimeout      = time.Second
)

// Batch sizes of the Redis loops.
const (
	promoteLimit = 100
	touchBatch   = 100
)

// RedisOptions configure a Redis queue.
type RedisOptions struct {
	Options
	// Prefix starts every key of the queue (default DefaultRedisPrefix): give each endpoint its own, e.g.
	// "fulfillment:delivery:{namespace/name}" (the braces keep the keys in one Redis Cluster slot).
	Prefix string
	// Group is the stream's consumer group (default DefaultRedisGroup).
	Group string
	// Consumer names this process in the group (default hostname-pid-random, new for every process).
	Consumer string
	// MinIdle is how long an event taken by a consumer must go without news before another consumer reclaims
	// it with XAUTOCLAIM (default DefaultRedisMinIdle). A live consumer refreshes its events every MinIdle/3,
	// however long its handler runs, so only the events of a stopped or crashed consumer are reclaimed.
	MinIdle time.Duration
	// ClaimInterval is how often this consumer looks for idle events of others (default MinIdle/2).
	ClaimInterval time.Duration
	// Block is how long one read waits for new events (default DefaultRedisBlock). Run needs up to this long
	// to notice that its context is done.
	Block time.Duration
	// PollInterval is how often the delayed set is checked for events other processes delayed (default
	// DefaultRedisPollInterval); this process's own retries wake it at their due time.
	PollInterval time.Duration
	// Timeout bounds every Redis call, connecting included (default DefaultRedisTimeout): with Redis down,
	// Enqueue fails within it, so the server answers 503 instead of hanging.
	Timeout time.Duration
}

func (o RedisOptions) withDefaults() (RedisOptions, error) {
	var err error
	if o.Options, err = o.Options.withDefaults(); err != nil {
		return o, err
	}
	if o.MinIdle < 0 || o.ClaimInterval < 0 || o.Block < 0 || o.PollInterval < 0 || o.Timeout < 0 {
		return o, errors.New("delivery: negative redis option")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultRedisPrefix
	}
	if o.Group == "" {
		o.Group = DefaultRedisGroup
	}
	if o.Consumer == "" {
		o.Consumer = consumerName()
	}
	if o.MinIdle == 0 {
		o.MinIdle = DefaultRedisMinIdle
	}
	if o.ClaimInterval == 0 {
		o.ClaimInterval = o.MinIdle / 2
	}
	if o.Block == 0 {
		o.Block = DefaultRedisBlock
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultRedisPollInterval
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultRedisTimeout
	}
	return o, nil
}

// consumerName is unique per process: host, pid and a random part (pids repeat across restarts of a
// container).
func consumerName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// Redis is a Queue in Redis streams, shared by every replica of an endpoint. See the package documentation
// for the keys and the guarantees.
type Redis struct {
	client *redis.Client
	opts   RedisOptions
	keys   redisKeys

	running    atomic.Bool
	closed     atomic.Bool
	groupReady atomic.Bool
	retryAdded chan struct{} // this process delayed an event: the promoter rereads the next due time
	durability durabilityCache

	mu       sync.Mutex
	inFlight map[string]struct{} // stream entry ids this process's workers hold

	// The read state of take, used by the one goroutine of runWorkers.
	history       bool   // still reading this consumer's own pending entries (a restart with the same name)
	historyCursor string // last own pending entry read
	claimCursor   string // XAUTOCLAIM cursor, "0-0" at the start of a scan
	nextClaim     time.Time
}

type redisKeys struct{ stream, delayed, dead, deadIndex, ids string }

var _ Queue = (*Redis)(nil)

// NewRedis returns a queue on the Redis at url (redis://[user:password@]host:port/db or rediss:// for TLS).
// It does not connect: Enqueue and Run do, and Run creates the consumer group when it is missing.
func NewRedis(url string, opts RedisOptions) (*Redis, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("delivery: redis url: %w", err)
	}
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = o.Timeout, o.Timeout, o.Timeout
	ro.ContextTimeoutEnabled = true
	// A lost answer is retried: every script is safe to run twice. Keep the retries short so that an outage
	// still fails Enqueue well within Timeout.
	ro.MaxRetries, ro.MinRetryBackoff, ro.MaxRetryBackoff = 2, 8*time.Millisecond, 64*time.Millisecond
	// One dial per try: go-redis would otherwise try 5 times 100ms apart, and a refused connection (Redis
	// restarting) would hold Enqueue for the whole Timeout.
	ro.DialerRetries = 1
	ro.PoolSize = max(ro.PoolSize, o.Workers+4)
	ro.DisableIdentity = true
	p := o.Prefix
	return &Redis{
		client: redis.NewClient(ro),
		opts:   o,
		keys: redisKeys{
			stream: p + ":stream", delayed: p + ":delayed", dead: p + ":dead", deadIndex: p + ":dead:index", ids: p + ":ids",
		},
		retryAdded: make(chan struct{}, 1),
		inFlight:   map[string]struct{}{},
	}, nil
}

// Consumer is this process's consumer name in the group.
func (q *Redis) Consumer() string { return q.opts.Consumer }

// Ping checks that Redis answers, within Timeout: for a readiness check.
func (q *Redis) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	if err := q.client.Ping(ctx).Err(); err != nil {
		return q.wrap("ping", err)
	}
	return nil
}

// Enqueue adds the event to the stream. On nil Redis has executed the write; whether it survives a Redis
// crash is Redis's persistence configuration (see the package documentation).
func (q *Redis) Enqueue(ctx context.Context, e *Event) error {
	if q.closed.Load() {
		return ErrClosed
	}
	ev, err := prepare(e, q.opts.Now)
	if err != nil {
		return err
	}
	v, err := encode(ev)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	if err := enqueueScript.Run(ctx, q.client, []string{q.keys.stream, q.keys.ids}, ev.ID, v).Err(); err != nil {
		return fmt.Errorf("delivery: enqueueing %s in redis: %w", ev.ID, err)
	}
	return nil
}

// Run processes events until ctx is done. It first reads the events pending for its own consumer name, then
// reclaims idle events of other consumers every ClaimInterval and reads new ones; next to the workers it runs
// the promoter of delayed events and the refresher of its in-flight events. While Redis is down it retries
// with a backoff (50ms to 2s).
func (q *Redis) Run(ctx context.Context, handler Handler) error {
	if q.closed.Load() {
		return ErrClosed
	}
	if !q.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer q.running.Store(false)
	q.history, q.historyCursor, q.claimCursor, q.nextClaim = true, "0", "0-0", time.Time{}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { q.promoteLoop(ctx) })
	wg.Go(func() { q.touchLoop(ctx) })
	err := runWorkers(ctx, q, &q.opts.Options, handler)
	cancel()
	wg.Wait()
	return err
}

// DeadLetters lists dead letters in the order they died.
func (q *Redis) DeadLetters(ctx context.Context, limit int) ([]*Event, error) {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	stop := int64(-1)
	if limit > 0 {
		stop = int64(limit) - 1
	}
	ids, err := q.client.ZRange(ctx, q.keys.deadIndex, 0, stop).Result()
	if err != nil {
		return nil, q.wrap("listing dead letters", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	vals, err := q.client.HMGet(ctx, q.keys.dead, ids...).Result()
	if err != nil {
		return nil, q.wrap("listing dead letters", err)
	}
	out := make([]*Event, 0, len(vals))
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // replayed between the two calls
		}
		e, err := decode([]byte(s))
		if err != nil {
			e = undecodable(ids[i], []byte(s), err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Replay moves a dead letter back to the stream with Attempts reset.
func (q *Redis) Replay(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	raw, err := q.client.HGet(ctx, q.keys.dead, id).Result()
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return q.wrap("replaying", err)
	}
	e, err := decode([]byte(raw))
	if err != nil {
		return err
	}
	e.Attempts = 0
	v, err := encode(e)
	if err != nil {
		return err
	}
	n, err := replayScript.Run(ctx, q.client, []string{q.keys.dead, q.keys.deadIndex, q.keys.stream}, id, v).Int()
	if err != nil {
		return q.wrap("replaying", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Purge deletes a dead letter and forgets its ID.
func (q *Redis) Purge(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	n, err := purgeScript.Run(ctx, q.client, []string{q.keys.dead, q.keys.deadIndex, q.keys.ids}, id).Int()
	if err != nil {
		return q.wrap("purging a dead letter", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// PurgeAll deletes every dead letter and forgets their IDs.
func (q *Redis) PurgeAll(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	n, err := purgeAllScript.Run(ctx, q.client, []string{q.keys.dead, q.keys.deadIndex, q.keys.ids}).Int()
	if err != nil {
		return 0, q.wrap("purging dead letters", err)
	}
	return n, nil
}

// Bounds of what Stats reads for Oldest: the events of the stream and of the delayed set, each, and their bytes
// in all.
const (
	redisOldestScan      = 100
	redisOldestScanBytes = 1 << 20
)

// Stats counts the events: pending is the stream length minus the entries taken and not settled (settled
// entries are deleted from the stream), in flight the group's pending entries of every consumer. Oldest is the
// earliest Received among at most redisOldestScan events of the stream and of the delayed set (statsScript):
// the delayed set is ordered by due time, not by arrival, and reading all of it would cost Redis time in
// proportion to the queue.
func (q *Redis) Stats(ctx context.Context) (Stats, error) {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	reply, err := statsScript.Run(ctx, q.client, []string{q.keys.stream, q.keys.delayed, q.keys.dead}, q.opts.Group,
		redisOldestScan, redisOldestScanBytes).Slice()
	if err != nil {
		return Stats{}, q.wrap("counting events", err)
	}
	return parseStats(reply)
}

// parseStats reads statsScript's reply.
func parseStats(reply []any) (Stats, error) {
	if len(reply) != 5 {
		return Stats{}, fmt.Errorf("delivery: redis stats: %d values", len(reply))
	}
	var counts [4]int64
	for i := range counts {
		n, ok := reply[i].(int64)
		if !ok {
			return Stats{}, fmt.Errorf("delivery: redis stats: value %d is %T", i, reply[i])
		}
		counts[i] = n
	}
	stats := Stats{Pending: counts[0], InFlight: counts[1], Delayed: counts[2], Dead: counts[3]}
	received, _ := reply[4].([]any)
	for _, text := range received {
		s, _ := text.(string)
		if at, err := time.Parse(time.RFC3339Nano, s); err == nil {
			stats.Oldest = earlier(stats.Oldest, at)
		}
	}
	return stats, nil
}

// Close closes the Redis client. Events in flight stay pending for this consumer and are reclaimed by another
// one after MinIdle.
func (q *Redis) Close() error {
	if q.closed.Swap(true) {
		return nil
	}
	return q.client.Close()
}

func (q *Redis) wrap(what string, err error) error {
	if errors.Is(err, redis.ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("delivery: redis: %s: %w", what, err)
}

// ensureGroup creates the consumer group, reading the stream from its start so that events enqueued before
// the group existed are not skipped.
func (q *Redis) ensureGroup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	err := q.client.XGroupCreateMkStream(ctx, q.keys.stream, q.opts.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return q.wrap("creating the consumer group", err)
	}
	q.groupReady.Store(true)
	return nil
}

// take leases events: first this consumer's own pending ones, then idle ones of other consumers (every
// ClaimInterval), then new ones, waiting up to Block.
func (q *Redis) take(ctx context.Context, limit int) ([]lease, error) {
	if q.closed.Load() {
		return nil, ErrClosed
	}
	if !q.groupReady.Load() {
		if err := q.ensureGroup(ctx); err != nil {
			return nil, err
		}
	}
	msgs, err := q.read(ctx, limit)
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			q.groupReady.Store(false) // Redis lost its data: recreate the group on the next try
		}
		return nil, q.wrap("reading events", err)
	}
	leases := make([]lease, 0, len(msgs))
	for _, m := range msgs {
		if l, ok := q.lease(ctx, m); ok {
			leases = append(leases, l)
		}
	}
	return leases, nil
}

func (q *Redis) read(ctx context.Context, limit int) ([]redis.XMessage, error) {
	args := &redis.XReadGroupArgs{Group: q.opts.Group, Consumer: q.opts.Consumer, Count: int64(limit), Block: -1}
	if q.history {
		args.Streams = []string{q.keys.stream, q.historyCursor}
		msgs, err := q.readGroup(ctx, args, q.opts.Timeout)
		if err != nil {
			return nil, err
		}
		if len(msgs) > 0 {
			q.historyCursor = msgs[len(msgs)-1].ID
			return msgs, nil
		}
		q.history = false
	}
	if now := time.Now(); !now.Before(q.nextClaim) {
		cctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
		msgs, next, err := q.client.XAutoClaim(cctx, &redis.XAutoClaimArgs{
			Stream: q.keys.stream, Group: q.opts.Group, Consumer: q.opts.Consumer,
			MinIdle: q.opts.MinIdle, Start: q.claimCursor, Count: int64(limit),
		}).Result()
		cancel()
		if err != nil {
			return nil, err
		}
		q.claimCursor = next
		if next == "0-0" {
			q.nextClaim = now.Add(q.opts.ClaimInterval)
		}
		msgs = q.notHeld(msgs)
		if len(msgs) > 0 {
			return msgs, nil
		}
	}
	args.Streams = []string{q.keys.stream, ">"}
	args.Block = q.opts.Block
	return q.readGroup(ctx, args, q.opts.Block+q.opts.Timeout)
}

func (q *Redis) readGroup(ctx context.Context, args *redis.XReadGroupArgs, timeout time.Duration) ([]redis.XMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	streams, err := q.client.XReadGroup(ctx, args).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var msgs []redis.XMessage
	for _, s := range streams {
		msgs = append(msgs, s.Messages...)
	}
	return msgs, nil
}

// notHeld drops the entries this process's workers already hold: XAUTOCLAIM can return them when Redis was
// unreachable long enough for their refresh to lapse.
func (q *Redis) notHeld(msgs []redis.XMessage) []redis.XMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := msgs[:0]
	for _, m := range msgs {
		if _, held := q.inFlight[m.ID]; !held {
			out = append(out, m)
		}
	}
	return out
}

// lease turns a stream entry into a lease. An entry deleted meanwhile is acknowledged; one that is not an
// event goes to the dead letters.
func (q *Redis) lease(ctx context.Context, m redis.XMessage) (lease, bool) {
	raw, ok := m.Values["e"].(string)
	if m.Values == nil {
		_ = q.settle(ctx, lease{event: &Event{}, ref: m.ID}, outcome{verdict: complete})
		return lease{}, false
	}
	var e *Event
	err := errors.New("no event field")
	if ok {
		e, err = decode([]byte(raw))
	}
	if err != nil {
		bad := lease{event: undecodable(m.ID, []byte(raw), err), ref: m.ID}
		if err := q.settle(ctx, bad, outcome{verdict: bury}); err != nil {
			q.opts.Logger.Warn("delivery: could not set aside an undecodable stream entry", "entry", m.ID, "error", err)
		}
		return lease{}, false
	}
	q.mu.Lock()
	q.inFlight[m.ID] = struct{}{}
	q.mu.Unlock()
	return lease{event: e, ref: m.ID}, true
}

func (q *Redis) release(l lease) {
	q.mu.Lock()
	delete(q.inFlight, l.ref)
	q.mu.Unlock()
}

// settle records an outcome with one atomic script; errLeaseLost when the entry is no longer this consumer's.
func (q *Redis) settle(ctx context.Context, l lease, o outcome) error {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	g, c := q.opts.Group, q.opts.Consumer
	var cmd *redis.Cmd
	switch o.verdict {
	case complete:
		cmd = ackScript.Run(ctx, q.client, []string{q.keys.stream, q.keys.ids}, g, c, l.ref, l.event.ID)
	case retry:
		v, err := encode(l.event)
		if err != nil {
			return err
		}
		cmd = retryScript.Run(ctx, q.client, []string{q.keys.stream, q.keys.delayed}, g, c, l.ref, ceilMilli(o.due), v)
		defer signal(q.retryAdded)
	default:
		v, err := encode(l.event)
		if err != nil {
			return err
		}
		cmd = buryScript.Run(ctx, q.client, []string{q.keys.stream, q.keys.dead, q.keys.deadIndex},
			g, c, l.ref, l.event.ID, v, q.opts.Now().UnixMilli())
	}
	n, err := cmd.Int()
	if err != nil {
		return q.wrap("settling an event", err)
	}
	if n == 0 {
		return errLeaseLost
	}
	return nil
}

// ceilMilli is t in Unix ms, rounded up so that an event is never promoted before its due time.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Sub(time.UnixMilli(ms)) > 0 {
		ms++
	}
	return ms
}

// promoteLoop moves due delayed events to the stream: it sleeps until the next due time, at most
// PollInterval (other processes delay events too), and wakes early when this process delays one.
func (q *Redis) promoteLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	pause := newPause(q.opts.Logger, "making delayed events ready")
	for ctx.Err() == nil {
		moved, next, err := q.promote(ctx)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return
			}
			pause.failed(ctx, err)
			continue
		}
		pause.ok()
		if moved == promoteLimit {
			continue
		}
		wait := q.opts.PollInterval
		if next >= 0 {
			wait = min(wait, max(time.UnixMilli(next).Sub(q.opts.Now()), time.Millisecond))
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-q.retryAdded:
		case <-timer.C:
		}
	}
}

func (q *Redis) promote(ctx context.Context) (moved int64, next int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	res, err := promoteScript.Run(ctx, q.client, []string{q.keys.delayed, q.keys.stream}, q.opts.Now().UnixMilli(), promoteLimit).Slice()
	if err != nil {
		return 0, 0, q.wrap("promoting delayed events", err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("delivery: redis promote: %d values", len(res))
	}
	moved, _ = res[0].(int64)
	at, _ := res[1].(string)
	next, err = strconv.ParseInt(at, 10, 64)
	if err != nil {
		// A score is a float's text; ours are whole milliseconds.
		f, ferr := strconv.ParseFloat(at, 64)
		if ferr != nil {
			return 0, 0, fmt.Errorf("delivery: redis promote: next due %q: %w", at, err)
		}
		next = int64(f)
	}
	return moved, next, nil
}

// touchLoop refreshes the idle time of the events this process's workers hold, every MinIdle/3.
func (q *Redis) touchLoop(ctx context.Context) {
	tick := time.NewTicker(max(q.opts.MinIdle/3, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		q.mu.Lock()
		refs := make([]any, 0, len(q.inFlight))
		for ref := range q.inFlight {
			refs = append(refs, ref)
		}
		q.mu.Unlock()
		for len(refs) > 0 {
			n := min(len(refs), touchBatch)
			args := append([]any{q.opts.Group, q.opts.Consumer}, refs[:n]...)
			refs = refs[n:]
			tctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
			err := touchScript.Run(tctx, q.client, []string{q.keys.stream}, args...).Err()
			cancel()
			if err != nil && ctx.Err() == nil {
				q.opts.Logger.Warn("delivery: could not refresh in-flight events; another consumer may reclaim them", "error", err)
				break
			}
		}
	}
}
