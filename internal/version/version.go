// Package version is the version and commit of the binaries (manager and webhookserver), stamped at build time:
//
//	go build -ldflags "-X github.com/fulfillment-dev/fulfillment-operator/internal/version.Version=v0.2.0 \
//	  -X github.com/fulfillment-dev/fulfillment-operator/internal/version.Commit=$(git rev-parse HEAD)"
//
// The Makefile's build targets and the Dockerfile do. A binary built without the flags reports "dev" and the
// commit Go recorded from the work tree (vcs.revision, with "-dirty" for uncommitted changes), or "unknown".
package version

import (
	"runtime/debug"
	"sync"
)

// Version and Commit are set with -ldflags -X; empty when not stamped.
var (
	Version string
	Commit  string
)

// Info is what the binary reports about its build.
type Info struct {
	Version string
	Commit  string
}

// String is "VERSION (commit COMMIT)".
func (i Info) String() string { return i.Version + " (commit " + i.Commit + ")" }

var (
	once sync.Once
	info Info
)

// Get returns the stamped version and commit, with the fallbacks above.
func Get() Info {
	once.Do(func() {
		var settings []debug.BuildSetting
		if build, ok := debug.ReadBuildInfo(); ok {
			settings = build.Settings
		}
		info = resolve(Version, Commit, settings)
	})
	return info
}

// resolve applies the fallbacks to the stamped values.
func resolve(version, commit string, settings []debug.BuildSetting) Info {
	if version == "" {
		version = "dev"
	}
	if commit == "" {
		var revision, modified string
		for _, s := range settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		commit = revision
		if commit != "" && modified == "true" {
			commit += "-dirty"
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	return Info{Version: version, Commit: commit}
}
