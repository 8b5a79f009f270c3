package delivery

import (
	"math"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	top := func(n int64) int64 { return n - 1 }
	bottom := func(int64) int64 { return 0 }
	tests := map[string]struct {
		attempt      int
		initial, max time.Duration
		rnd          func(int64) int64
		want         time.Duration
	}{
		"first failure waits up to initial":   {attempt: 1, initial: 10 * time.Millisecond, max: time.Second, rnd: top, want: 10 * time.Millisecond},
		"doubles per failure":                 {attempt: 3, initial: 10 * time.Millisecond, max: time.Second, rnd: top, want: 40 * time.Millisecond},
		"capped at max":                       {attempt: 10, initial: 10 * time.Millisecond, max: time.Second, rnd: top, want: time.Second},
		"full jitter reaches zero":            {attempt: 5, initial: 10 * time.Millisecond, max: time.Second, rnd: bottom, want: 0},
		"initial equal to max is constant":    {attempt: 7, initial: time.Second, max: time.Second, rnd: top, want: time.Second},
		"no overflow with huge attempt count": {attempt: 1000, initial: time.Nanosecond, max: math.MaxInt64 - 1, rnd: top, want: math.MaxInt64 - 1},
		"attempt 0 behaves as the first":      {attempt: 0, initial: 10 * time.Millisecond, max: time.Second, rnd: top, want: 10 * time.Millisecond},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Backoff(tc.attempt, tc.initial, tc.max, tc.rnd); got != tc.want {
				t.Errorf("Backoff(%d, %v, %v) = %v, want %v", tc.attempt, tc.initial, tc.max, got, tc.want)
			}
		})
	}
}

func TestBackoffJitterSpreads(t *testing.T) {
	o, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[time.Duration]bool{}
	for range 100 {
		d := Backoff(3, 100*time.Millisecond, time.Second, o.Rand)
		if d < 0 || d > 400*time.Millisecond {
			t.Fatalf("Backoff = %v, outside [0, 400ms]", d)
		}
		seen[d] = true
	}
	if len(seen) < 50 {
		t.Errorf("100 draws gave %d distinct delays: no jitter", len(seen))
	}
}

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.MaxAttempts != DefaultMaxAttempts || o.InitialBackoff != DefaultInitialBackoff || o.MaxBackoff != DefaultMaxBackoff || o.Workers != DefaultWorkers {
		t.Errorf("defaults = %+v", o)
	}
	if o, _ := (Options{InitialBackoff: time.Hour}).withDefaults(); o.MaxBackoff != time.Hour {
		t.Errorf("an initial backoff above the default max raises the max: got %v", o.MaxBackoff)
	}
	for name, bad := range map[string]Options{
		"negative workers":        {Workers: -1},
		"initial longer than max": {InitialBackoff: time.Minute, MaxBackoff: time.Second},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestTruncate(t *testing.T) {
	long := string(make([]byte, maxErrorLen-1)) + "é" // the 2-byte rune straddles the limit
	if got := truncate(long); len(got) != maxErrorLen-1 {
		t.Errorf("truncate cut to %d bytes, want %d (whole runes only)", len(got), maxErrorLen-1)
	}
	if got := truncate("short"); got != "short" {
		t.Errorf("truncate(short) = %q", got)
	}
}
