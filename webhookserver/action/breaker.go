package action

import (
	"errors"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// ErrCircuitOpen is returned without calling an upstream whose circuit breaker is open: it failed repeatedly,
// so the fallback is answered at once instead of waiting for it to fail again.
var ErrCircuitOpen = errors.New("circuit breaker open: the upstream failed repeatedly and is not called for now")

// BreakerSettings tune the circuit breakers.
type BreakerSettings struct {
	// ConsecutiveFailures open the circuit (default 5).
	ConsecutiveFailures uint32
	// OpenTimeout is how long an open circuit stays open before a trial request (default 5s).
	OpenTimeout time.Duration
	// OnStateChange is told of every transition (closed, half-open, open), for metrics and logs.
	OnStateChange func(upstream, from, to string)
}

// Breakers holds one circuit breaker per upstream (scheme://host:port), shared by every route that calls it
// and kept across configuration reloads, so that a reload does not forget that an upstream is down.
type Breakers struct {
	settings BreakerSettings
	mu       sync.Mutex
	byHost   map[string]*gobreaker.CircuitBreaker[struct{}]
}

// NewBreakers returns an empty set of breakers.
func NewBreakers(settings BreakerSettings) *Breakers {
	if settings.ConsecutiveFailures == 0 {
		settings.ConsecutiveFailures = 5
	}
	if settings.OpenTimeout <= 0 {
		settings.OpenTimeout = 5 * time.Second
	}
	return &Breakers{settings: settings, byHost: map[string]*gobreaker.CircuitBreaker[struct{}]{}}
}

// For returns the breaker of upstream, creating it on first use. A nil *Breakers has no breakers.
func (b *Breakers) For(upstream string) *gobreaker.CircuitBreaker[struct{}] {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if breaker, ok := b.byHost[upstream]; ok {
		return breaker
	}
	breaker := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        upstream,
		MaxRequests: 1, // one trial request when half-open
		Interval:    0, // counts reset only on state changes: consecutive failures are what trips it
		Timeout:     b.settings.OpenTimeout,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= b.settings.ConsecutiveFailures
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			if b.settings.OnStateChange != nil {
				b.settings.OnStateChange(name, from.String(), to.String())
			}
		},
		// A request ended by the caller's deadline with time left for nothing says little about the upstream;
		// a refused address or a bad template says nothing at all.
		IsExcluded: func(err error) bool {
			var failure *Failure
			return errors.As(err, &failure) && (failure.Reason == "template" || failure.Reason == "forbidden_address")
		},
	})
	b.byHost[upstream] = breaker
	return breaker
}

// guarded runs call through breaker (when there is one). An open circuit answers ErrCircuitOpen at once.
func guarded(breaker *gobreaker.CircuitBreaker[struct{}], call func() error) error {
	if breaker == nil {
		return call()
	}
	_, err := breaker.Execute(func() (struct{}, error) { return struct{}{}, call() })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return &Failure{Reason: "circuit_open", Message: "the upstream is not called while its circuit is open", Err: ErrCircuitOpen}
	}
	return err
}
