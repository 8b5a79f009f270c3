package model

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// A lazy value is built once, however many read it at the same time, and its source is not kept after that.
func TestLazyBuildsOnce(t *testing.T) {
	var builds atomic.Int32
	var lazy lazy[string, int]
	lazy.setSource("src", func(src string) int {
		builds.Add(1)
		return len(src)
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := lazy.get(); got != 3 {
				t.Errorf("get() = %d, want 3", got)
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

// Headers are the ones set by hand, else the ones built from the source on first use, else none.
func TestHeaders(t *testing.T) {
	flatten := func(h http.Header) map[string]string { return map[string]string{"x": h.Get("X")} }
	byHand, fromSource, handAfterSource := &Request{}, &Request{}, &Request{}
	byHand.SetHeaders(map[string]string{"x": "hand"})
	fromSource.SetHeadersFrom(http.Header{"X": {"lazy"}}, flatten)
	handAfterSource.SetHeadersFrom(http.Header{"X": {"lazy"}}, flatten)
	handAfterSource.SetHeaders(map[string]string{"x": "hand"})
	for name, tc := range map[string]struct {
		req  *Request
		want string
	}{
		"by hand":             {byHand, "hand"},
		"lazy":                {fromSource, "lazy"},
		"by hand over a lazy": {handAfterSource, "hand"},
		"none at all":         {&Request{}, ""},
	} {
		if got := tc.req.Headers()["x"]; got != tc.want {
			t.Errorf("%s: x = %q, want %q", name, got, tc.want)
		}
	}
}

// Body is the body set by hand, else the one decoded from its text on first use.
func TestBody(t *testing.T) {
	byHand, fromText := &Request{}, &Request{}
	byHand.SetBody(map[string]any{"a": 1.0})
	fromText.SetBodyFrom(`{"a":2}`, func(text string) map[string]any { return map[string]any{"a": float64(len(text))} })
	if got := byHand.Body()["a"]; got != 1.0 {
		t.Errorf("by hand: a = %v", got)
	}
	if got := fromText.Body()["a"]; got != 7.0 {
		t.Errorf("from text: a = %v", got)
	}
	if got := (&Request{}).Body(); got != nil {
		t.Errorf("none: %v", got)
	}
}
