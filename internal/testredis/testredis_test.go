package testredis

import "testing"

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
