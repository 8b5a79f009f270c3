package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testredis"
)

func newTestRedis(t testing.TB, url string, opts ...Option) *Redis {
	t.Helper()
	r, err := NewRedis(url, opts...)
	return mustStore(t, r, err)
}

// rawClient reads what the store wrote.
func rawClient(t testing.TB, srv *testredis.Server) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisKeysAndRecords(t *testing.T) {
	srv := testredis.Start(t)
	prefix := KeyPrefix("bots", "orders")
	s := newTestRedis(t, srv.URL(), WithPrefix(prefix), WithTTL(time.Hour), WithLockTTL(10*time.Second))
	raw := rawClient(t, srv)
	sum := sha256.Sum256([]byte("delivery-1"))
	key := "fulfillment:idem:bots/orders:" + hex.EncodeToString(sum[:])

	claim := mustClaim(t, s, "delivery-1")
	rec, err := raw.Get(t.Context(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(rec) != 33 || rec[0] != 'P' {
		t.Fatalf("claim record %q, want P and 32 hex digits", rec)
	}
	if ttl := raw.PTTL(t.Context(), key).Val(); ttl <= 9*time.Second || ttl > 10*time.Second {
		t.Fatalf("claim expires in %v, want the lock TTL 10s", ttl)
	}

	want := &Answer{Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{}`)}
	if err := claim.Complete(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	rec = raw.Get(t.Context(), key).Val()
	if encoded, _ := encodeAnswer(want); rec != encoded {
		t.Fatalf("answer record %q, want %q", rec, encoded)
	}
	if ttl := raw.PTTL(t.Context(), key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("answer expires in %v, want the TTL 1h", ttl)
	}
	if keys := raw.Keys(t.Context(), "*").Val(); len(keys) != 1 {
		t.Fatalf("keys %q, want only %q", keys, key)
	}
}

func TestRedisUnknownRecordIsUnavailable(t *testing.T) {
	srv := testredis.Start(t)
	s := newTestRedis(t, srv.URL())
	sum := sha256.Sum256([]byte("k"))
	raw := rawClient(t, srv)
	for _, rec := range []string{"something else", "A\x01"} {
		raw.Set(t.Context(), DefaultPrefix+hex.EncodeToString(sum[:]), rec, 0)
		if _, _, err := s.Begin(t.Context(), "k"); !errors.Is(err, ErrUnavailable) || !errors.Is(err, errCorruptRecord) {
			t.Fatalf("record %q: got %v, want ErrUnavailable with errCorruptRecord", rec, err)
		}
	}
}

// TestRedisDownAndBack kills Redis: every call fails with ErrUnavailable quickly, claimers and waiters alike;
// then restarts it (the AOF keeps the data): the same store works again and finds what it stored.
func TestRedisDownAndBack(t *testing.T) {
	srv := testredis.Start(t)
	s := newTestRedis(t, srv.URL(), WithPollInterval(5*time.Millisecond))
	stored := &Answer{Status: 200, Body: []byte("stored before the crash")}
	if err := mustClaim(t, s, "stored").Complete(t.Context(), stored); err != nil {
		t.Fatal(err)
	}
	held := mustClaim(t, s, "held")
	waiter := make(chan error, 1)
	go func() {
		_, _, err := s.Begin(t.Context(), "held")
		waiter <- err
	}()
	time.Sleep(30 * time.Millisecond)

	srv.Kill()
	killed := time.Now()
	select {
	case err := <-waiter:
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("waiter: got %v, want ErrUnavailable", err)
		}
		t.Logf("waiter failed after %v: %v", time.Since(killed), err)
	case <-time.After(2 * time.Second):
		t.Fatal("waiter still waiting 2s after Redis died")
	}
	for _, call := range []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"Begin", func(ctx context.Context) error { _, _, err := s.Begin(ctx, "new"); return err }},
		{"Begin stored", func(ctx context.Context) error { _, _, err := s.Begin(ctx, "stored"); return err }},
		{"Complete", func(ctx context.Context) error { return held.Complete(ctx, &Answer{Status: 200}) }},
	} {
		for range 3 { // the first calls dial; later ones find the pool's dial breaker open
			start := time.Now()
			err := call.run(context.Background()) // no deadline: the store's own timeouts must bound it
			elapsed := time.Since(start)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("%s with Redis down: got %v, want ErrUnavailable", call.name, err)
			}
			if elapsed > 2*time.Second {
				t.Fatalf("%s took %v with Redis down, want < 2s", call.name, elapsed)
			}
			t.Logf("%s failed after %v: %v", call.name, elapsed, err)
		}
	}
	// A caller's deadline shorter than the store's timeouts wins.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, _, err := s.Begin(ctx, "new"); err == nil || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("Begin with a 20ms deadline: %v after %v", err, time.Since(start))
	}

	srv.Restart()
	restarted := time.Now()
	// The client reconnects by itself (its dial breaker probes once a second).
	var answer *Answer
	for {
		var err error
		answer, _, err = s.Begin(t.Context(), "stored")
		if err == nil {
			break
		}
		if !errors.Is(err, ErrUnavailable) || time.Since(restarted) > 5*time.Second {
			t.Fatalf("after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("store usable %v after the restart", time.Since(restarted))
	assertAnswer(t, answer, stored)
	// The claim taken before the crash survived it, and its holder can still complete.
	if err := held.Complete(t.Context(), &Answer{Status: 202}); err != nil {
		t.Fatal(err)
	}
	if got := mustReplay(t, s, "held"); got.Status != 202 {
		t.Fatalf("status %d, want 202", got.Status)
	}
	mustClaim(t, s, "new")
}

// TestRedisReplicas runs two stores on one Redis, as two server processes would: duplicates spread over
// both are processed once.
func TestRedisReplicas(t *testing.T) {
	srv := testredis.Start(t)
	replicas := []*Redis{newTestRedis(t, srv.URL()), newTestRedis(t, srv.URL())}
	const keys, duplicates = 20, 6
	var processed [keys]atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, keys*duplicates)
	for k := range keys {
		for d := range duplicates {
			wg.Go(func() {
				key := "delivery-" + string(rune('a'+k))
				answer, claim, err := replicas[d%2].Begin(t.Context(), key)
				switch {
				case err != nil:
					errs <- err
				case claim != nil:
					processed[k].Add(1)
					time.Sleep(10 * time.Millisecond)
					errs <- claim.Complete(t.Context(), &Answer{Status: 200, Body: []byte(key)})
				case string(answer.Body) != key:
					errs <- errors.New("wrong answer " + string(answer.Body) + " for " + key)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for k := range processed {
		if n := processed[k].Load(); n != 1 {
			t.Fatalf("key %d processed %d times, want 1", k, n)
		}
	}
}

// TestRedisStalled points the store at a server that accepts connections and never answers (a hung Redis,
// or a proxy whose backend is gone): calls fail with ErrUnavailable within the operation timeout.
func TestRedisStalled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_, _ = io.Copy(io.Discard, conn)
			}()
		}
	}()
	s := newTestRedis(t, "redis://"+l.Addr().String()+"/0")
	for range 2 {
		start := time.Now()
		_, _, err := s.Begin(context.Background(), "k")
		elapsed := time.Since(start)
		if !errors.Is(err, ErrUnavailable) || elapsed > 2*time.Second {
			t.Fatalf("got %v after %v, want ErrUnavailable within 2s", err, elapsed)
		}
		t.Logf("failed after %v: %v", elapsed, err)
	}
	claim := &redisClaim{s: s, key: "k", token: newToken()}
	start := time.Now()
	if err := claim.Complete(t.Context(), &Answer{Status: 200}); !errors.Is(err, ErrUnavailable) || time.Since(start) > 2*time.Second {
		t.Fatalf("Complete: got %v after %v, want ErrUnavailable within 2s", err, time.Since(start))
	}
	start = time.Now()
	claim.Release(t.Context())
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Fatalf("Release took %v", elapsed)
	}
}

func TestNewRedisURL(t *testing.T) {
	for _, url := range []string{
		"redis://localhost:6379/0",
		"redis://:secret@localhost:6379/2",
		"redis://user:secret@localhost:6379/1?dial_timeout=1s&read_timeout=2s",
		"rediss://user:secret@redis.example:6380/0",
		"unix:///run/redis.sock?db=3",
	} {
		s, err := NewRedis(url)
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		o := s.client.Options()
		if strings.HasPrefix(url, "rediss:") != (o.TLSConfig != nil) {
			t.Errorf("%s: TLS %v", url, o.TLSConfig != nil)
		}
		if strings.Contains(url, "read_timeout=2s") != (o.ReadTimeout == 2*time.Second) {
			t.Errorf("%s: read timeout %v", url, o.ReadTimeout)
		}
		if !o.ContextTimeoutEnabled || o.DialTimeout > time.Second || o.PoolTimeout > time.Second {
			t.Errorf("%s: timeouts %+v", url, o)
		}
		_ = s.Close()
	}
	for _, url := range []string{"http://user:secret@localhost", "redis://user:secret@local host:1/0", "redis://:secret@localhost/notanumber", ""} {
		_, err := NewRedis(url)
		if err == nil {
			t.Fatalf("%q: no error", url)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("%q: error shows the password: %v", url, err)
		}
	}
}

func TestRedisClosed(t *testing.T) {
	srv := testredis.Start(t)
	s := newTestRedis(t, srv.URL())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Begin(t.Context(), "k"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Begin after Close: got %v, want ErrUnavailable", err)
	}
}
