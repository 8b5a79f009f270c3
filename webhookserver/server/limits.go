package server

import (
	"math"
	"time"

	"golang.org/x/time/rate"
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
	return false, int(math.Ceil(max(delay, time.Second).Seconds()))
}
