// Package testredis starts a real redis-server (Debian's package, installed by .ci/run) on a free loopback port
// for a test, and stops it when the test ends.
package testredis

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a running redis-server.
type Server struct {
	// Addr is host:port on loopback.
	Addr string
	// Dir holds its append-only file, so that a restart keeps the data.
	Dir  string
	port int
	args []string // redis-server options after the defaults
	cmd  *exec.Cmd
	t    T
}

// T is what Start needs of a test: *testing.T, *testing.B and Ginkgo's GinkgoT() have it.
type T interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	TempDir() string
	Cleanup(func())
}

// Start starts redis-server with persistence (appendonly, fsync always) in a temporary folder. args are more
// redis-server options, e.g. "--appendfsync", "everysec": they come after the defaults, so they override them,
// and a restart keeps them. PING must keep its name: Start waits for its answer.
func Start(t T, args ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed: run .ci/run, or `apt-get install -y redis-server`")
	}
	s := &Server{Dir: t.TempDir(), args: args, t: t}
	t.Cleanup(s.Kill)
	// A port freePort found free can be taken before redis-server binds it (another test process's outgoing
	// connection may get it as its ephemeral port): the first start is tried again on other ports.
	for attempt := 1; ; attempt++ {
		s.port = freePort(t)
		s.Addr = "127.0.0.1:" + strconv.Itoa(s.port)
		if s.tryStart() {
			return s
		}
		s.Kill()
		if attempt == 3 {
			t.Fatalf("redis-server did not answer PING within 10s on any of 3 ports, the last %s", s.Addr)
		}
	}
}

// URL is the redis:// URL of the server.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

func (s *Server) start() {
	s.t.Helper()
	if !s.tryStart() {
		s.Kill()
		s.t.Fatalf("redis-server did not answer PING on %s within 10s", s.Addr)
	}
}

// tryStart starts redis-server on s.port and tells whether it answered PING within 10s.
func (s *Server) tryStart() bool {
	s.t.Helper()
	args := append([]string{
		"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port), "--dir", s.Dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
	}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ping(s.Addr) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Kill stops the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Revive starts a killed server again on the same port with the same data, and waits until it answers.
func (s *Server) Revive() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	s.start()
}

// Restart kills the server and starts it again on the same port with the same data.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}

// ping sends PING in the inline protocol and checks for PONG.
func ping(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := fmt.Fprint(conn, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

func freePort(t T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
