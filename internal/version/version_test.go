package version

import (
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "false"}}
	dirty := []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}
	tests := map[string]struct {
		version, commit string
		settings        []debug.BuildSetting
		want            Info
	}{
		"stamped":                      {"v0.2.0", "def456", vcs, Info{"v0.2.0", "def456"}},
		"stamped version, vcs commit":  {"v0.2.0", "", vcs, Info{"v0.2.0", "abc123"}},
		"not stamped, clean work tree": {"", "", vcs, Info{"dev", "abc123"}},
		"not stamped, dirty work tree": {"", "", dirty, Info{"dev", "abc123-dirty"}},
		"nothing known":                {"", "", nil, Info{"dev", "unknown"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := resolve(tt.version, tt.commit, tt.settings); got != tt.want {
				t.Errorf("resolve = %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := (Info{"v1", "c"}).String(); got != "v1 (commit c)" {
		t.Errorf("String = %q", got)
	}
}
