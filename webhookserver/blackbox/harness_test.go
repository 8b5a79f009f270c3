package blackbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
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

// binary is the webhookserver built once for every test.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "webhookserver-blackbox-")
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
	if leaks := secretLeaks(); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: secret values appear in webhookserver output or stored data: %s\n", strings.Join(leaks, "; "))
		code = 1
	}
	os.Exit(code)
}

// server is a running webhookserver process.
type server struct {
	t          testing.TB
	cmd        *exec.Cmd
	URL        string // webhook listener, http://127.0.0.1:port
	MetricsURL string // metrics listener: /metrics, /healthz, /readyz
	AdminURL   string // admin listener: dead letters
	logs       *syncBuffer
	exited     chan struct{}
	exitErr    error
}

// samples is the folder of the sample manifests.
func samples() string { return filepath.Join(testenv.RepoRoot(), "config", "samples") }

// startServer starts webhookserver serve with args plus loopback listeners, and waits until it is ready.
func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	return launchServer(t, "/readyz", args...)
}

// startServerNotReady is startServer for a server that is live but is meant not to be ready (a dependency it
// requires is down): it waits for /healthz only.
func startServerNotReady(t testing.TB, args ...string) *server {
	t.Helper()
	return launchServer(t, "/healthz", args...)
}

// launchServer starts webhookserver serve with args plus loopback listeners, and waits until probe answers 200.
// A port freePort found free can be taken before the server binds it (another test process's outgoing
// connection may get it as its ephemeral port), so a start that fails to bind is tried again on other ports.
func launchServer(t testing.TB, probe string, args ...string) *server {
	t.Helper()
	const attempts = 3
	for attempt := 1; ; attempt++ {
		if s := tryLaunchServer(t, probe, attempt == attempts, args...); s != nil {
			return s
		}
		t.Logf("webhookserver could not bind a port found free; starting it again on other ports")
	}
}

// tryLaunchServer is one attempt of launchServer: nil when the server exited because a port was taken and
// last is false.
func tryLaunchServer(t testing.TB, probe string, last bool, args ...string) *server {
	t.Helper()
	webhookPort, metricsPort, adminPort := freePort(t), freePort(t), freePort(t)
	s := &server{
		t:          t,
		URL:        "http://" + webhookPort,
		MetricsURL: "http://" + metricsPort,
		AdminURL:   "http://" + adminPort,
		logs:       &syncBuffer{},
		exited:     make(chan struct{}),
	}
	all := append([]string{"serve", "--listen", webhookPort, "--metrics-listen", metricsPort, "--admin-listen", adminPort,
		"--reload-interval", "100ms"}, args...)
	s.cmd = exec.Command(binary, all...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	watchSecrets(t, args)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exitErr = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.stop()
		outputs.add(s.logs.String())
		scanQueueDirs(t, args)
		if t.Failed() {
			t.Logf("webhookserver logs:\n%s", s.logs.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			if !last && strings.Contains(s.logs.String(), "address already in use") {
				return nil
			}
			t.Fatalf("webhookserver exited: %v\n%s", s.exitErr, s.logs.String())
		default:
		}
		if resp, err := http.Get(s.MetricsURL + probe); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("webhookserver: %s not 200 in 15s:\n%s", probe, s.logs.String())
	return nil
}

// stop sends SIGTERM and waits for the process to exit.
func (s *server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// post sends body to path with headers and returns the answer.
func (s *server) post(path string, body []byte, header http.Header) (*http.Response, []byte) {
	s.t.Helper()
	return s.do(http.MethodPost, path, body, header)
}

func (s *server) do(method, path string, body []byte, header http.Header) (*http.Response, []byte) {
	s.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	recordCredentials(req.Header)
	if req.Header.Get("Content-Type") == "" && body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	content, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, content
}

// metric returns the metrics text lines that contain every one of parts.
func (s *server) metric(parts ...string) []string {
	s.t.Helper()
	resp, err := http.Get(s.MetricsURL + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	content, _ := io.ReadAll(resp.Body)
	var lines []string
	for _, line := range strings.Split(string(content), "\n") {
		match := !strings.HasPrefix(line, "#")
		for _, part := range parts {
			match = match && strings.Contains(line, part)
		}
		if match {
			lines = append(lines, line)
		}
	}
	return lines
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the test's reads.
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

// writeFile writes content to dir/name and returns the path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	// Write and rename, so that the server never reads half a file (as Kubernetes swaps mounted files).
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func basicAuth(user, password string) http.Header {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, password)
	return http.Header{"Authorization": req.Header["Authorization"]}
}

// execCommand runs a short-lived webhookserver command, bounded in time.
func execCommand(name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { cancel(); return cmd.Process.Kill() }
	return cmd
}

// waitForLog waits until the server has logged text (a log line is written after the answer is sent).
func (s *server) waitForLog(text string) bool {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(s.logs.String(), text) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}
