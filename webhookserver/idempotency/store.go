package idempotency

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Answer is what a request answered: it is stored by [Claim.Complete] and replayed to duplicates. Begin
// returns an Answer the caller owns: changing it affects no other caller.
type Answer struct {
	// Status is the HTTP status code, 100 to 999.
	Status int
	// Header holds the response headers to replay, in canonical form as http.Header keeps them. Empty
	// headers come back as nil.
	Header map[string][]string
	// Body is the response body. An empty body comes back as nil.
	Body []byte
}

// Store claims idempotency keys and keeps the answers. Its methods are safe for concurrent use.
type Store interface {
	// Begin claims key. It returns exactly one of: an answer to replay (one is stored, or a concurrent
	// holder completed while we waited), a claim the caller must Complete or Release, or an error.
	//
	// While another request holds the key, Begin waits until that one completes or releases (then one of
	// the waiters takes over), or its lock expires, or ctx is done: then the error wraps both
	// ErrInProgress and ctx.Err(). An error wrapping ErrUnavailable means the store cannot be reached.
	Begin(ctx context.Context, key string) (*Answer, Claim, error)
	// Close releases the store's resources. Begin fails with ErrUnavailable afterwards.
	Close() error
}

// Claim is the right to process one key, given by [Store.Begin]. Exactly one of Complete and Release takes
// effect; calling Release after Complete does nothing, so `defer claim.Release(ctx)` is the safe pattern.
//
// Both ignore the cancellation of ctx (they keep its values) and are bounded by the store's own operation
// timeout: the answer is stored and the claim released even when the client went away meanwhile.
type Claim interface {
	// Complete stores answer for the store's TTL and hands it to the waiters. It fails with ErrClaimLost
	// when the claim expired and another request has taken the key since (its answer is kept), with
	// ErrSettled after Complete or Release, and with ErrUnavailable when the store cannot be reached (the
	// claim is then still held: Release it, or let its lock expire).
	Complete(ctx context.Context, answer *Answer) error
	// Release gives the claim up because processing failed: the next attempt may process, and one of the
	// waiters takes over at once. It does nothing after Complete or Release, or when the claim was lost.
	Release(ctx context.Context)
}

var (
	// ErrUnavailable means the store cannot be reached or cannot serve (Redis down, timing out, refusing).
	// Errors wrap it together with the cause. What to do is the server's failure policy (Fail or Ignore).
	ErrUnavailable = errors.New("idempotency: store unavailable")
	// ErrInProgress means another request held the key until ctx ended. Errors wrap it together with
	// ctx.Err().
	ErrInProgress = errors.New("idempotency: a request with the same key is in progress")
	// ErrClaimLost means the claim's lock expired and another request took the key before Complete.
	ErrClaimLost = errors.New("idempotency: claim lost: its lock expired and another request took the key")
	// ErrSettled means Complete was called after Complete or Release.
	ErrSettled = errors.New("idempotency: claim already completed or released")
	// ErrEmptyKey means Begin was called with an empty key. A request without a key is not deduplicated:
	// the server should process it without calling Begin.
	ErrEmptyKey = errors.New("idempotency: empty key")

	errClosed = errors.New("store closed")
)

// Defaults of the options.
const (
	DefaultTTL     = 24 * time.Hour
	DefaultLockTTL = 35 * time.Second // the longest endpoint deadline (30s) plus a margin
	// DefaultMaxEntries and DefaultMaxBytes bound a MemoryPool: enough Dialogflow answers (a small record plus
	// bookkeeping each) for minutes of duplicates at the rates one pod serves. A pool at its bound takes about
	// twice its bytes of the process's memory once the garbage collector leaves room for growth, so a larger
	// bound made a pod at full load outgrow its memory request (docs/benchmarks.md).
	DefaultMaxEntries = 20_000
	DefaultMaxBytes   = 8 << 20

	DefaultPrefix       = "fulfillment:idem:"
	DefaultPollInterval = 20 * time.Millisecond
	DefaultOpTimeout    = 500 * time.Millisecond
)

// KeyPrefix is the Redis key prefix of one endpoint, `fulfillment:idem:<namespace>/<endpoint>:`, so that
// endpoints sharing a Redis never see each other's keys.
func KeyPrefix(namespace, endpoint string) string {
	return DefaultPrefix + namespace + "/" + endpoint + ":"
}

// Option configures a store. Options that do not apply to a store are ignored by it.
type Option func(*config)

type config struct {
	ttl          time.Duration
	lockTTL      time.Duration
	maxEntries   int
	maxBytes     int64
	prefix       string
	pollInterval time.Duration
	opTimeout    time.Duration
	pool         *MemoryPool
	err          error
}

func newConfig(opts []Option) (config, error) {
	c := config{
		ttl:          DefaultTTL,
		lockTTL:      DefaultLockTTL,
		maxEntries:   DefaultMaxEntries,
		maxBytes:     DefaultMaxBytes,
		prefix:       DefaultPrefix,
		pollInterval: DefaultPollInterval,
		opTimeout:    DefaultOpTimeout,
	}
	for _, o := range opts {
		o(&c)
	}
	return c, c.err
}

func (c *config) invalid(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("idempotency: "+format, args...)
	}
}

// WithTTL is how long an answer is kept and replayed, from Complete (default DefaultTTL). Redis keeps it
// with millisecond precision.
func WithTTL(d time.Duration) Option {
	return func(c *config) {
		if d < time.Millisecond {
			c.invalid("TTL %v is shorter than 1ms", d)
		}
		c.ttl = d
	}
}

// WithLockTTL is how long a claim holds the key without Complete or Release before another request may
// take it (default DefaultLockTTL). Use the endpoint deadline plus a margin for storing the answer (a few
// seconds): shorter lets a duplicate be processed while the first is still running.
func WithLockTTL(d time.Duration) Option {
	return func(c *config) {
		if d < time.Millisecond {
			c.invalid("lock TTL %v is shorter than 1ms", d)
		}
		c.lockTTL = d
	}
}

// WithMaxEntries bounds the answers a MemoryPool keeps, or a Memory store without one (default
// DefaultMaxEntries); the oldest are evicted first. Claims in progress are not counted: their number is bounded by the requests in flight.
func WithMaxEntries(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.invalid("max entries %d is less than 1", n)
		}
		c.maxEntries = n
	}
}

// WithMaxBytes bounds the memory the answers of a MemoryPool take, or of a Memory store without one,
// records plus bookkeeping (default DefaultMaxBytes); the oldest are evicted first.
func WithMaxBytes(n int64) Option {
	return func(c *config) {
		if n < 1 {
			c.invalid("max bytes %d is less than 1", n)
		}
		c.maxBytes = n
	}
}

// WithPool has a Memory store keep its answers in pool, within the pool's bound, which the stores of the pool
// share. Without it, a Memory store has a pool of its own, bounded by WithMaxEntries and WithMaxBytes.
func WithPool(pool *MemoryPool) Option {
	return func(c *config) { c.pool = pool }
}

// WithPrefix sets the Redis key prefix (default DefaultPrefix; see KeyPrefix).
func WithPrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// WithPollInterval is how often a Redis waiter looks at a key held by another request (default
// DefaultPollInterval, with ±25% jitter).
func WithPollInterval(d time.Duration) Option {
	return func(c *config) {
		if d < time.Millisecond {
			c.invalid("poll interval %v is shorter than 1ms", d)
		}
		c.pollInterval = d
	}
}

// WithOpTimeout bounds each Redis call, within ctx (default DefaultOpTimeout): past it the store is
// unavailable.
func WithOpTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.invalid("operation timeout %v is not positive", d)
		}
		c.opTimeout = d
	}
}

// inProgress is the error of a waiter whose ctx ended.
func inProgress(ctx context.Context) error {
	return fmt.Errorf("%w: %w", ErrInProgress, ctx.Err())
}

// detached is ctx without its cancellation, bounded by timeout: what Complete and Release run under.
func detached(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}
