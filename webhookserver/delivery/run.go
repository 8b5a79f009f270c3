package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// lease is an event a worker took from a store: its outcome must be settled, or the store gives the event to
// a worker again later (Local: after a restart; Redis: after the min-idle time).
type lease struct {
	event *Event
	// ref is the store's handle of the taken entry: the stream entry id in Redis; unused by Local, whose
	// in-flight events are keyed by event ID.
	ref string
}

// verdict is what happens to a leased event after its attempt.
type verdict int

const (
	// complete removes the event: it was processed.
	complete verdict = iota
	// retry stores the event, with the failure counted, until its due time.
	retry
	// bury moves the event to the dead letters.
	bury
)

// outcome is a verdict and, for retry, when the event is due again.
type outcome struct {
	verdict verdict
	due     time.Time
}

// errLeaseLost means the store no longer gives the lease to this worker (another consumer reclaimed it): its
// outcome is not recorded here, the new owner decides.
var errLeaseLost = errors.New("delivery: lease lost")

// store is what the shared worker loop needs from a queue backend.
type store interface {
	// take leases at most max events. It may wait a bounded time for one, and returns none when there is none.
	take(ctx context.Context, max int) ([]lease, error)
	// settle records the outcome of a lease.
	settle(ctx context.Context, l lease, o outcome) error
	// release tells the store that the worker is done with the lease, settled or not.
	release(l lease)
}

// runWorkers is the worker pool both queues share: it takes as many events as workers are free, runs the
// handler on each, and settles the outcome. It returns nil when ctx is done (after the running handlers
// returned) or ErrClosed when the store was closed under it.
func runWorkers(ctx context.Context, s store, o *Options, handler Handler) error {
	if handler == nil {
		return errors.New("delivery: nil handler")
	}
	slots := make(chan struct{}, o.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	pause := newPause(o.Logger, "taking events")
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		free := 1
	more:
		for free < o.Workers {
			select {
			case slots <- struct{}{}:
				free++
			default:
				break more
			}
		}
		leases, err := s.take(ctx, free)
		for range free - len(leases) {
			<-slots
		}
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
			pause.failed(ctx, err)
			continue
		}
		pause.ok()
		for _, l := range leases {
			wg.Go(func() {
				defer func() { <-slots }()
				defer s.release(l)
				work(ctx, s, o, handler, l)
			})
		}
	}
}

// work runs one attempt and settles it.
func work(ctx context.Context, s store, o *Options, handler Handler, l lease) {
	if ctx.Err() != nil {
		return // taken while shutting down: stays in flight
	}
	e := l.event
	err := attempt(ctx, handler, e)
	var out outcome
	switch {
	case err == nil:
		out = outcome{verdict: complete}
	case ctx.Err() != nil:
		// Shutdown: the attempt was probably cut short by the cancellation, so it neither counts nor is settled.
		return
	default:
		e.Attempts++
		e.LastError = truncate(err.Error())
		if e.Attempts >= o.MaxAttempts {
			out = outcome{verdict: bury}
		} else {
			out = outcome{verdict: retry, due: o.Now().Add(Backoff(e.Attempts, o.InitialBackoff, o.MaxBackoff, o.Rand))}
		}
	}
	settle(ctx, s, o.Logger, l, out)
}

// attempt calls the handler with a copy of the event, turning a panic into an error.
func attempt(ctx context.Context, handler Handler, e *Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	c := *e
	return handler(ctx, &c)
}

// settle records an outcome, retrying while the store is unavailable. Once ctx is done it tries one last time
// and gives up: the event stays in flight and is processed again (at least once, possibly twice).
func settle(ctx context.Context, s store, log *slog.Logger, l lease, o outcome) {
	pause := newPause(log, "settling event "+l.event.ID)
	for {
		sctx := ctx
		last := ctx.Err() != nil
		if last {
			sctx = context.WithoutCancel(ctx)
		}
		err := s.settle(sctx, l, o)
		switch {
		case err == nil:
			pause.ok()
			if o.verdict == bury {
				logDeadLetter(log, l.event)
			}
			return
		case errors.Is(err, errLeaseLost):
			log.Info("delivery: event was reclaimed by another consumer; its new owner settles it", "id", l.event.ID)
			return
		case errors.Is(err, ErrClosed), last:
			log.Warn("delivery: outcome not recorded; the event will be processed again", "id", l.event.ID, "error", err)
			return
		}
		pause.failed(ctx, err)
	}
}

// logDeadLetter says that an event will not be tried again: someone must replay or purge it, and the log is
// where they learn of it and why.
func logDeadLetter(log *slog.Logger, e *Event) {
	log.Warn("delivery: event moved to the dead letters after its last attempt", "endpoint", e.Endpoint, "eventId", e.ID,
		"attempts", e.Attempts, "lastError", e.LastError)
}

// pause is the backoff of a loop whose store is unavailable: it sleeps between tries (50ms doubling to 2s,
// with jitter) and logs when the trouble starts and ends, not at every try.
type pause struct {
	log     *slog.Logger
	what    string
	delay   time.Duration
	failing bool
}

const (
	pauseMin = 50 * time.Millisecond
	pauseMax = 2 * time.Second
)

func newPause(log *slog.Logger, what string) *pause { return &pause{log: log, what: what} }

// failed logs the first failure and sleeps until the next try or until ctx is done.
func (p *pause) failed(ctx context.Context, err error) {
	if !p.failing {
		p.failing = true
		p.log.Warn("delivery: store unavailable, retrying", "while", p.what, "error", err)
	}
	p.delay = min(max(2*p.delay, pauseMin), pauseMax)
	d := p.delay/2 + time.Duration(rand.Int64N(int64(p.delay/2)+1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (p *pause) ok() {
	if p.failing {
		p.log.Info("delivery: store available again", "while", p.what)
	}
	p.failing, p.delay = false, 0
}
