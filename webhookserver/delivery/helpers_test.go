package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testredis"
)

// fixture opens queues of one kind on the same data.
type fixture interface {
	// open returns a new queue, closed when the test ends.
	open(t *testing.T, o Options) Queue
	// reopen closes q and returns a queue on the same data as a new process would see it: Local reopens the
	// file, Redis opens a new consumer on the same keys.
	reopen(t *testing.T, q Queue, o Options) Queue
	// storeVerbatim writes a ready and a dead event straight into the store, every field as given, the way an
	// older version stored them. Call it before open.
	storeVerbatim(t *testing.T, ready, dead *Event)
}

// kinds are the queues the shared behaviour table runs on.
var kinds = map[string]func(t *testing.T) fixture{
	"Local": func(t *testing.T) fixture { return &localFixture{path: filepath.Join(t.TempDir(), "queue.db")} },
	"Redis": func(t *testing.T) fixture { return &redisFixture{server: testredis.Start(t)} },
}

type localFixture struct{ path string }

func (f *localFixture) open(t *testing.T, o Options) Queue {
	t.Helper()
	q, err := OpenLocal(f.path, withTestLogger(t, o))
	if err != nil {
		t.Fatalf("OpenLocal: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func (f *localFixture) reopen(t *testing.T, q Queue, o Options) Queue {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return f.open(t, o)
}

func (f *localFixture) storeVerbatim(t *testing.T, ready, dead *Event) {
	t.Helper()
	q, err := OpenLocal(f.path, Options{}) // creates the buckets
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(f.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		if err := putReady(tx, []byte(ready.ID), mustEncode(t, ready)); err != nil {
			return err
		}
		return putDead(tx, []byte(dead.ID), mustEncode(t, dead))
	})
	if err != nil {
		t.Fatal(err)
	}
}

type redisFixture struct {
	server    *testredis.Server
	consumers int
}

// testRedisOptions are short timings, so that reclaiming and promoting happen within a test.
func testRedisOptions(o Options) RedisOptions {
	return RedisOptions{
		Options: o, Prefix: "test:{bot}", MinIdle: 300 * time.Millisecond, Block: 50 * time.Millisecond,
		PollInterval: 50 * time.Millisecond, Timeout: 500 * time.Millisecond,
	}
}

func (f *redisFixture) open(t *testing.T, o Options) Queue {
	t.Helper()
	f.consumers++
	ro := testRedisOptions(withTestLogger(t, o))
	ro.Consumer = fmt.Sprintf("consumer-%d", f.consumers)
	q, err := NewRedis(f.server.URL(), ro)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func (f *redisFixture) reopen(t *testing.T, q Queue, o Options) Queue {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return f.open(t, o)
}

func (f *redisFixture) storeVerbatim(t *testing.T, ready, dead *Event) {
	t.Helper()
	o, err := redis.ParseURL(f.server.URL())
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(o)
	defer client.Close()
	prefix, ctx := testRedisOptions(Options{}).Prefix, context.Background()
	_, err = client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: prefix + ":stream", Values: []string{"e", string(mustEncode(t, ready))}})
		p.HSet(ctx, prefix+":dead", dead.ID, string(mustEncode(t, dead)))
		p.ZAdd(ctx, prefix+":dead:index", redis.Z{Score: float64(time.Now().UnixMilli()), Member: dead.ID})
		p.SAdd(ctx, prefix+":ids", ready.ID, dead.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustEncode(t *testing.T, e *Event) []byte {
	t.Helper()
	b, err := encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withTestLogger sends the queue's log to the test's output.
func withTestLogger(t *testing.T, o Options) Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	return o
}

// quietRedis drops go-redis's own log lines (dial failures while a test has Redis down).
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// maxJitter makes the backoff deterministic: always the ceiling.
func maxJitter(n int64) int64 { return n - 1 }

// credentialHeaders are headers no stored event may keep, each with a value a test can look for.
var credentialHeaders = map[string][]string{
	"Authorization":         {"Bearer tok-authorization-0123456789"},
	"Proxy-Authorization":   {"Basic tok-proxy-0123456789"},
	"Cookie":                {"session=tok-cookie-0123456789"},
	"Webhook-Signature":     {"v1,tok-standard-webhooks-0123456789"},
	"X-Hub-Signature-256":   {"sha256=tok-github-0123456789"},
	"X-Hub-Signature":       {"sha1=tok-github-sha1-0123456789"},
	"Stripe-Signature":      {"t=1,v1=tok-stripe-0123456789"},
	"X-Slack-Signature":     {"v0=tok-slack-0123456789"},
	"X-Shopify-Hmac-Sha256": {"tok-shopify-0123456789"},
	"X-Webhook-Token":       {"tok-custom-bearer-0123456789"},
	"X-Signature":           {"sha256=tok-generic-hmac-0123456789"},
}

// withCredentials is e with every credential header added, as the request that carried it had them.
func withCredentials(e *Event) *Event {
	header := map[string][]string{}
	for name, values := range e.Header {
		header[name] = values
	}
	for name, values := range credentialHeaders {
		header[name] = values
	}
	e.Header = header
	return e
}

// checkNoCredentials fails when e holds a credential header or any value of one.
func checkNoCredentials(t *testing.T, where string, e *Event) {
	t.Helper()
	for name, values := range e.Header {
		if _, isCredential := credentialHeaders[name]; isCredential {
			t.Errorf("%s: event %s keeps the %s header", where, e.ID, name)
		}
		for _, value := range values {
			if strings.Contains(value, "tok-") {
				t.Errorf("%s: event %s keeps a credential value under %s", where, e.ID, name)
			}
		}
	}
}

// event is a typical queued request.
func event(id string) *Event {
	return &Event{
		ID: id, Endpoint: "default/bot", Method: "POST",
		Header: map[string][]string{"Content-Type": {"application/json"}, "Webhook-Id": {id}},
		Query:  "lang=en", Body: []byte(`{"event":"order.created","id":"` + id + `"}`),
	}
}

// call is one handler invocation as the recorder saw it.
type call struct {
	at    time.Time
	event Event
}

// recorder is a handler that records its calls; behave decides the outcome of the n-th call for an ID.
type recorder struct {
	behave func(ctx context.Context, e *Event, n int) error

	mu     sync.Mutex
	calls  map[string][]call
	total  atomic.Int64
	active atomic.Int64
	peak   atomic.Int64
}

func newRecorder(behave func(ctx context.Context, e *Event, n int) error) *recorder {
	return &recorder{behave: behave, calls: map[string][]call{}}
}

func (r *recorder) handle(ctx context.Context, e *Event) error {
	a := r.active.Add(1)
	defer r.active.Add(-1)
	for p := r.peak.Load(); a > p && !r.peak.CompareAndSwap(p, a); p = r.peak.Load() {
	}
	r.mu.Lock()
	r.calls[e.ID] = append(r.calls[e.ID], call{at: time.Now(), event: *e})
	n := len(r.calls[e.ID])
	r.mu.Unlock()
	r.total.Add(1)
	if r.behave != nil {
		return r.behave(ctx, e, n)
	}
	return nil
}

func (r *recorder) callsOf(id string) []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls[id]...)
}

func (r *recorder) ids() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.calls))
	for id, c := range r.calls {
		out[id] = len(c)
	}
	return out
}

// run starts q.Run in the background; the returned stop (also run at cleanup) cancels it and checks that it
// returns nil promptly.
func run(t *testing.T, q Queue, h Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return within 10s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for "+format, append([]any{timeout}, args...)...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitStats waits until the queue's counts are want, with Oldest set exactly when events wait, and returns
// the stats that matched.
func waitStats(t *testing.T, q Queue, want Stats) Stats {
	t.Helper()
	var got Stats
	waitFor(t, 10*time.Second, func() bool {
		var err error
		got, err = q.Stats(context.Background())
		waiting := want.Pending+want.InFlight+want.Delayed > 0
		return err == nil && counts(got) == want && got.Oldest.IsZero() != waiting
	}, "stats %+v (last %+v)", want, &got)
	return got
}

// counts is s without Oldest, to compare counts.
func counts(s Stats) Stats {
	s.Oldest = time.Time{}
	return s
}

func mustEnqueue(t *testing.T, q Queue, e *Event) {
	t.Helper()
	if err := q.Enqueue(context.Background(), e); err != nil {
		t.Fatalf("Enqueue(%s): %v", e.ID, err)
	}
}
