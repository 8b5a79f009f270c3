package server

import (
	"math"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/utils/lru"
)

// limiter is an endpoint's request rate limit; nil means unlimited.
type limiter struct {
	limiter *rate.Limiter
}

func newLimiter(requestsPerSecond, burst int) *limiter {
	if requestsPerSecond <= 0 {
		return nil
	}
	return &limiter{limiter: rate.NewLimiter(rate.Limit(requestsPerSecond), max(burst, 1))}
}

// allow takes a token, or says how many whole seconds to wait for one (for Retry-After).
func (l *limiter) allow() (bool, int) {
	if l == nil {
		return true, 0
	}
	reservation := l.limiter.Reserve()
	delay := reservation.Delay()
	if delay == 0 {
		return true, 0
	}
	reservation.Cancel()
	return false, retryAfterSeconds(delay)
}

// retryAfterSeconds is a wait in whole seconds, at least one, for Retry-After.
func retryAfterSeconds(wait time.Duration) int {
	return int(math.Ceil(max(wait, time.Second).Seconds()))
}

// The budget of authentication failures of one client address: failureBurst at once, then one more every
// failureInterval. A platform that sends a few requests with a wrong key never meets it; a guesser gets ten
// guesses a minute.
const (
	failureBurst    = 20
	failureInterval = 6 * time.Second
	// maxFailingClients bounds the addresses an endpoint remembers; past it, the one that failed least
	// recently is forgotten.
	maxFailingClients = 4096
)

// failingClients limits the failed authentications of each client address, so that a flood of bad
// credentials is refused before its bodies are read or checked, and neither guesses for long nor spends the
// endpoint's request rate. Memory is bounded: at most maxFailingClients addresses, each a small token bucket.
type failingClients struct {
	mu      sync.Mutex // serializes the creation of an address's bucket
	buckets *lru.Cache // clientKey → *rate.Limiter
}

func newFailingClients() *failingClients {
	return &failingClients{buckets: lru.New(maxFailingClients)}
}

// allow says whether a request from client may be authenticated; when its address is over its budget, false
// and the whole seconds until it may try again. It spends nothing: only a failure does, so a client that
// authenticates is never slowed down by its own successes.
func (f *failingClients) allow(client netip.Addr, now time.Time) (bool, int) {
	if f.buckets.Len() == 0 {
		return true, 0 // the common case: no address has failed
	}
	value, ok := f.buckets.Get(clientKey(client))
	if !ok {
		return true, 0
	}
	bucket := value.(*rate.Limiter)
	tokens := bucket.TokensAt(now)
	if tokens >= 1 {
		return true, 0
	}
	return false, retryAfterSeconds(time.Duration((1 - tokens) / float64(bucket.Limit()) * float64(time.Second)))
}

// fail spends one of client's failures.
func (f *failingClients) fail(client netip.Addr, now time.Time) {
	key := clientKey(client)
	f.mu.Lock()
	value, ok := f.buckets.Get(key)
	if !ok {
		value = rate.NewLimiter(rate.Every(failureInterval), failureBurst)
		f.buckets.Add(key, value)
	}
	f.mu.Unlock()
	value.(*rate.Limiter).AllowN(now, 1)
}

// clientKey is the key of client's budget: its IPv4 address, or its IPv6 /64, the smallest network a single
// IPv6 client is usually given, so that it cannot have a fresh budget per address. An unknown address (the
// zero Addr) has a budget of its own.
func clientKey(client netip.Addr) netip.Addr {
	if client.Is6() {
		return netip.PrefixFrom(client, 64).Masked().Addr()
	}
	return client
}
