package endpoint

import (
	"context"
	"errors"
	"runtime"
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
