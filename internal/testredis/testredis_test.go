package testredis

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestStartRestartKill(t *testing.T) {
	s := Start(t)
	if !ping(s.Addr) {
		t.Fatal("no PONG")
	}
	s.Restart()
	if !ping(s.Addr) {
		t.Fatal("no PONG after restart")
	}
	s.Kill()
	if ping(s.Addr) {
		t.Fatal("still answering after Kill")
	}
}

// The options given to Start override the defaults, and a restart keeps them.
func TestStartWithOptions(t *testing.T) {
	s := Start(t, "--appendfsync", "everysec")
	if got := configGet(t, s.Addr, "appendfsync"); got != "everysec" {
		t.Fatalf("appendfsync is %q, want the everysec given to Start", got)
	}
	s.Restart()
	if got := configGet(t, s.Addr, "appendfsync"); got != "everysec" {
		t.Fatalf("appendfsync is %q after a restart, want everysec", got)
	}
}

// configGet reads one setting with CONFIG GET in the inline protocol: the reply is an array of the name and
// the value, each a bulk string (a length line, then the text).
func configGet(t *testing.T, addr, name string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := fmt.Fprintf(conn, "CONFIG GET %s\r\n", name); err != nil {
		t.Fatal(err)
	}
	reader := bufio.NewReader(conn)
	var lines []string
	for range 5 {
		line, err := reader.ReadString('\n')
		if err != nil {
			t.Fatalf("CONFIG GET %s: read %q, then %v", name, lines, err)
		}
		lines = append(lines, strings.TrimSpace(line))
	}
	return lines[4]
}
