package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
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
	// maxKnownCredentials bounds the credentials an endpoint remembers as having authenticated: a platform
	// sends one, a few during a rotation.
	maxKnownCredentials = 64
)

// failingClients limits the failed authentications of each client address, so that a flood of bad
// credentials is refused before its bodies are read or checked, and neither guesses for long nor spends the
// endpoint's request rate. Memory is bounded: at most maxFailingClients addresses, each a small token bucket.
//
// Clients behind one address (an ingress controller, a NAT) share its budget, so a flood through the ingress
// would also stop the platform behind it. A request whose credential header authenticated recently is
// therefore authenticated even from an address over its budget: a guesser cannot present such a credential
// without knowing it, and the check itself still runs. Credentials are remembered as keyed fingerprints.
type failingClients struct {
	mu      sync.Mutex // serializes the creation of an address's bucket
	buckets *lru.Cache // clientKey → *rate.Limiter
	// known holds the fingerprints of credentials that authenticated ([sha256.Size]byte → struct{}), last the
	// credential that did most recently, so that a platform's every request does not hash it again.
	known     *lru.Cache
	last      atomic.Pointer[string]
	secretKey [32]byte
}

func newFailingClients() *failingClients {
	f := &failingClients{buckets: lru.New(maxFailingClients), known: lru.New(maxKnownCredentials)}
	_, _ = rand.Read(f.secretKey[:])
	return f
}

// allow says whether a request from client that presents credential (the values of the endpoint's credential
// headers; "" when it has none) may be authenticated; when its address is over its budget and the credential
// is not one that authenticated recently, false and the whole seconds until it may try again. It spends
// nothing: only a failure does, so a client that authenticates is never slowed down by its own successes.
func (f *failingClients) allow(client netip.Addr, credential string, now time.Time) (bool, int) {
	value, ok := f.buckets.Get(clientKey(client))
	if !ok {
		return true, 0
	}
	bucket := value.(*rate.Limiter)
	tokens := bucket.TokensAt(now)
	if tokens >= 1 || f.isKnown(credential) {
		return true, 0
	}
	return false, retryAfterSeconds(time.Duration((1 - tokens) / float64(bucket.Limit()) * float64(time.Second)))
}

// none says whether no address has failed, the common case: then every request may be authenticated, and
// finding its client address (X-Forwarded-For through a trusted proxy) can wait for a failure.
func (f *failingClients) none() bool { return f.buckets.Len() == 0 }

// fail spends one of client's failures; a credential that fails is no longer one that authenticated.
func (f *failingClients) fail(client netip.Addr, credential string, now time.Time) {
	key := clientKey(client)
	f.mu.Lock()
	value, ok := f.buckets.Get(key)
	if !ok {
		value = rate.NewLimiter(rate.Every(failureInterval), failureBurst)
		f.buckets.Add(key, value)
	}
	f.mu.Unlock()
	value.(*rate.Limiter).AllowN(now, 1)
	if credential != "" && f.known.Len() > 0 {
		f.known.Remove(f.fingerprint(credential))
		// In constant time: credential is the caller's guess, and last a credential that authenticated.
		if last := f.last.Load(); last != nil && subtle.ConstantTimeCompare([]byte(*last), []byte(credential)) == 1 {
			f.last.Store(nil)
		}
	}
}

// succeed remembers a credential that authenticated.
func (f *failingClients) succeed(credential string) {
	if credential == "" {
		return
	}
	if last := f.last.Load(); last != nil && *last == credential {
		return // the platform's next request with the same credential: nothing to hash
	}
	f.known.Add(f.fingerprint(credential), struct{}{})
	remembered := credential // a copy of its own: taking the parameter's address would allocate on every call
	f.last.Store(&remembered)
}

func (f *failingClients) isKnown(credential string) bool {
	if credential == "" {
		return false
	}
	_, ok := f.known.Get(f.fingerprint(credential))
	return ok
}

// fingerprint is a keyed hash of a credential: the table holds no value that could be guessed offline.
func (f *failingClients) fingerprint(credential string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, f.secretKey[:])
	mac.Write([]byte(credential))
	var sum [sha256.Size]byte
	mac.Sum(sum[:0])
	return sum
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
