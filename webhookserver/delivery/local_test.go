package delivery

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
)

// crashHelperEnv makes the test binary run localCrashHelper instead of the tests: the crash test starts it as
// a subprocess and kills it.
const crashHelperEnv = "DELIVERY_CRASH_HELPER_QUEUE"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashHelperEnv); path != "" {
		localCrashHelper(path)
		return
	}
	redis.SetLogger(quietRedis{})
	os.Exit(m.Run())
}

// localCrashHelper opens the queue, processes events with a slow handler and enqueues crashEvents events,
// printing "acked ID" after each Enqueue that returned nil, and "start ID" / "done ID" around each handler
// call. It never exits by itself: the test kills it.
func localCrashHelper(path string) {
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	q, err := OpenLocal(path, Options{Workers: 4})
	if err != nil {
		say("error %v", err)
		os.Exit(2)
	}
	go func() {
		_ = q.Run(context.Background(), func(_ context.Context, e *Event) error {
			say("start %s", e.ID)
			time.Sleep(50 * time.Millisecond)
			say("done %s", e.ID)
			return nil
		})
	}()
	for i := range crashEvents {
		id := fmt.Sprintf("crash-%03d", i)
		if err := q.Enqueue(context.Background(), event(id)); err != nil {
			say("error %v", err)
			continue
		}
		say("acked %s", id)
	}
	select {}
}

const crashEvents = 400

// TestLocalCrash kills (SIGKILL) a process in the middle of enqueueing and processing, reopens its file, and
// checks that every event whose Enqueue returned nil is processed: by the dead process, or after the restart.
func TestLocalCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu                   sync.Mutex
		acked, started, done = map[string]bool{}, map[string]bool{}, map[string]bool{}
		ready                = make(chan struct{})
		readyOnce            sync.Once
		readerDone           = make(chan struct{})
	)
	go func() {
		defer close(readerDone)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			verb, id, _ := strings.Cut(sc.Text(), " ")
			mu.Lock()
			switch verb {
			case "acked":
				acked[id] = true
			case "start":
				started[id] = true
			case "done":
				done[id] = true
			default:
				t.Errorf("helper: %s", sc.Text())
			}
			// Kill when half the events are acknowledged and some handlers are running.
			if len(acked) >= crashEvents/2 && len(started) > len(done) {
				readyOnce.Do(func() { close(ready) })
			}
			mu.Unlock()
		}
	}()
	select {
	case <-ready:
	case <-readerDone:
		t.Fatal("the helper stopped before the kill")
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the helper did not get half way within 30s")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	<-readerDone

	mu.Lock()
	interrupted := 0
	for id := range started {
		if !done[id] {
			interrupted++
		}
	}
	t.Logf("killed with %d acked, %d started, %d done (%d handlers interrupted)", len(acked), len(started), len(done), interrupted)
	mu.Unlock()

	q, err := OpenLocal(path, Options{Workers: 4})
	if err != nil {
		t.Fatalf("reopening after the crash: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })
	s, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.InFlight != 0 || s.Pending < int64(interrupted) {
		t.Errorf("after reopening Stats = %+v: want nothing in flight and the %d interrupted events ready again", s, interrupted)
	}
	rec := newRecorder(nil)
	run(t, q, rec.handle)
	waitStats(t, q, Stats{})

	processed := rec.ids()
	mu.Lock()
	defer mu.Unlock()
	for id := range acked {
		if !done[id] && processed[id] == 0 {
			t.Errorf("%s: acknowledged but never processed", id)
		}
	}
	for id := range started {
		if !done[id] && processed[id] == 0 {
			t.Errorf("%s: interrupted mid-handler and not processed again", id)
		}
	}
	again := 0
	for id := range processed {
		if done[id] {
			again++
		}
	}
	t.Logf("after the restart %d events processed, %d of them a second time (handler done, outcome not yet committed)", len(processed), again)
}

// TestLocalExclusive checks that a second process (here a second open) cannot open the file.
func TestLocalExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	q, err := OpenLocal(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	defer func(d time.Duration) { localLockTimeout = d }(localLockTimeout)
	localLockTimeout = 200 * time.Millisecond
	start := time.Now()
	if q2, err := OpenLocal(path, Options{}); err == nil {
		_ = q2.Close()
		t.Fatal("second OpenLocal of the same file succeeded")
	} else if !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("second OpenLocal: %v, want a lock error", err)
	}
	t.Logf("the lock error came after %v", time.Since(start).Round(time.Millisecond))
}

// TestLocalUndecodable checks that bytes that are not an event go to the dead letters instead of blocking or
// vanishing.
func TestLocalUndecodable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	q, err := OpenLocal(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = q.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketReady).Put(seqKey(999), []byte("not json")) })
	_ = db.Close()
	if err != nil {
		t.Fatal(err)
	}

	q, err = OpenLocal(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	rec := newRecorder(nil)
	run(t, q, rec.handle)
	mustEnqueue(t, q, event("good"))
	waitStats(t, q, Stats{Dead: 1})
	dead, err := q.DeadLetters(context.Background(), 0)
	if err != nil || len(dead) != 1 || !strings.HasPrefix(dead[0].ID, "undecodable-") || string(dead[0].Body) != "not json" {
		t.Fatalf("DeadLetters = %+v, %v; want the raw bytes kept", dead, err)
	}
	if len(rec.callsOf("good")) != 1 {
		t.Error("the good event behind it was not processed")
	}
	if err := q.Replay(context.Background(), dead[0].ID); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	waitStats(t, q, Stats{})
	if calls := rec.callsOf(dead[0].ID); len(calls) != 1 || string(calls[0].event.Body) != "not json" {
		t.Errorf("replayed undecodable entry: calls %+v", calls)
	}
}

// TestLocalRunAfterRun checks that a second Run in the same process picks up what the first left in flight.
func TestLocalRunAfterRun(t *testing.T) {
	q, err := OpenLocal(filepath.Join(t.TempDir(), "queue.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	started := make(chan struct{}, 1)
	stop := run(t, q, func(ctx context.Context, _ *Event) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	})
	mustEnqueue(t, q, event("again"))
	<-started
	stop()
	rec := newRecorder(nil)
	run(t, q, rec.handle)
	waitStats(t, q, Stats{})
	if len(rec.callsOf("again")) != 1 {
		t.Fatal("the event the first Run left in flight was not processed by the second")
	}
}

// TestLocalCloseStopsRun checks that Close under a running Run makes it return ErrClosed instead of hanging.
func TestLocalCloseStopsRun(t *testing.T) {
	q, err := OpenLocal(filepath.Join(t.TempDir(), "queue.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- q.Run(context.Background(), newRecorder(nil).handle) }()
	time.Sleep(20 * time.Millisecond)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Run = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}

// TestLocalDelayedUsesATimer checks that a delayed event costs no work while it waits (no polling), and is
// made ready at its due time.
func TestLocalDelayedUsesATimer(t *testing.T) {
	q, err := OpenLocal(filepath.Join(t.TempDir(), "queue.db"), withTestLogger(t, Options{InitialBackoff: 500 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Rand: maxJitter}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	rec := newRecorder(func(_ context.Context, _ *Event, n int) error {
		if n == 1 {
			return errors.New("later")
		}
		return nil
	})
	run(t, q, rec.handle)
	mustEnqueue(t, q, event("timer"))
	waitStats(t, q, Stats{Delayed: 1})
	time.Sleep(30 * time.Millisecond) // the promoter reads the new due time once, then sleeps
	before := q.db.Stats()
	time.Sleep(300 * time.Millisecond)
	after := q.db.Stats()
	// At most the promoter's one read of the due time, if it was scheduled late.
	if reads, writes := after.TxN-before.TxN, after.TxStats.GetWrite()-before.TxStats.GetWrite(); reads > 1 || writes != 0 {
		t.Errorf("%d read and %d write transactions while the only event waited: polling", reads, writes)
	}
	waitStats(t, q, Stats{})
	calls := rec.callsOf("timer")
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
	if gap := calls[1].at.Sub(calls[0].at); gap < 500*time.Millisecond || gap > 2*time.Second {
		t.Errorf("retried %v after the failure, want about the 500ms backoff", gap)
	}
}

// TestLocalSyncsBeforeEnqueueReturns: an Async endpoint answers 202 when Enqueue returns, so Enqueue must return
// only after its transaction was written and fsynced. bbolt fsyncs every commit unless the DB is in NoSync mode
// (the option, or the field set after opening): the queue must never be, and its writes must be done (counted in
// the DB's statistics, which a commit updates after its fsync) when Enqueue returns.
func TestLocalSyncsBeforeEnqueueReturns(t *testing.T) {
	q, err := OpenLocal(filepath.Join(t.TempDir(), "queue.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	if q.db.NoSync {
		t.Fatal("the queue's bbolt file is in NoSync mode: a 202 would not mean the event is on disk")
	}
	if q.db.NoGrowSync {
		t.Error("the queue's bbolt file skips the fsync when it grows: a 202 would not mean the event is on disk")
	}
	if q.db.IsReadOnly() {
		t.Fatal("the queue's bbolt file is read-only")
	}
	for i := range 3 {
		stats := q.db.Stats()
		before := stats.TxStats.GetWrite()
		if err := q.Enqueue(context.Background(), event(fmt.Sprintf("sync-%d", i))); err != nil {
			t.Fatal(err)
		}
		stats = q.db.Stats()
		if after := stats.TxStats.GetWrite(); after <= before {
			t.Fatalf("Enqueue %d returned before its transaction wrote the file (writes %d, then %d)", i, before, after)
		}
	}
}
