package endpoint

import (
	"context"
	"sync"
	"time"
)

// deadlineContext is a context with a deadline whose timer is made only when something waits for it (Done).
// A request answered from a template never does: its CEL programs and templates ask Err between steps, which
// reads the clock. context.WithTimeout made a timer, a channel and an entry in the request context's children
// for every request, started and stopped the timer, and was 9% of the bytes a Dialogflow ES answer allocated.
// An upstream call, a Redis store or an interruptible CEL program asks for Done and gets a context.WithDeadline
// made then, with the same deadline.
type deadlineContext struct {
	parent   context.Context
	deadline time.Time

	mu     sync.Mutex
	timed  context.Context // made by the first Done; Err and Done answer from it from then on
	cancel context.CancelFunc
}

// withDeadline returns parent with deadline, and the function that releases its timer, if one was made.
func withDeadline(parent context.Context, deadline time.Time) (context.Context, context.CancelFunc) {
	c := &deadlineContext{parent: parent, deadline: deadline}
	return c, c.release
}

// timedContext returns the context.WithDeadline, made now when create is set, else nil until Done made it.
func (c *deadlineContext) timedContext(create bool) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timed == nil && create {
		c.timed, c.cancel = context.WithDeadline(c.parent, c.deadline)
	}
	return c.timed
}

func (c *deadlineContext) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
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

func (c *deadlineContext) Done() <-chan struct{} { return c.timedContext(true).Done() }

// Err is the parent's error, else context.DeadlineExceeded once the deadline has passed. Once Done was asked
// for, it is the timed context's, so that Err and Done always agree for a caller that holds Done.
func (c *deadlineContext) Err() error {
	if timed := c.timedContext(false); timed != nil {
		return timed.Err()
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *deadlineContext) Value(key any) any { return c.parent.Value(key) }

// AfterFunc lets a context made from c (an upstream call's own timeout) be cancelled with it without a goroutine
// of its own: the context package uses it for a parent that is not one of its own types.
func (c *deadlineContext) AfterFunc(f func()) (stop func() bool) {
	return context.AfterFunc(c.timedContext(true), f)
}

func (c *deadlineContext) String() string {
	return "endpoint.deadlineContext(" + c.deadline.String() + ")"
}
