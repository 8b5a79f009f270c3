package docs

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// binary is the webhookserver built once for the test.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "docs-runnable-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "webhookserver")
	build := exec.Command("go", "build", "-o", binary, "./webhookserver/cmd/webhookserver")
	build.Dir = testenv.RepoRoot()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building webhookserver:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestRunnableExamples runs the runnable blocks of README.md, docs/*.md and hack/docs/README.md (whose example
// shows the convention), each document's in order against a fresh `make run-local` server, and compares what
// every command prints with what the document shows.
func TestRunnableExamples(t *testing.T) {
	root := testenv.RepoRoot()
	documents, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	documents = append([]string{filepath.Join(root, "README.md"), filepath.Join(root, "hack", "docs", "README.md")}, documents...)
	for _, path := range documents {
		name, _ := filepath.Rel(root, path)
		content, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		examples, err := parseExamples(string(content))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name == "README.md" && len(examples) == 0 {
			t.Errorf("README.md has no runnable example: its requests to make run-local are meant to be marked %s", marker)
		}
		if len(examples) > 0 {
			t.Run(name, func(t *testing.T) { runExamples(t, name, examples) })
		}
	}
}

// runExamples runs one document's examples in order: a later one may count on what an earlier one did.
func runExamples(t *testing.T, document string, examples []example) {
	server := startLocalServer(t)
	for _, ex := range examples {
		printed, err := runCommand(server.inCommand(withBinary(ex.command, binary)))
		if err != nil {
			t.Errorf("%s:%d: %s\nfailed: %v\n%s", document, ex.line, ex.command, err, printed)
			continue
		}
		if got, want := normalize(server.inOutput(printed)), normalize(ex.output); got != want {
			t.Errorf("%s:%d: %s\nthe document shows:\n%s\nthe command printed:\n%s\n(%s)", document, ex.line, ex.command,
				want, got, whereTheyDiffer(want, got))
		}
	}
	if t.Failed() {
		t.Logf("webhookserver logs:\n%s", server.logs.String())
	}
}

// whereTheyDiffer names the line and column of the first difference, which a long line of JSON hides.
func whereTheyDiffer(want, got string) string {
	line, column := 1, 1
	for i := 0; i < min(len(want), len(got)); i++ {
		if want[i] != got[i] {
			break
		}
		if column++; want[i] == '\n' {
			line, column = line+1, 1
		}
	}
	return fmt.Sprintf("they differ from line %d, column %d", line, column)
}

// runCommand runs command with bash in the repository, as a reader runs it from a clone, and returns its
// standard output, or its standard error with the error.
func runCommand(command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", command)
	cmd.Dir = testenv.RepoRoot()
	// A proxy from the environment would take the loopback requests elsewhere.
	cmd.Env = append(os.Environ(), "NO_PROXY=localhost,127.0.0.1", "no_proxy=localhost,127.0.0.1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stderr.String(), err
	}
	return stdout.String(), nil
}

// localServer is a running `make run-local` server.
type localServer struct {
	listeners
	logs *syncBuffer
}

// startLocalServer starts the command `make run-local` runs (make -n prints it) with the built binary, its
// listeners on free loopback ports and its queues in a temporary folder, and waits until it is ready.
func startLocalServer(t *testing.T) *localServer {
	t.Helper()
	args := runLocalArguments(t)
	server := &localServer{
		listeners: listeners{"8080": freeAddress(t), "9090": freeAddress(t), "9091": freeAddress(t)},
		logs:      &syncBuffer{},
	}
	// Flags given last win, so the Makefile's listeners and queue folder are replaced.
	script := fmt.Sprintf("exec %s %s --listen %s --metrics-listen %s --admin-listen %s --queue-dir %s", binary, args,
		server.listeners["8080"], server.listeners["9090"], server.listeners["9091"], t.TempDir())
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = testenv.RepoRoot()
	cmd.Stdout, cmd.Stderr = server.logs, server.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	exited := make(chan struct{})
	go func() { exitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	ready := "http://" + server.listeners["9090"] + "/readyz"
	for deadline := time.Now().Add(15 * time.Second); !isReady(ready); time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("webhookserver exited: %v\n%s", exitErr, server.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhookserver: %s not 200 in 15s:\n%s", ready, server.logs.String())
		}
	}
	return server
}

func isReady(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// runLocalArguments are the arguments `make run-local` gives webhookserver, as make -n prints them.
func runLocalArguments(t *testing.T) string {
	t.Helper()
	const goRun = "go run ./webhookserver/cmd/webhookserver "
	cmd := exec.Command("make", "--no-print-directory", "-n", "run-local")
	cmd.Dir = testenv.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n run-local: %v", err)
	}
	recipe := strings.TrimSpace(string(out))
	if !strings.HasPrefix(recipe, goRun) || strings.Contains(recipe, "\n") {
		t.Fatalf("make run-local is no longer one %q command, which this test runs with a built binary:\n%s", goRun, recipe)
	}
	return strings.TrimPrefix(recipe, goRun)
}

func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer collects the server's logs, written from its process while a failing test reads them.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
