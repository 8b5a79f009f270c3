package logging

import (
	"testing"
	"time"
)

// A line's time is what time.RFC3339Nano writes (as slog writes it), whatever second was written before it, in
// whatever location: the same instant in turn in several locations, and fractions with and without trailing
// zeros. The zero time and years slog writes otherwise have no second.
func TestLineTimesAreRFC3339Nano(t *testing.T) {
	locations := []*time.Location{time.UTC, time.Local, time.FixedZone("A", 3600), time.FixedZone("B", -(9*3600 + 30*60))}
	base := time.Date(2026, 12, 3, 23, 59, 59, 0, time.UTC)
	for _, offset := range []time.Duration{0, 1, 10, 100 * time.Millisecond, 120 * time.Microsecond, 999999999, time.Second, time.Second + 1, 24 * time.Hour} {
		for _, location := range append(locations, locations...) {
			at := base.Add(offset).In(location)
			second, ok := secondOf(at)
			if !ok {
				t.Fatalf("%v: no second", at)
			}
			if got, want := string(second.appendTime(nil, at)), at.Format(time.RFC3339Nano); got != want {
				t.Errorf("%v in %v: %s, want %s", offset, location, got, want)
			}
		}
	}
	if _, ok := secondOf(time.Time{}.Add(time.Millisecond)); !ok { // the zero time's second, kept
		t.Fatal("no second for the zero time's")
	}
	for _, at := range []time.Time{{}, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if _, ok := secondOf(at); ok {
			t.Errorf("%v: a second, want slog to write it", at)
		}
	}
}
