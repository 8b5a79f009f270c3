package endpoint

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Without Done, the deadline is read from the clock, and no timer or channel is made.
func TestDeadlineContextErrFollowsTheClockWithoutATimer(t *testing.T) {
	ctx, release := withDeadline(context.Background(), time.Now().Add(30*time.Millisecond))
	defer release()
	if err := ctx.Err(); err != nil {
		t.Fatalf("Err before the deadline: %v", err)
	}
	time.Sleep(40 * time.Millisecond)
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err after the deadline: %v, want DeadlineExceeded", err)
	}
	if ctx.(*deadlineContext).timed != nil {
		t.Error("a timer was made though nothing asked for Done")
	}
	select {
	case <-ctx.Done(): // asked for late: made already expired
	default:
		t.Error("Done asked for after the deadline is not closed")
	}
}

func TestDeadlineContextDoneClosesAtTheDeadline(t *testing.T) {
	start := time.Now()
	ctx, release := withDeadline(context.Background(), start.Add(30*time.Millisecond))
	defer release()
	<-ctx.Done()
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Errorf("Done closed after %v, before the deadline", waited)
	}
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Err once Done closed: %v", err)
	}
	if cause := context.Cause(ctx); !errors.Is(cause, context.DeadlineExceeded) {
		t.Errorf("Cause: %v", cause)
	}
}

func TestDeadlineContextFollowsItsParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "request"))
	ctx, release := withDeadline(parent, time.Now().Add(time.Hour))
	defer release()
	if v := ctx.Value(ctxKey{}); v != "request" {
		t.Errorf("Value: %v", v)
	}
	done := ctx.Done()
	cancel() // the caller went away
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Done is not closed when the parent is cancelled")
	}
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err: %v, want Canceled", err)
	}

	// Without Done asked for, the parent's cancellation shows in Err too.
	parent, cancel = context.WithCancel(context.Background())
	ctx, release = withDeadline(parent, time.Now().Add(time.Hour))
	defer release()
	cancel()
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err without Done: %v, want Canceled", err)
	}
}

func TestDeadlineContextDeadlineIsTheEarlier(t *testing.T) {
	soon, later := time.Now().Add(time.Minute), time.Now().Add(time.Hour)
	parent, cancel := context.WithDeadline(context.Background(), soon)
	defer cancel()
	ctx, release := withDeadline(parent, later)
	defer release()
	if deadline, ok := ctx.Deadline(); !ok || !deadline.Equal(soon) {
		t.Errorf("Deadline %v %v, want the parent's %v", deadline, ok, soon)
	}
	ctx, release = withDeadline(context.Background(), soon)
	defer release()
	if deadline, ok := ctx.Deadline(); !ok || !deadline.Equal(soon) {
		t.Errorf("Deadline %v %v, want %v", deadline, ok, soon)
	}
}

// An upstream call's own timeout, made from the request's deadline, ends with it, without a goroutine to watch.
func TestDeadlineContextCancelsWhatIsMadeFromIt(t *testing.T) {
	ctx, release := withDeadline(context.Background(), time.Now().Add(30*time.Millisecond))
	defer release()
	goroutines := runtime.NumGoroutine()
	call, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	if now := runtime.NumGoroutine(); now > goroutines {
		t.Errorf("%d goroutines more to propagate the cancellation", now-goroutines)
	}
	select {
	case <-call.Done():
	case <-time.After(time.Second):
		t.Fatal("a context made from the deadline outlived it")
	}
	if err := call.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Err: %v", err)
	}
}

func TestDeadlineContextReleaseStopsTheTimer(t *testing.T) {
	ctx, release := withDeadline(context.Background(), time.Now().Add(time.Hour))
	done := ctx.Done()
	release()
	select {
	case <-done:
	default:
		t.Fatal("release did not end the timed context")
	}
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err after release: %v", err)
	}
	release() // twice is fine
}

func TestDeadlineContextWithoutDoneAllocatesOnlyItself(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	allocs := testing.AllocsPerRun(100, func() {
		ctx, release := withDeadline(parent, time.Now().Add(time.Second))
		_ = ctx.Err()
		release()
	})
	if allocs > 1 {
		t.Errorf("%.0f allocations for a deadline nothing waited on, want 1 (context.WithTimeout: 4 and a timer)", allocs)
	}
}

type ctxKey struct{}

// The context.Context contract, whichever of Err and Done is asked first and from however many goroutines: Err
// is nil while Done is open, not nil once Done is closed, and the same error from then on.
func TestDeadlineContextKeepsTheContract(t *testing.T) {
	for i := range 300 {
		parent, cancelParent := context.WithCancel(context.Background())
		ctx, release := withDeadline(parent, time.Now().Add(time.Duration(i%7)*50*time.Microsecond))
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				var first error
				for step := range 200 {
					// Half the goroutines ask for Done only once Err is set, as a template's steps do.
					var done <-chan struct{}
					if g%2 == 0 || step%50 == 49 {
						done = ctx.Done()
					}
					err := ctx.Err()
					if done == nil {
						done = ctx.Done()
					}
					closed := false
					select {
					case <-done:
						closed = true
					default:
					}
					switch {
					case err != nil && !closed:
						t.Errorf("Err is %v while Done is open", err)
						return
					case first != nil && !errors.Is(err, first):
						t.Errorf("Err was %v, then %v", first, err)
						return
					}
					if closed && ctx.Err() == nil {
						t.Error("Done is closed while Err is nil")
						return
					}
					if err != nil && first == nil {
						first = err
					}
				}
			})
		}
		switch i % 3 {
		case 1:
			cancelParent()
		case 2:
			release()
		}
		wg.Wait()
		release()
		cancelParent()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
			t.Fatal("Done is still open after release")
		}
		if ctx.Err() == nil {
			t.Fatal("Err is nil after release")
		}
	}
}

// A context whose error is known before anything waited still runs what is to run after it.
func TestDeadlineContextAfterFuncWhenDone(t *testing.T) {
	ctx, release := withDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer release()
	if ctx.Err() == nil {
		t.Fatal("Err is nil past the deadline")
	}
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	select {
	case <-child.Done():
	case <-time.After(time.Second):
		t.Fatal("a context made from a done one is not done")
	}
}

// Once Err has said why the context ended, it says so for good: a parent cancelled after the deadline passed does
// not change it, nor a release.
func TestDeadlineContextErrStays(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	ctx, release := withDeadline(parent, time.Now().Add(-time.Millisecond))
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err past the deadline: %v", err)
	}
	cancel()
	release()
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Err after the parent was cancelled and the context released: %v, want DeadlineExceeded still", err)
	}
	select {
	case <-ctx.Done():
	default:
		t.Error("Done is open")
	}
}
