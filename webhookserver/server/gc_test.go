package server

import (
	"errors"
	"io"
	"log/slog"
	"runtime/debug"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
)

// gcPercentSource records the GC's target percent while it loads.
type gcPercentSource struct{ during int }

func (s *gcPercentSource) Load() (*config.File, config.SecretSource, error) {
	s.during = currentGCPercent()
	return nil, nil, errors.New("nothing to load")
}
func (s *gcPercentSource) Fingerprint() (string, error) { return "fixed", nil }
func (s *gcPercentSource) Describe() string             { return "test source" }

func currentGCPercent() int {
	percent := debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	return percent
}

// A load runs at loadGCPercent, to bound the peak memory of its garbage, and the process's own setting comes
// back after it; a lower setting or GOGC=off is left alone.
func TestLoadLowersTheGCPercentForItsDuration(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct{ process, during int }{{100, loadGCPercent}, {300, loadGCPercent}, {20, 20}, {-1, -1}} {
		debug.SetGCPercent(tc.process)
		source := &gcPercentSource{}
		if _, err := New(Options{Source: source, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err == nil {
			t.Fatal("the failing source was accepted")
		}
		if source.during != tc.during {
			t.Errorf("GOGC %d: %d during the load, want %d", tc.process, source.during, tc.during)
		}
		if after := currentGCPercent(); after != tc.process {
			t.Errorf("GOGC %d: %d after the load, want it back", tc.process, after)
		}
	}
}
