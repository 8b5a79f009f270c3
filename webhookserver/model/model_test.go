package model

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// A Lazy value is built once, however many read it at the same time, and its source is not kept after that.
func TestLazyBuildsOnce(t *testing.T) {
	var builds atomic.Int32
	lazy := NewLazy("src", func(src string) int {
		builds.Add(1)
		return len(src)
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := lazy.Get(); got != 3 {
				t.Errorf("Get() = %d, want 3", got)
			}
		})
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Errorf("built %d times, want once", n)
	}
	if lazy.src != "" || lazy.build != nil {
		t.Errorf("source %q kept after the build", lazy.src)
	}
}

// FlatHeaders prefers headers set by hand, else builds the lazy ones, else has none.
func TestFlatHeaders(t *testing.T) {
	flatten := func(h http.Header) map[string]string { return map[string]string{"x": h.Get("X")} }
	for name, tc := range map[string]struct {
		req  Request
		want string
	}{
		"by hand":     {Request{Headers: map[string]string{"x": "hand"}, LazyHeaders: NewLazy(http.Header{"X": {"lazy"}}, flatten)}, "hand"},
		"lazy":        {Request{LazyHeaders: NewLazy(http.Header{"X": {"lazy"}}, flatten)}, "lazy"},
		"none at all": {Request{}, ""},
	} {
		if got := tc.req.FlatHeaders()["x"]; got != tc.want {
			t.Errorf("%s: x = %q, want %q", name, got, tc.want)
		}
	}
}
