package idempotency

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Redis is a Store in Redis, shared by every replica of an endpoint (see the package documentation for the
// keys and records).
type Redis struct {
	client *redis.Client
	cfg    config
}

var _ Store = (*Redis)(nil)

// Client timeouts applied by NewRedis unless the URL sets them (dial_timeout, read_timeout, write_timeout,
// pool_timeout, max_retries, ...): small, so that a down or stalled Redis fails a request fast.
const (
	redisDialTimeout  = 250 * time.Millisecond
	redisReadTimeout  = 500 * time.Millisecond
	redisWriteTimeout = 500 * time.Millisecond
	redisPoolTimeout  = 500 * time.Millisecond
	// One retry covers a pooled connection that Redis closed (restart, idle timeout); every script is safe to
	// run twice.
	redisMaxRetries    = 1
	redisDialerRetries = 2
)

// claimScript returns the key's record, or, when there is none, writes the claim ARGV[1] with PX ARGV[2]
// and returns it: the caller holds the key when it gets its own claim back (also after a retry whose first
// run's reply was lost).
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`)

// completeScript writes the answer ARGV[2] with PX ARGV[3] if the key still holds the claim ARGV[1], or
// holds nothing (the lock expired and nobody took the key), and returns 1; it returns 0 when another claim
// or answer is there. Finding its own answer (a retry) counts as done.
var completeScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[2] then return 1 end
if v == ARGV[1] or not v then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
`)

// releaseScript deletes the key if it still holds the claim ARGV[1].
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// NewRedis connects to the Redis at url (redis://[user:password@]host:port/db, or rediss:// for TLS; the
// query may set client options, see redis.ParseURL). Options used: WithTTL, WithLockTTL, WithPrefix,
// WithPollInterval, WithOpTimeout.
//
// Unless the URL sets them, the client dials within 250ms (2 attempts), reads and writes within 500ms,
// waits at most 500ms for a pooled connection, and retries a command once. It connects lazily: NewRedis
// does not fail when Redis is down, Begin does (with ErrUnavailable).
func NewRedis(rawURL string, opts ...Option) (*Redis, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		// url.Error quotes the whole URL, password included: keep only the reason.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("idempotency: invalid Redis URL: %w", err)
	}
	setDefault(&o.DialTimeout, redisDialTimeout)
	setDefault(&o.ReadTimeout, redisReadTimeout)
	setDefault(&o.WriteTimeout, redisWriteTimeout)
	setDefault(&o.PoolTimeout, redisPoolTimeout)
	setDefault(&o.MaxRetries, redisMaxRetries)
	setDefault(&o.DialerRetries, redisDialerRetries)
	setDefault(&o.DialerRetryTimeout, 20*time.Millisecond)
	o.ContextTimeoutEnabled = true
	if o.MaintNotificationsConfig == nil {
		// Maintenance notifications are a Redis Enterprise/Cloud handshake; a plain Redis needs no extra
		// round trip on each new connection.
		o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	}
	return &Redis{client: redis.NewClient(o), cfg: cfg}, nil
}

func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}

// Begin implements Store. A waiter polls every poll interval, with jitter.
func (s *Redis) Begin(ctx context.Context, key string) (*Answer, Claim, error) {
	if key == "" {
		return nil, nil, ErrEmptyKey
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	c := &redisClaim{s: s, key: s.redisKey(key), token: newToken()}
	lockTTL := c.s.cfg.lockTTL.Milliseconds()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		opCtx, cancel := context.WithTimeout(ctx, s.cfg.opTimeout)
		rec, err := claimScript.Run(opCtx, s.client, []string{c.key}, c.token, lockTTL).Text()
		cancel()
		switch {
		case err != nil && ctx.Err() != nil && timer != nil:
			return nil, nil, inProgress(ctx)
		case err != nil && ctx.Err() != nil:
			return nil, nil, fmt.Errorf("idempotency: claim: %w", ctx.Err())
		case err != nil:
			return nil, nil, s.unavailable("claim", err)
		case rec == c.token:
			return nil, c, nil
		case rec != "" && rec[0] == answerTag:
			a, err := decodeAnswer(rec)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: key %s: %w", ErrUnavailable, c.key, err)
			}
			return a, nil, nil
		case rec == "" || rec[0] != claimTag:
			return nil, nil, fmt.Errorf("%w: key %s: %w", ErrUnavailable, c.key, errCorruptRecord)
		}
		// Another request holds the key.
		wait := jitter(s.cfg.pollInterval)
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-timer.C:
		case <-ctx.Done():
			return nil, nil, inProgress(ctx)
		}
	}
}

// Close implements Store: it closes the client's connections.
func (s *Redis) Close() error {
	return s.client.Close()
}

// Ping checks that Redis answers within the store's operation timeout: for a readiness check. Its error wraps
// ErrUnavailable.
func (s *Redis) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.opTimeout)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		return s.unavailable("ping", err)
	}
	return nil
}

func (s *Redis) redisKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return s.cfg.prefix + hex.EncodeToString(sum[:])
}

// unavailable wraps the error of a Redis call that ran out of the operation timeout, or failed.
func (s *Redis) unavailable(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: no answer within %v: %w", ErrUnavailable, op, s.cfg.opTimeout, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

// newToken returns a claim record with a fresh owner token: 128 random bits, unique across processes.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return string(claimTag) + hex.EncodeToString(b[:])
}

// jitter spreads waiters' polls over ±25% of d.
func jitter(d time.Duration) time.Duration {
	return d - d/4 + mathrand.N(d/2+1)
}

type redisClaim struct {
	s       *Redis
	key     string
	token   string // the claim record, "P" + owner token
	settled atomic.Bool
}

// Complete implements Claim.
func (c *redisClaim) Complete(ctx context.Context, answer *Answer) error {
	if c.settled.Load() {
		return ErrSettled
	}
	rec, err := encodeAnswer(answer)
	if err != nil {
		return err
	}
	ctx, cancel := detached(ctx, c.s.cfg.opTimeout)
	defer cancel()
	stored, err := completeScript.Run(ctx, c.s.client, []string{c.key}, c.token, rec, c.s.cfg.ttl.Milliseconds()).Int()
	if err != nil {
		// Still held: a later Release may free the key.
		return c.s.unavailable("complete", err)
	}
	c.settled.Store(true)
	if stored == 0 {
		return ErrClaimLost
	}
	return nil
}

// Release implements Claim. When Redis cannot be reached the claim stays until its lock expires.
func (c *redisClaim) Release(ctx context.Context) {
	if c.settled.Swap(true) {
		return
	}
	ctx, cancel := detached(ctx, c.s.cfg.opTimeout)
	defer cancel()
	_ = releaseScript.Run(ctx, c.s.client, []string{c.key}, c.token).Err()
}
