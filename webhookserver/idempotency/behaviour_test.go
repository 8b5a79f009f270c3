package idempotency

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testredis"
)

// backend opens stores for the behaviour tests. Stores opened in one test share their data: the same Memory
// (one process), or independent Redis clients on one redis-server (several replicas).
type backend struct {
	name string
	open func(t *testing.T) func(opts ...Option) Store
}

var backends = []backend{
	{name: "memory", open: func(t *testing.T) func(opts ...Option) Store {
		var shared Store
		return func(opts ...Option) Store {
			if shared == nil {
				m, err := NewMemory(opts...)
				shared = mustStore(t, m, err)
			}
			return shared
		}
	}},
	{name: "redis", open: func(t *testing.T) func(opts ...Option) Store {
		srv := testredis.Start(t)
		return func(opts ...Option) Store {
			r, err := NewRedis(srv.URL(), append([]Option{WithPollInterval(5 * time.Millisecond)}, opts...)...)
			return mustStore(t, r, err)
		}
	}},
}

func mustStore[S Store](t testing.TB, s S, err error) S {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// behaviours run against every backend.
var behaviours = map[string]func(t *testing.T, open func(opts ...Option) Store){
	"first processes, a later duplicate replays the stored answer": func(t *testing.T, open func(...Option) Store) {
		s := open()
		want := &Answer{
			Status: 201,
			Header: map[string][]string{"Content-Type": {"application/json"}, "Set-Cookie": {"a=1", "b=2"}, "X-Empty": {""}},
			Body:   []byte("{\"ok\":true}\x00\xff binary"),
		}
		claim := mustClaim(t, s, "delivery-1")
		if err := claim.Complete(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			assertAnswer(t, mustReplay(t, s, "delivery-1"), want)
		}
		// Another key is another request.
		mustClaim(t, s, "delivery-2").Release(t.Context())
	},

	"answers without header or body replay as such": func(t *testing.T, open func(...Option) Store) {
		s := open()
		for i, want := range []*Answer{{Status: 204}, {Status: 200, Header: map[string][]string{}, Body: []byte{}}} {
			key := "k" + strconv.Itoa(i)
			if err := mustClaim(t, s, key).Complete(t.Context(), want); err != nil {
				t.Fatal(err)
			}
			got := mustReplay(t, s, key)
			if got.Header != nil || got.Body != nil {
				t.Fatalf("%d: got header %#v body %#v, want nil", i, got.Header, got.Body)
			}
		}
	},

	"a replayed answer is the caller's own": func(t *testing.T, open func(...Option) Store) {
		s := open()
		sent := &Answer{Status: 200, Header: map[string][]string{"A": {"1"}}, Body: []byte("body")}
		if err := mustClaim(t, s, "k").Complete(t.Context(), sent); err != nil {
			t.Fatal(err)
		}
		sent.Header["A"][0], sent.Body[0] = "changed", 'X'
		got := mustReplay(t, s, "k")
		got.Header["A"] = append(got.Header["A"], "2")
		got.Header["B"] = []string{"3"}
		got.Body[0] = 'Y'
		assertAnswer(t, mustReplay(t, s, "k"), &Answer{Status: 200, Header: map[string][]string{"A": {"1"}}, Body: []byte("body")})
	},

	"after the TTL a duplicate processes again": func(t *testing.T, open func(...Option) Store) {
		const ttl = 150 * time.Millisecond
		s := open(WithTTL(ttl))
		start := time.Now()
		if err := mustClaim(t, s, "k").Complete(t.Context(), &Answer{Status: 200}); err != nil {
			t.Fatal(err)
		}
		mustReplay(t, s, "k")
		for {
			answer, claim, err := s.Begin(t.Context(), "k")
			if err != nil {
				t.Fatal(err)
			}
			if claim != nil {
				if elapsed := time.Since(start); elapsed < ttl {
					t.Fatalf("claimed again after %v, before the TTL %v", elapsed, ttl)
				}
				claim.Release(t.Context())
				return
			}
			if answer == nil || time.Since(start) > ttl+2*time.Second {
				t.Fatalf("still replaying %v after %v", answer, time.Since(start))
			}
			time.Sleep(10 * time.Millisecond)
		}
	},

	"of 50 concurrent duplicates exactly one processes and all get its answer": func(t *testing.T, open func(...Option) Store) {
		stores := []Store{open(), open()} // two replicas, for Redis
		const n = 50
		var processed atomic.Int32
		answers := make([]*Answer, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				answer, claim, err := stores[i%2].Begin(t.Context(), "same")
				if err != nil {
					errs[i] = err
					return
				}
				if claim != nil {
					processed.Add(1)
					time.Sleep(50 * time.Millisecond)
					answer = &Answer{Status: 200, Body: []byte("processed by " + strconv.Itoa(i))}
					errs[i] = claim.Complete(t.Context(), answer)
				}
				answers[i] = answer
			})
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if got := processed.Load(); got != 1 {
			t.Fatalf("processed %d times, want 1", got)
		}
		for i := range answers {
			assertAnswer(t, answers[i], answers[0])
		}
	},

	"a released claim goes to exactly one waiter, the others get its answer": func(t *testing.T, open func(...Option) Store) {
		s := open()
		first := mustClaim(t, s, "k")
		const waiters = 10
		var processed atomic.Int32
		answers := make(chan *Answer, waiters)
		errs := make(chan error, waiters)
		var wg sync.WaitGroup
		for i := range waiters {
			wg.Go(func() {
				answer, claim, err := s.Begin(t.Context(), "k")
				if err != nil {
					errs <- err
					return
				}
				if claim != nil {
					processed.Add(1)
					time.Sleep(20 * time.Millisecond)
					answer = &Answer{Status: 200, Body: []byte("waiter " + strconv.Itoa(i))}
					if err := claim.Complete(t.Context(), answer); err != nil {
						errs <- err
					}
				}
				answers <- answer
			})
		}
		time.Sleep(50 * time.Millisecond) // let the waiters wait
		if processed.Load() != 0 || len(answers) != 0 {
			t.Fatal("a waiter went ahead while the key was held")
		}
		released := time.Now()
		first.Release(t.Context())
		wg.Wait()
		if elapsed := time.Since(released); elapsed > time.Second {
			t.Fatalf("waiters took %v after the release, want them to take over at once", elapsed)
		}
		close(errs)
		close(answers)
		for err := range errs {
			t.Fatal(err)
		}
		if got := processed.Load(); got != 1 {
			t.Fatalf("%d waiters processed, want 1", got)
		}
		var want *Answer
		for a := range answers {
			if want == nil {
				want = a
			}
			assertAnswer(t, a, want)
		}
	},

	"a released claim lets the next attempt process": func(t *testing.T, open func(...Option) Store) {
		s := open()
		mustClaim(t, s, "k").Release(t.Context())
		claim := mustClaim(t, s, "k")
		if err := claim.Complete(t.Context(), &Answer{Status: 200}); err != nil {
			t.Fatal(err)
		}
	},

	"a holder that never settles loses the key after the lock TTL": func(t *testing.T, open func(...Option) Store) {
		const lockTTL = 300 * time.Millisecond
		s := open(WithLockTTL(lockTTL))
		start := time.Now()
		crashed := mustClaim(t, s, "k")

		// Before the lock TTL a duplicate waits, and gives up with its ctx.
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, _, err := s.Begin(ctx, "k")
		if !errors.Is(err, ErrInProgress) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Begin while held: got %v, want ErrInProgress and DeadlineExceeded", err)
		}

		// A waiter takes over once the lock expired.
		takeover := mustClaim(t, s, "k")
		if elapsed := time.Since(start); elapsed < lockTTL || elapsed > lockTTL+time.Second {
			t.Fatalf("took over after %v, want just after the lock TTL %v", elapsed, lockTTL)
		}
		want := &Answer{Status: 200, Body: []byte("takeover")}
		if err := takeover.Complete(t.Context(), want); err != nil {
			t.Fatal(err)
		}

		// The late holder neither overwrites the answer nor deletes it.
		if err := crashed.Complete(t.Context(), &Answer{Status: 500}); !errors.Is(err, ErrClaimLost) {
			t.Fatalf("late Complete: got %v, want ErrClaimLost", err)
		}
		if err := crashed.Complete(t.Context(), &Answer{Status: 500}); !errors.Is(err, ErrSettled) {
			t.Fatalf("Complete after a lost Complete: got %v, want ErrSettled", err)
		}
		crashed.Release(t.Context())
		assertAnswer(t, mustReplay(t, s, "k"), want)
	},

	"a holder past its lock TTL still stores its answer when nobody took the key": func(t *testing.T, open func(...Option) Store) {
		const lockTTL = 50 * time.Millisecond
		s := open(WithLockTTL(lockTTL))
		claim := mustClaim(t, s, "k")
		time.Sleep(3 * lockTTL)
		want := &Answer{Status: 200, Body: []byte("slow")}
		if err := claim.Complete(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		assertAnswer(t, mustReplay(t, s, "k"), want)
	},

	"a waiter whose ctx is cancelled gives up": func(t *testing.T, open func(...Option) Store) {
		s := open()
		claim := mustClaim(t, s, "k")
		defer claim.Release(t.Context())
		ctx, cancel := context.WithCancel(t.Context())
		result := make(chan error, 1)
		go func() {
			_, _, err := s.Begin(ctx, "k")
			result <- err
		}()
		time.Sleep(30 * time.Millisecond)
		cancel()
		select {
		case err := <-result:
			if !errors.Is(err, ErrInProgress) || !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want ErrInProgress and Canceled", err)
			}
		case <-time.After(time.Second):
			t.Fatal("waiter did not return within 1s of its ctx being cancelled")
		}
	},

	"a claim settles once": func(t *testing.T, open func(...Option) Store) {
		s := open()
		claim := mustClaim(t, s, "k")
		want := &Answer{Status: 200, Body: []byte("first")}
		if err := claim.Complete(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		if err := claim.Complete(t.Context(), &Answer{Status: 200}); !errors.Is(err, ErrSettled) {
			t.Fatalf("second Complete: got %v, want ErrSettled", err)
		}
		claim.Release(t.Context()) // after Complete: nothing
		assertAnswer(t, mustReplay(t, s, "k"), want)

		released := mustClaim(t, s, "r")
		released.Release(t.Context())
		if err := released.Complete(t.Context(), want); !errors.Is(err, ErrSettled) {
			t.Fatalf("Complete after Release: got %v, want ErrSettled", err)
		}
	},

	"Complete and Release work after the request's ctx ended": func(t *testing.T, open func(...Option) Store) {
		s := open()
		ctx, cancel := context.WithCancel(t.Context())
		completed, released := mustClaimCtx(t, s, ctx, "c"), mustClaimCtx(t, s, ctx, "r")
		cancel()
		if err := completed.Complete(ctx, &Answer{Status: 200}); err != nil {
			t.Fatal(err)
		}
		released.Release(ctx)
		mustReplay(t, s, "c")
		mustClaim(t, s, "r")
	},

	"invalid input is refused": func(t *testing.T, open func(...Option) Store) {
		s := open()
		if _, _, err := s.Begin(t.Context(), ""); !errors.Is(err, ErrEmptyKey) {
			t.Fatalf("empty key: got %v", err)
		}
		claim := mustClaim(t, s, "k")
		for _, a := range []*Answer{nil, {Status: 0}, {Status: 1000}} {
			if err := claim.Complete(t.Context(), a); err == nil {
				t.Fatalf("Complete(%v) succeeded", a)
			}
		}
		// The claim is still held and can complete.
		if err := claim.Complete(t.Context(), &Answer{Status: 200}); err != nil {
			t.Fatal(err)
		}
	},

	"keys of any length and content are distinct": func(t *testing.T, open func(...Option) Store) {
		s := open()
		keys := []string{"a", "A", "a ", string(bytes.Repeat([]byte("x"), 100_000)), "\x00\xff\n*:{}", "ключ"}
		for i, key := range keys {
			if err := mustClaim(t, s, key).Complete(t.Context(), &Answer{Status: 200 + i}); err != nil {
				t.Fatal(err)
			}
		}
		for i, key := range keys {
			if got := mustReplay(t, s, key).Status; got != 200+i {
				t.Fatalf("key %d: status %d, want %d", i, got, 200+i)
			}
		}
	},
}

func TestBehaviour(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for name, test := range behaviours {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					test(t, b.open(t))
				})
			}
		})
	}
}

func mustClaim(t testing.TB, s Store, key string) Claim {
	t.Helper()
	return mustClaimCtx(t, s, t.Context(), key)
}

func mustClaimCtx(t testing.TB, s Store, ctx context.Context, key string) Claim {
	t.Helper()
	answer, claim, err := s.Begin(ctx, key)
	if err != nil {
		t.Fatalf("Begin(%.20q): %v", key, err)
	}
	if claim == nil || answer != nil {
		t.Fatalf("Begin(%.20q): got answer %v, want a claim", key, answer)
	}
	return claim
}

func mustReplay(t testing.TB, s Store, key string) *Answer {
	t.Helper()
	answer, claim, err := s.Begin(t.Context(), key)
	if err != nil {
		t.Fatalf("Begin(%.20q): %v", key, err)
	}
	if claim != nil || answer == nil {
		t.Fatalf("Begin(%.20q): got a claim, want an answer", key)
	}
	return answer
}

func assertAnswer(t testing.TB, got, want *Answer) {
	t.Helper()
	if got == nil || got.Status != want.Status || !bytes.Equal(got.Body, want.Body) ||
		!maps.EqualFunc(got.Header, want.Header, slices.Equal[[]string]) {
		t.Fatalf("got answer %s, want %s", describe(got), describe(want))
	}
}

func describe(a *Answer) string {
	if a == nil {
		return "nil"
	}
	return fmt.Sprintf("{%d %v %q}", a.Status, a.Header, a.Body)
}
