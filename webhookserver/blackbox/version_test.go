package blackbox

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// TestVersionStamped builds webhookserver as the Makefile and the Dockerfile do, with the version and commit
// stamped by -ldflags -X (without -trimpath, to reuse the suite build's cache), and checks that
// `webhookserver version` prints them.
func TestVersionStamped(t *testing.T) {
	stamped := filepath.Join(t.TempDir(), "webhookserver")
	const pkg = "github.com/fulfillment-dev/fulfillment-operator/internal/version"
	build := exec.Command("go", "build", "-ldflags", "-X "+pkg+".Version=v9.8.7-test -X "+pkg+".Commit=0123abcd",
		"-o", stamped, "./webhookserver/cmd/webhookserver")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := execCommand(stamped, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("webhookserver version: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "v9.8.7-test (commit 0123abcd)" {
		t.Errorf("webhookserver version printed %q, want the stamped version and commit", got)
	}

	// The suite's binary is built without the flags: it says so, with the commit Go recorded if any.
	out, err = execCommand(binary, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "dev (commit ") {
		t.Errorf("unstamped webhookserver version: %v %q, want dev (commit ...)", err, out)
	}
}
