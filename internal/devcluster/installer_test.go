package devcluster

import (
	"slices"
	"testing"
)

func TestWithAddresses(t *testing.T) {
	addresses := map[string]string{"metrics-bind-address": "127.0.0.1:1", "health-probe-bind-address": "127.0.0.1:2"}
	for _, c := range []struct {
		args, want []string
	}{
		{[]string{"--leader-elect", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081"},
			[]string{"--leader-elect", "--metrics-bind-address=127.0.0.1:1", "--health-probe-bind-address=127.0.0.1:2"}},
		{[]string{"-metrics-bind-address", ":8080", "--zap-devel"},
			[]string{"--metrics-bind-address=127.0.0.1:1", "--zap-devel", "--health-probe-bind-address=127.0.0.1:2"}},
		{[]string{"metrics-bind-address=:8080"},
			[]string{"metrics-bind-address=:8080", "--health-probe-bind-address=127.0.0.1:2", "--metrics-bind-address=127.0.0.1:1"}},
	} {
		got := withAddresses(c.args, addresses)
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("withAddresses(%q) = %q, want %q", c.args, got, c.want)
		}
	}
}
