package main

import "testing"

func TestGoMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       map[string]string
		want      int64
		wantApply bool
	}{
		{"90% of the container's limit", map[string]string{memoryLimitEnv: "134217728"}, 120795956, true},
		{"GOMEMLIMIT set by the user wins", map[string]string{memoryLimitEnv: "134217728", "GOMEMLIMIT": "100MiB"}, 0, false},
		{"no limit given", map[string]string{}, 0, false},
		{"not a number", map[string]string{memoryLimitEnv: "128Mi"}, 0, false},
		{"zero", map[string]string{memoryLimitEnv: "0"}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, apply := goMemoryLimit(func(name string) string { return tc.env[name] })
			if got != tc.want || apply != tc.wantApply {
				t.Errorf("goMemoryLimit = %d, %v; want %d, %v", got, apply, tc.want, tc.wantApply)
			}
		})
	}
}
