package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// behaviours is the contract both queues keep, run on each kind.
var behaviours = map[string]func(t *testing.T, f fixture){
	"an event is processed once, as enqueued": func(t *testing.T, f fixture) {
		q := f.open(t, Options{})
		rec := newRecorder(nil)
		run(t, q, rec.handle)
		sent := event("evt-1")
		sent.Received = time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
		mustEnqueue(t, q, sent)
		waitStats(t, q, Stats{})
		time.Sleep(100 * time.Millisecond) // room for a wrong second delivery
		calls := rec.callsOf("evt-1")
		if len(calls) != 1 {
			t.Fatalf("handler called %d times, want 1", len(calls))
		}
		got := calls[0].event
		if !got.Received.Equal(sent.Received) {
			t.Errorf("Received = %v, want %v", got.Received, sent.Received)
		}
		got.Received = sent.Received
		if !reflect.DeepEqual(&got, sent) {
			t.Errorf("handler got %+v, want %+v", got, *sent)
		}
	},

	"enqueue sets Received and resets what the queue maintains": func(t *testing.T, f fixture) {
		q := f.open(t, Options{})
		e := event("evt-1")
		e.Attempts, e.LastError = 7, "stale"
		before := time.Now()
		mustEnqueue(t, q, e)
		if e.Attempts != 7 || !e.Received.IsZero() {
			t.Errorf("Enqueue changed the caller's event: %+v", e)
		}
		rec := newRecorder(nil)
		run(t, q, rec.handle)
		waitFor(t, 5*time.Second, func() bool { return len(rec.callsOf("evt-1")) == 1 }, "the event")
		got := rec.callsOf("evt-1")[0].event
		if got.Attempts != 0 || got.LastError != "" || got.Received.Before(before.Truncate(time.Millisecond)) {
			t.Errorf("stored event: attempts %d, last error %q, received %v (enqueued after %v)",
				got.Attempts, got.LastError, got.Received, before)
		}
	},

	"enqueue refuses an event without a usable id": func(t *testing.T, f fixture) {
		q := f.open(t, Options{})
		for _, e := range []*Event{nil, {Body: []byte("x")}, {ID: strings.Repeat("x", MaxIDLen+1)}} {
			if err := q.Enqueue(context.Background(), e); err == nil {
				t.Errorf("Enqueue(%v) = nil, want an error", e)
			}
		}
	},

	"a second enqueue of a queued id stores nothing": func(t *testing.T, f fixture) {
		q := f.open(t, Options{})
		mustEnqueue(t, q, event("dup"))
		mustEnqueue(t, q, event("dup"))
		if s, err := q.Stats(context.Background()); err != nil || s.Pending != 1 {
			t.Fatalf("Stats = %+v, %v; want 1 pending", s, err)
		}
		rec := newRecorder(nil)
		run(t, q, rec.handle)
		waitStats(t, q, Stats{})
		time.Sleep(50 * time.Millisecond)
		if n := len(rec.callsOf("dup")); n != 1 {
			t.Fatalf("handler called %d times, want 1", n)
		}
		// Once processed the id is forgotten: a later delivery with it is a new event.
		mustEnqueue(t, q, event("dup"))
		waitFor(t, 5*time.Second, func() bool { return len(rec.callsOf("dup")) == 2 }, "the second delivery")
	},

	"fails twice then succeeds: three attempts with backoff": func(t *testing.T, f fixture) {
		q := f.open(t, Options{MaxAttempts: 5, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Rand: maxJitter})
		rec := newRecorder(func(_ context.Context, _ *Event, n int) error {
			if n <= 2 {
				return fmt.Errorf("boom %d", n)
			}
			return nil
		})
		run(t, q, rec.handle)
		mustEnqueue(t, q, event("flaky"))
		waitStats(t, q, Stats{})
		time.Sleep(50 * time.Millisecond)
		calls := rec.callsOf("flaky")
		if len(calls) != 3 {
			t.Fatalf("handler called %d times, want 3", len(calls))
		}
		for i, want := range []struct {
			attempts int
			lastErr  string
			gap      time.Duration
		}{{0, "", 0}, {1, "boom 1", 10 * time.Millisecond}, {2, "boom 2", 20 * time.Millisecond}} {
			c := calls[i]
			if c.event.Attempts != want.attempts || c.event.LastError != want.lastErr {
				t.Errorf("call %d saw attempts %d, last error %q; want %d, %q", i+1, c.event.Attempts, c.event.LastError, want.attempts, want.lastErr)
			}
			if i > 0 {
				if gap := c.at.Sub(calls[i-1].at); gap < want.gap {
					t.Errorf("call %d came %v after the previous one, want at least the backoff %v", i+1, gap, want.gap)
				}
			}
		}
		if dead, err := q.DeadLetters(context.Background(), 0); err != nil || len(dead) != 0 {
			t.Errorf("DeadLetters = %v, %v; want none", dead, err)
		}
	},

	"always fails: dead letter after max attempts, then replay": func(t *testing.T, f fixture) {
		logs := &lockedBuffer{}
		q := f.open(t, Options{MaxAttempts: 3, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(logs, nil))})
		var mu sync.Mutex
		healthy := false
		rec := newRecorder(func(_ context.Context, _ *Event, n int) error {
			mu.Lock()
			defer mu.Unlock()
			if healthy {
				return nil
			}
			return fmt.Errorf("upstream said no (%d)", n)
		})
		run(t, q, rec.handle)
		mustEnqueue(t, q, event("doomed"))
		mustEnqueue(t, q, event("fine-later")) // also dies: both fail while unhealthy
		waitStats(t, q, Stats{Dead: 2})
		if n := len(rec.callsOf("doomed")); n != 3 {
			t.Fatalf("handler called %d times, want MaxAttempts = 3", n)
		}
		dead, err := q.DeadLetters(context.Background(), 0)
		if err != nil || len(dead) != 2 {
			t.Fatalf("DeadLetters = %v, %v; want 2", dead, err)
		}
		var doomed *Event
		for _, d := range dead {
			if d.ID == "doomed" {
				doomed = d
			}
		}
		if doomed == nil || doomed.Attempts != 3 || doomed.LastError != "upstream said no (3)" || string(doomed.Body) != string(event("doomed").Body) {
			t.Fatalf("dead letter = %+v, want attempts 3, last error %q and the body", doomed, "upstream said no (3)")
		}
		wantLog := `level=WARN msg="delivery: event moved to the dead letters after its last attempt" endpoint=default/bot eventId=doomed ` +
			`attempts=3 lastError="upstream said no (3)"`
		waitFor(t, 5*time.Second, func() bool { return strings.Contains(logs.String(), wantLog) }, "the dead letter's log line")
		if one, err := q.DeadLetters(context.Background(), 1); err != nil || len(one) != 1 || one[0].ID != dead[0].ID {
			t.Errorf("DeadLetters(limit 1) = %v, %v; want the first of the full list", one, err)
		}
		if all, err := q.DeadLetters(context.Background(), -3); err != nil || len(all) != 2 {
			t.Errorf("DeadLetters(limit -3) = %d events, %v; want all", len(all), err)
		}

		mu.Lock()
		healthy = true
		mu.Unlock()
		if err := q.Replay(context.Background(), "doomed"); err != nil {
			t.Fatalf("Replay: %v", err)
		}
		waitStats(t, q, Stats{Dead: 1})
		calls := rec.callsOf("doomed")
		if len(calls) != 4 {
			t.Fatalf("after Replay the handler ran %d times in all, want 4", len(calls))
		}
		if last := calls[3].event; last.Attempts != 0 || last.LastError != "upstream said no (3)" {
			t.Errorf("replayed event: attempts %d, last error %q; want 0 and the error it died of", last.Attempts, last.LastError)
		}
		if err := q.Replay(context.Background(), "doomed"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second Replay = %v, want ErrNotFound", err)
		}
		if err := q.Replay(context.Background(), "never-seen"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Replay of an unknown id = %v, want ErrNotFound", err)
		}
	},

	"dead letters are listed in the order they died": func(t *testing.T, f fixture) {
		q := f.open(t, Options{MaxAttempts: 1})
		run(t, q, func(context.Context, *Event) error { return errors.New("no") })
		for i, id := range []string{"z-first", "m-second", "a-third"} {
			mustEnqueue(t, q, event(id))
			waitStats(t, q, Stats{Dead: int64(i + 1)})
			time.Sleep(2 * time.Millisecond) // Redis orders by millisecond
		}
		dead, err := q.DeadLetters(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range dead {
			got = append(got, d.ID)
		}
		if want := []string{"z-first", "m-second", "a-third"}; !reflect.DeepEqual(got, want) {
			t.Errorf("DeadLetters order = %v, want %v", got, want)
		}
	},

	"a handler panic is a failed attempt": func(t *testing.T, f fixture) {
		q := f.open(t, Options{InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
		rec := newRecorder(func(_ context.Context, _ *Event, n int) error {
			if n == 1 {
				panic("nil map")
			}
			return nil
		})
		run(t, q, rec.handle)
		mustEnqueue(t, q, event("p"))
		waitStats(t, q, Stats{})
		calls := rec.callsOf("p")
		if len(calls) != 2 || !strings.Contains(calls[1].event.LastError, "panicked: nil map") {
			t.Fatalf("calls = %d, last error %q; want a retry after the panic", len(calls), calls[len(calls)-1].event.LastError)
		}
	},

	"a retry waits in the delayed set": func(t *testing.T, f fixture) {
		q := f.open(t, Options{InitialBackoff: time.Hour, MaxBackoff: time.Hour, Rand: maxJitter})
		rec := newRecorder(func(context.Context, *Event, int) error { return errors.New("later") })
		stop := run(t, q, rec.handle)
		mustEnqueue(t, q, event("slow"))
		waitStats(t, q, Stats{Delayed: 1})
		if n := len(rec.callsOf("slow")); n != 1 {
			t.Fatalf("handler called %d times, want 1 before the hour-long backoff", n)
		}
		stop()
		q2 := f.reopen(t, q, Options{})
		if s, err := q2.Stats(context.Background()); err != nil || counts(s) != (Stats{Delayed: 1}) {
			t.Fatalf("after restart Stats = %+v, %v; want the event still delayed", s, err)
		}
	},

	"several workers, 1000 events: each processed exactly once": func(t *testing.T, f fixture) {
		const n, workers = 1000, 8
		q := f.open(t, Options{Workers: workers})
		rec := newRecorder(func(context.Context, *Event, int) error {
			time.Sleep(200 * time.Microsecond)
			return nil
		})
		run(t, q, rec.handle)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for p := range 16 {
			wg.Go(func() {
				for i := p; i < n; i += 16 {
					if err := q.Enqueue(context.Background(), event(fmt.Sprintf("bulk-%04d", i))); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("Enqueue: %v", err)
		}
		waitFor(t, 30*time.Second, func() bool { return rec.total.Load() >= n }, "%d events", n)
		waitStats(t, q, Stats{})
		time.Sleep(100 * time.Millisecond)
		ids := rec.ids()
		if len(ids) != n || rec.total.Load() != n {
			t.Fatalf("processed %d distinct ids in %d calls, want %d each", len(ids), rec.total.Load(), n)
		}
		for id, c := range ids {
			if c != 1 {
				t.Errorf("%s processed %d times", id, c)
			}
		}
		if p := rec.peak.Load(); p > workers {
			t.Errorf("%d handlers ran at once, more than the %d workers", p, workers)
		}
	},

	"shutdown leaves the running event in flight; the next process takes it": func(t *testing.T, f fixture) {
		q := f.open(t, Options{})
		started := make(chan struct{}, 1)
		first := newRecorder(func(ctx context.Context, _ *Event, _ int) error {
			started <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		})
		stop := run(t, q, first.handle)
		mustEnqueue(t, q, event("interrupted"))
		<-started
		stop()
		if s, err := q.Stats(context.Background()); err != nil || counts(s) != (Stats{InFlight: 1}) {
			t.Fatalf("after shutdown Stats = %+v, %v; want the event in flight", s, err)
		}

		q2 := f.reopen(t, q, Options{})
		second := newRecorder(nil)
		run(t, q2, second.handle)
		waitStats(t, q2, Stats{})
		calls := second.callsOf("interrupted")
		if len(calls) != 1 || calls[0].event.Attempts != 0 {
			t.Fatalf("after restart: %d calls %+v; want one, with the interrupted attempt not counted", len(calls), calls)
		}
	},

	"dead letters and delayed events survive a restart": func(t *testing.T, f fixture) {
		q := f.open(t, Options{MaxAttempts: 1})
		rec := newRecorder(func(context.Context, *Event, int) error { return errors.New("no") })
		stop := run(t, q, rec.handle)
		mustEnqueue(t, q, event("dead-1"))
		waitStats(t, q, Stats{Dead: 1})
		stop()
		q2 := f.reopen(t, q, Options{})
		dead, err := q2.DeadLetters(context.Background(), 10)
		if err != nil || len(dead) != 1 || dead[0].ID != "dead-1" || dead[0].LastError != "no" {
			t.Fatalf("DeadLetters after restart = %+v, %v", dead, err)
		}
		if err := q2.Replay(context.Background(), "dead-1"); err != nil {
			t.Fatalf("Replay: %v", err)
		}
		rec2 := newRecorder(nil)
		run(t, q2, rec2.handle)
		waitStats(t, q2, Stats{})
		if len(rec2.callsOf("dead-1")) != 1 {
			t.Fatal("replayed dead letter not processed")
		}
	},

	"a stored event keeps no credential header": func(t *testing.T, f fixture) {
		q := f.open(t, Options{MaxAttempts: 1})
		rec := newRecorder(func(context.Context, *Event, int) error { return errors.New("no") })
		run(t, q, rec.handle)
		sent := withCredentials(event("signed"))
		mustEnqueue(t, q, sent)
		waitStats(t, q, Stats{Dead: 1})
		if _, kept := sent.Header["Authorization"]; !kept {
			t.Error("Enqueue changed the caller's headers")
		}
		calls := rec.callsOf("signed")
		if len(calls) != 1 {
			t.Fatalf("handler called %d times, want 1", len(calls))
		}
		want := event("signed").Header
		if got := calls[0].event.Header; !reflect.DeepEqual(got, want) {
			t.Errorf("handler saw headers %v, want only %v", got, want)
		}
		dead, err := q.DeadLetters(context.Background(), 0)
		if err != nil || len(dead) != 1 {
			t.Fatalf("DeadLetters = %v, %v; want 1", dead, err)
		}
		checkNoCredentials(t, "dead letter", dead[0])
	},

	"an event stored with every header is read back without the credentials": func(t *testing.T, f fixture) {
		f.storeVerbatim(t, withCredentials(event("old-ready")), withCredentials(event("old-dead")))
		q := f.open(t, Options{})
		dead, err := q.DeadLetters(context.Background(), 0)
		if err != nil || len(dead) != 1 {
			t.Fatalf("DeadLetters = %v, %v; want the stored dead letter", dead, err)
		}
		checkNoCredentials(t, "listed dead letter", dead[0])
		if dead[0].Header["Webhook-Id"] == nil {
			t.Errorf("the dead letter lost the headers it may keep: %v", dead[0].Header)
		}
		if err := q.Replay(context.Background(), "old-dead"); err != nil {
			t.Fatalf("Replay: %v", err)
		}
		rec := newRecorder(nil)
		run(t, q, rec.handle)
		waitStats(t, q, Stats{})
		for _, id := range []string{"old-ready", "old-dead"} {
			calls := rec.callsOf(id)
			if len(calls) != 1 {
				t.Fatalf("%s: handler called %d times, want 1", id, len(calls))
			}
			checkNoCredentials(t, "processed event", &calls[0].event)
			if want := event(id).Header; !reflect.DeepEqual(calls[0].event.Header, want) {
				t.Errorf("%s: handler saw headers %v, want %v", id, calls[0].event.Header, want)
			}
		}
	},

	"purge deletes one dead letter, or all of them, and forgets their ids": func(t *testing.T, f fixture) {
		q := f.open(t, Options{MaxAttempts: 1})
		rec := newRecorder(func(context.Context, *Event, int) error { return errors.New("no") })
		run(t, q, rec.handle)
		for i, id := range []string{"p-1", "p-2", "p-3"} {
			mustEnqueue(t, q, event(id))
			waitStats(t, q, Stats{Dead: int64(i + 1)})
		}
		if err := q.Purge(context.Background(), "p-2"); err != nil {
			t.Fatalf("Purge: %v", err)
		}
		waitStats(t, q, Stats{Dead: 2})
		dead, err := q.DeadLetters(context.Background(), 0)
		if err != nil || len(dead) != 2 || dead[0].ID != "p-1" || dead[1].ID != "p-3" {
			t.Fatalf("DeadLetters after purging p-2 = %+v, %v; want p-1 and p-3", dead, err)
		}
		for _, id := range []string{"p-2", "never-seen", ""} {
			if err := q.Purge(context.Background(), id); !errors.Is(err, ErrNotFound) {
				t.Errorf("Purge(%q) = %v, want ErrNotFound", id, err)
			}
		}
		if err := q.Replay(context.Background(), "p-2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Replay of a purged dead letter = %v, want ErrNotFound", err)
		}
		// The purged id is forgotten: a new delivery with it is a new event.
		mustEnqueue(t, q, event("p-2"))
		waitStats(t, q, Stats{Dead: 3})
		if n := len(rec.callsOf("p-2")); n != 2 {
			t.Errorf("p-2 handled %d times, want 2 (before and after the purge)", n)
		}

		n, err := q.PurgeAll(context.Background())
		if err != nil || n != 3 {
			t.Fatalf("PurgeAll = %d, %v; want 3", n, err)
		}
		waitStats(t, q, Stats{})
		if dead, err := q.DeadLetters(context.Background(), 0); err != nil || len(dead) != 0 {
			t.Errorf("DeadLetters after PurgeAll = %v, %v; want none", dead, err)
		}
		if n, err := q.PurgeAll(context.Background()); err != nil || n != 0 {
			t.Errorf("second PurgeAll = %d, %v; want 0", n, err)
		}
		mustEnqueue(t, q, event("p-1"))
		waitStats(t, q, Stats{Dead: 1})
		if n := len(rec.callsOf("p-1")); n != 2 {
			t.Errorf("p-1 handled %d times, want 2 (before and after PurgeAll)", n)
		}
	},

	"Oldest is when the oldest event waiting was received, wherever it waits": func(t *testing.T, f fixture) {
		q := f.open(t, Options{MaxAttempts: 3, InitialBackoff: 300 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, Rand: maxJitter})
		base := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
		received := map[string]time.Time{"dead": base, "a": base.Add(time.Second), "b": base.Add(2 * time.Second), "c": base.Add(3 * time.Second)}
		for _, id := range []string{"b", "a", "c"} { // a, the oldest, is not the first to arrive
			e := event(id)
			e.Received = received[id]
			mustEnqueue(t, q, e)
		}
		checkOldest := func(want Stats, oldest string) {
			t.Helper()
			if got := waitStats(t, q, want); !got.Oldest.Equal(received[oldest]) {
				t.Fatalf("Stats = %+v; want Oldest %v (%s)", got, received[oldest], oldest)
			}
		}
		checkOldest(Stats{Pending: 3}, "a")

		releaseA, releaseB := make(chan struct{}), make(chan struct{})
		rec := newRecorder(func(ctx context.Context, e *Event, n int) error {
			switch {
			case e.ID == "a" && n == 1:
				return errors.New("later")
			case e.ID == "a":
				return waitOrStop(ctx, releaseA)
			case e.ID == "b":
				return waitOrStop(ctx, releaseB)
			case e.ID == "dead":
				return errors.New("never")
			}
			return nil
		})
		run(t, q, rec.handle)
		checkOldest(Stats{InFlight: 1, Delayed: 1}, "a") // a waits for its retry, b is in flight
		checkOldest(Stats{InFlight: 2}, "a")             // a is in flight again
		close(releaseA)
		checkOldest(Stats{InFlight: 1}, "b")

		dead := event("dead")
		dead.Received = received["dead"]
		mustEnqueue(t, q, dead)
		checkOldest(Stats{InFlight: 1, Dead: 1}, "b") // a dead letter waits for no delivery
		close(releaseB)
		waitStats(t, q, Stats{Dead: 1})
	},

	"run is exclusive and close ends the queue": func(t *testing.T, f fixture) {
		q := f.open(t, Options{})
		run(t, q, newRecorder(nil).handle)
		time.Sleep(20 * time.Millisecond)
		if err := q.Run(context.Background(), newRecorder(nil).handle); !errors.Is(err, ErrRunning) {
			t.Errorf("second Run = %v, want ErrRunning", err)
		}
	},
}

// waitOrStop waits until release is closed, or the queue stops (a failed test must not hold Run).
func waitOrStop(ctx context.Context, release chan struct{}) error {
	select {
	case <-release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestReceivedOf(t *testing.T) {
	received := time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))
	big := event("big")
	big.Received, big.Body = received, []byte(strings.Repeat("x", 1<<20))
	for name, tc := range map[string]struct {
		encoded []byte
		want    time.Time
	}{
		"an event with a large body": {mustEncode(t, big), received},
		"an event without received":  {[]byte(`{"id":"e","body":"eA=="}`), time.Time{}},
		"fields in another order":    {[]byte(`{"body":"eA==","header":{"A":["b"]},"received":"2025-01-02T03:04:05.000000006+01:00","id":"e"}`), received},
		"not an object":              {[]byte(`["received"]`), time.Time{}},
		"not JSON":                   {[]byte("undecodable"), time.Time{}},
	} {
		t.Run(name, func(t *testing.T) {
			got, ok := receivedOf(tc.encoded)
			if ok != !tc.want.IsZero() || !got.Equal(tc.want) {
				t.Errorf("receivedOf = %v, %v; want %v", got, ok, tc.want)
			}
		})
	}
}

func TestBehaviours(t *testing.T) {
	for kind, newFixture := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			for name, behaviour := range behaviours {
				t.Run(name, func(t *testing.T) {
					behaviour(t, newFixture(t))
				})
			}
		})
	}
}

func TestClosedQueue(t *testing.T) {
	for kind, newFixture := range kinds {
		t.Run(kind, func(t *testing.T) {
			q := newFixture(t).open(t, Options{})
			if err := q.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := q.Enqueue(context.Background(), event("late")); !errors.Is(err, ErrClosed) {
				t.Errorf("Enqueue after Close = %v, want ErrClosed", err)
			}
			if err := q.Run(context.Background(), newRecorder(nil).handle); !errors.Is(err, ErrClosed) {
				t.Errorf("Run after Close = %v, want ErrClosed", err)
			}
			if err := q.Close(); err != nil {
				t.Errorf("second Close = %v", err)
			}
		})
	}
}

// lockedBuffer is a log's output, written by the queue's workers and read by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
