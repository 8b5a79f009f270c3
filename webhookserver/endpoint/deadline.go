package endpoint

import (
	"context"
	"sync"
	"time"
)

// deadlineContext is a context with a deadline whose timer is made only when something waits for it (Done).
// A request answered from a template never does: its CEL programs and templates ask Err between steps, which
// reads the clock. context.WithDeadline makes a timer, a channel and an entry in the request context's children
// for every request, and starts and stops the timer: allocations the server benchmarks measure on every
// templated answer (docs/benchmarks.md). An upstream call, a Redis store or an interruptible CEL program asks for
// Done and gets a context.WithDeadline made then, with the same deadline.
//
// It keeps the context.Context contract (TestDeadlineContextKeepsTheContract): Err is nil until Done is closed,
// and once it is not nil it stays the same error. Before Done is asked for, Err finds the error the timed
// context would have (the parent's, DeadlineExceeded once the clock passed the deadline, Canceled once
// released) and keeps it; a Done asked for after that is closed already.
type deadlineContext struct {
	parent   context.Context
	deadline time.Time

	mu sync.Mutex
	// timed is made by the first Done before any error: Err and Done answer from it from then on.
	timed  context.Context
	cancel context.CancelFunc
	// err is the error Err found before Done was asked for; Done is then closedDone for good.
	err error
	// released is set by the release function.
	released bool
}

// closedDone is the Done of a deadlineContext whose error was found before anything waited for it.
var closedDone = func() chan struct{} {
	done := make(chan struct{})
	close(done)
	return done
}()

// withDeadline returns parent with deadline, and the function that releases its timer, if one was made.
func withDeadline(parent context.Context, deadline time.Time) (context.Context, context.CancelFunc) {
	c := &deadlineContext{parent: parent, deadline: deadline}
	return c, c.release
}

func (c *deadlineContext) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.released = true
	if c.cancel != nil {
		c.cancel()
	}
}

// Deadline is the earlier of the parent's and c's own.
func (c *deadlineContext) Deadline() (time.Time, bool) {
	if parent, ok := c.parent.Deadline(); ok && parent.Before(c.deadline) {
		return parent, true
	}
	return c.deadline, true
}

// Done makes the timed context on first use, unless the error is known already.
func (c *deadlineContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if timed := c.timedLocked(); timed != nil {
		return timed.Done()
	}
	return closedDone
}

// timedLocked is the timed context, made now if the error is not known yet; nil when it is.
func (c *deadlineContext) timedLocked() context.Context {
	if c.timed == nil && c.errLocked() == nil {
		c.timed, c.cancel = context.WithDeadline(c.parent, c.deadline)
	}
	return c.timed
}

// Err is the timed context's error once Done made it. Before, it is the parent's error, else Canceled once
// released, else DeadlineExceeded once the deadline has passed; the first one found stays.
func (c *deadlineContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timed != nil {
		return c.timed.Err()
	}
	return c.errLocked()
}

// errLocked finds the error before the timed context is made, and keeps it.
func (c *deadlineContext) errLocked() error {
	if c.err != nil {
		return c.err
	}
	switch {
	case c.parent.Err() != nil:
		c.err = c.parent.Err()
	case c.released:
		c.err = context.Canceled
	case !time.Now().Before(c.deadline):
		c.err = context.DeadlineExceeded
	}
	return c.err
}

func (c *deadlineContext) Value(key any) any { return c.parent.Value(key) }

// AfterFunc lets a context made from c (an upstream call's own timeout) be cancelled with it without a goroutine
// of its own: the context package uses it for a parent that is not one of its own types. As for a done context,
// f runs at once, in a goroutine of its own, when c's error is known already.
func (c *deadlineContext) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	timed := c.timedLocked()
	c.mu.Unlock()
	if timed == nil {
		go f()
		return func() bool { return false }
	}
	return context.AfterFunc(timed, f)
}

func (c *deadlineContext) String() string {
	return "endpoint.deadlineContext(" + c.deadline.String() + ")"
}
