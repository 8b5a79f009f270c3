package delivery

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testredis"
)

func newTestRedis(t *testing.T, s *testredis.Server, consumer string, o Options) *Redis {
	t.Helper()
	ro := testRedisOptions(withTestLogger(t, o))
	ro.Consumer = consumer
	q, err := NewRedis(s.URL(), ro)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// TestRedisReclaimFromStoppedConsumer: a consumer takes events and stops without settling them (as a crash
// would leave them); another consumer reclaims them with XAUTOCLAIM once they are MinIdle old, not before.
func TestRedisReclaimFromStoppedConsumer(t *testing.T) {
	s := testredis.Start(t)
	a := newTestRedis(t, s, "a", Options{Workers: 5})
	started := make(chan string, 5)
	stopA := run(t, a, func(ctx context.Context, e *Event) error {
		started <- e.ID
		<-ctx.Done()
		return ctx.Err()
	})
	for i := range 5 {
		mustEnqueue(t, a, event(fmt.Sprintf("r-%d", i)))
	}
	for range 5 {
		<-started
	}
	stopA()
	stoppedAt := time.Now()
	if st, err := a.Stats(context.Background()); err != nil || counts(st) != (Stats{InFlight: 5}) {
		t.Fatalf("after A stopped Stats = %+v, %v; want 5 in flight", st, err)
	}

	b := newTestRedis(t, s, "b", Options{})
	rec := newRecorder(nil)
	run(t, b, rec.handle)
	waitStats(t, b, Stats{})
	ids := rec.ids()
	if len(ids) != 5 {
		t.Fatalf("B processed %v, want the 5 events A held", ids)
	}
	minIdle := testRedisOptions(Options{}).MinIdle
	for id, n := range ids {
		if n != 1 {
			t.Errorf("%s processed %d times by B", id, n)
		}
		// A refreshed its events about MinIdle/3 before it stopped (later if its ticker ran late): B must
		// not take them at once.
		if at := rec.callsOf(id)[0].at.Sub(stoppedAt); at < minIdle/3 {
			t.Errorf("%s reclaimed %v after A stopped, before it was MinIdle (%v) idle", id, at, minIdle)
		}
	}
}

// TestRedisSlowHandlerNotReclaimed: a handler that runs longer than MinIdle keeps its events (the consumer
// refreshes them), so a second consumer does not process them again.
func TestRedisSlowHandlerNotReclaimed(t *testing.T) {
	s := testredis.Start(t)
	minIdle := testRedisOptions(Options{}).MinIdle
	rec := newRecorder(func(context.Context, *Event, int) error {
		time.Sleep(3 * minIdle)
		return nil
	})
	a := newTestRedis(t, s, "a", Options{Workers: 2})
	b := newTestRedis(t, s, "b", Options{Workers: 2})
	run(t, a, rec.handle)
	run(t, b, rec.handle)
	for i := range 4 {
		mustEnqueue(t, a, event(fmt.Sprintf("slow-%d", i)))
	}
	waitStats(t, a, Stats{})
	time.Sleep(minIdle)
	for i := range 4 {
		if n := len(rec.callsOf(fmt.Sprintf("slow-%d", i))); n != 1 {
			t.Errorf("slow-%d processed %d times, want 1", i, n)
		}
	}
}

// TestRedisRestartMidLoad restarts Redis (SIGKILL, then start on the same append-only file) while events are
// enqueued and processed: every event whose Enqueue returned nil is processed, and Enqueue fails fast while
// Redis is down.
func TestRedisRestartMidLoad(t *testing.T) {
	s := testredis.Start(t)
	q := newTestRedis(t, s, "worker", Options{Workers: 4})
	q.opts.MinIdle = 5 * time.Second // one consumer: nothing to reclaim
	rec := newRecorder(nil)
	run(t, q, rec.handle)

	var (
		mu       sync.Mutex
		acked    []string
		failures int
		slowest  time.Duration
	)
	ctx, stopProducer := context.WithCancel(context.Background())
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; ctx.Err() == nil; i++ {
			id := fmt.Sprintf("load-%05d", i)
			start := time.Now()
			err := q.Enqueue(context.Background(), event(id))
			took := time.Since(start)
			mu.Lock()
			if err == nil {
				acked = append(acked, id)
			} else {
				failures++
				slowest = max(slowest, took)
			}
			mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	s.Kill()
	time.Sleep(400 * time.Millisecond)
	s.Restart()
	time.Sleep(300 * time.Millisecond)
	stopProducer()
	<-produced

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d events acknowledged, %d Enqueue calls failed while Redis was down (slowest failure %v)", len(acked), failures, slowest)
	if failures == 0 {
		t.Error("no Enqueue failed while Redis was down: the test did not exercise the outage")
	}
	if slowest >= time.Second {
		t.Errorf("a failing Enqueue took %v, want under 1s", slowest)
	}
	waitFor(t, 20*time.Second, func() bool {
		processed := rec.ids()
		for _, id := range acked {
			if processed[id] == 0 {
				return false
			}
		}
		return true
	}, "all %d acknowledged events to be processed", len(acked))
	waitStats(t, q, Stats{})
	dup := 0
	for _, n := range rec.ids() {
		if n > 1 {
			dup++
		}
	}
	t.Logf("%d events processed, %d more than once", len(rec.ids()), dup)
}

// TestRedisDown: with Redis down, Enqueue and Stats fail within the timeout, Run waits with a backoff instead
// of spinning, and everything resumes when Redis is back.
func TestRedisDown(t *testing.T) {
	s := testredis.Start(t)
	q := newTestRedis(t, s, "worker", Options{})
	var dials atomic.Int64
	q.client.AddHook(dialCounter{&dials})
	rec := newRecorder(nil)
	run(t, q, rec.handle)
	mustEnqueue(t, q, event("before"))
	waitStats(t, q, Stats{})

	s.Kill()
	time.Sleep(50 * time.Millisecond)
	dials.Store(0)
	start := time.Now()
	err := q.Enqueue(context.Background(), event("during"))
	if took := time.Since(start); err == nil || took >= time.Second {
		t.Fatalf("Enqueue with Redis down = %v after %v, want an error within 1s", err, took)
	}
	if _, err := q.Stats(context.Background()); err == nil {
		t.Error("Stats with Redis down succeeded")
	}
	if err := q.Ping(context.Background()); err == nil {
		t.Error("Ping with Redis down succeeded")
	}
	time.Sleep(time.Second)
	// Run's loops (reader, promoter) back off from 50ms to 2s: a handful of dials per second, not thousands.
	if n := dials.Load(); n > 60 {
		t.Errorf("%d connection attempts in 1s while Redis was down: Run is spinning", n)
	} else {
		t.Logf("%d connection attempts in the 1s Redis was down", n)
	}

	s.Restart()
	waitFor(t, 10*time.Second, func() bool { return q.Enqueue(context.Background(), event("after")) == nil }, "Enqueue to work again")
	waitFor(t, 10*time.Second, func() bool { return len(rec.callsOf("after")) == 1 }, "the same Run to process again")
	if len(rec.callsOf("during")) != 0 {
		// Possible in principle (the write reached Redis, the answer did not), but not with a dead server.
		t.Error("an event whose Enqueue failed against a dead server was processed")
	}
}

type dialCounter struct{ n *atomic.Int64 }

func (d dialCounter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.n.Add(1)
		return next(ctx, network, addr)
	}
}
func (dialCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (dialCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestRedisDataLost: when Redis loses everything (no persistence, FLUSHALL), Run recreates the consumer group
// and goes on.
func TestRedisDataLost(t *testing.T) {
	s := testredis.Start(t)
	q := newTestRedis(t, s, "worker", Options{})
	rec := newRecorder(nil)
	run(t, q, rec.handle)
	mustEnqueue(t, q, event("one"))
	waitStats(t, q, Stats{})
	if err := q.client.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, q, event("two"))
	waitFor(t, 10*time.Second, func() bool { return len(rec.callsOf("two")) == 1 }, "the event after the flush")
}

// TestRedisUndecodable: a stream entry that is not an event goes to the dead letters with its bytes.
func TestRedisUndecodable(t *testing.T) {
	s := testredis.Start(t)
	q := newTestRedis(t, s, "worker", Options{})
	if err := q.client.XAdd(context.Background(), &redis.XAddArgs{Stream: q.keys.stream, Values: []string{"e", "garbage"}}).Err(); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(nil)
	run(t, q, rec.handle)
	mustEnqueue(t, q, event("good"))
	waitStats(t, q, Stats{Dead: 1})
	dead, err := q.DeadLetters(context.Background(), 0)
	if err != nil || len(dead) != 1 || !strings.HasPrefix(dead[0].ID, "undecodable-") || string(dead[0].Body) != "garbage" {
		t.Fatalf("DeadLetters = %+v, %v; want the raw entry kept", dead, err)
	}
	if len(rec.callsOf("good")) != 1 {
		t.Error("the good event behind it was not processed")
	}
}

// TestRedisKeys pins the documented layout.
func TestRedisKeys(t *testing.T) {
	s := testredis.Start(t)
	q := newTestRedis(t, s, "worker", Options{MaxAttempts: 1, InitialBackoff: time.Hour, MaxBackoff: time.Hour})
	mustEnqueue(t, q, event("k"))
	c := q.client
	ctx := context.Background()
	if typ, _ := c.Type(ctx, "test:{bot}:stream").Result(); typ != "stream" {
		t.Errorf("stream key type %q", typ)
	}
	if ok, _ := c.SIsMember(ctx, "test:{bot}:ids", "k").Result(); !ok {
		t.Error("id not in test:{bot}:ids")
	}
	run(t, q, func(context.Context, *Event) error { return fmt.Errorf("no") })
	waitStats(t, q, Stats{Dead: 1})
	if v, _ := c.HGet(ctx, "test:{bot}:dead", "k").Result(); !strings.Contains(v, `"attempts":1`) {
		t.Errorf("dead hash entry %q", v)
	}
	if score, err := c.ZScore(ctx, "test:{bot}:dead:index", "k").Result(); err != nil || score <= 0 {
		t.Errorf("dead index score %v, %v", score, err)
	}
}

// TestRedisSameConsumerResumes: a process that comes back with the same consumer name (a StatefulSet pod)
// reads its own pending events at once instead of waiting MinIdle for a reclaim.
func TestRedisSameConsumerResumes(t *testing.T) {
	s := testredis.Start(t)
	a := newTestRedis(t, s, "pod-0", Options{})
	a.opts.MinIdle, a.opts.ClaimInterval = time.Minute, time.Minute
	started := make(chan struct{}, 1)
	stop := run(t, a, func(ctx context.Context, _ *Event) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	})
	mustEnqueue(t, a, event("mine"))
	<-started
	stop()
	_ = a.Close()

	again := newTestRedis(t, s, "pod-0", Options{})
	again.opts.MinIdle, again.opts.ClaimInterval = time.Minute, time.Minute
	rec := newRecorder(nil)
	begin := time.Now()
	run(t, again, rec.handle)
	waitFor(t, 5*time.Second, func() bool { return len(rec.callsOf("mine")) == 1 }, "the pending event")
	t.Logf("resumed after %v (MinIdle is a minute)", time.Since(begin).Round(time.Millisecond))
	waitStats(t, again, Stats{})
}

func TestCeilMilli(t *testing.T) {
	base := time.UnixMilli(1_700_000_000_123)
	for in, want := range map[time.Time]int64{
		base:                      1_700_000_000_123,
		base.Add(time.Nanosecond): 1_700_000_000_124,
		base.Add(999_999):         1_700_000_000_124,
	} {
		if got := ceilMilli(in); got != want {
			t.Errorf("ceilMilli(%v) = %d, want %d", in, got, want)
		}
	}
}
