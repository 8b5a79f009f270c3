package proc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStartLogsAndReportsTheExit(t *testing.T) {
	log := filepath.Join(t.TempDir(), "out.log")
	exited := make(chan struct{})
	p, err := Start(exec.Command("sh", "-c", "echo hello; exit 3"), log, func() { close(exited) })
	if err != nil {
		t.Fatal(err)
	}
	if code := p.ExitCode(); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("onExit was not called")
	}
	if !p.Exited() || !strings.HasPrefix(p.ID(), "process://") {
		t.Errorf("Exited %v, ID %q", p.Exited(), p.ID())
	}
	if content, _ := os.ReadFile(log); string(content) != "hello\n" {
		t.Errorf("log %q, want hello", content)
	}
}

// A process that ignores SIGTERM is killed once the grace period is over.
func TestStopKillsAfterTheGracePeriod(t *testing.T) {
	p, err := Start(exec.Command("sh", "-c", `trap "" TERM; sleep 30 & wait`), filepath.Join(t.TempDir(), "log"), nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the trap is set
	start := time.Now()
	p.Stop(500 * time.Millisecond)
	if elapsed := time.Since(start); elapsed < 400*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("stopped after %s, want the 500 ms grace period, then SIGKILL", elapsed)
	}
	if !p.Exited() {
		t.Error("still running after Stop")
	}
}

// A process killed by a signal exits with 128 plus the signal, as a container runtime reports it.
func TestExitCodeOfAKilledProcess(t *testing.T) {
	p, err := Start(exec.Command("sleep", "30"), filepath.Join(t.TempDir(), "log"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := p.ExitCode(); code != 137 {
		t.Errorf("exit code %d after SIGKILL, want 137", code)
	}
}
