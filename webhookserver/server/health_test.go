package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
)

// TestDependencyCheckRecordsAndForgets: a failed ping marks its dependency down until a ping succeeds, a
// dependency not checked yet counts as up, and one no endpoint uses any more is forgotten.
func TestDependencyCheckRecordsAndForgets(t *testing.T) {
	d := newDependencies()
	if d.isDown("never checked") {
		t.Error("a dependency not checked yet counts as down: a reload would turn every replica unready")
	}
	var failing atomic.Bool
	pings := map[string]func(context.Context) error{
		"redis-a": func(context.Context) error {
			if failing.Load() {
				return errors.New("connection refused")
			}
			return nil
		},
	}
	s := &Server{deps: d, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.recordPings(context.Background(), pings, map[string]string{"redis-a": "redis queue"})
	if d.isDown("redis-a") {
		t.Fatal("down after a successful ping")
	}
	failing.Store(true)
	s.recordPings(context.Background(), pings, map[string]string{"redis-a": "redis queue"})
	if !d.isDown("redis-a") {
		t.Fatal("up after a failed ping")
	}
	failing.Store(false)
	s.recordPings(context.Background(), pings, map[string]string{"redis-a": "redis queue"})
	if d.isDown("redis-a") {
		t.Fatal("still down after a successful ping")
	}
	failing.Store(true)
	s.recordPings(context.Background(), pings, map[string]string{"redis-a": "redis queue"})
	s.recordPings(context.Background(), nil, nil) // the endpoint was removed
	if d.isDown("redis-a") {
		t.Error("a dependency no endpoint uses keeps the server unready")
	}
}

// TestDependencyCheckIgnoresShutdown: pings cut short by shutdown do not mark a dependency down.
func TestDependencyCheckIgnoresShutdown(t *testing.T) {
	d := newDependencies()
	s := &Server{deps: d, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.recordPings(ctx, map[string]func(context.Context) error{"redis-a": func(ctx context.Context) error { return ctx.Err() }},
		map[string]string{"redis-a": "redis queue"})
	if d.isDown("redis-a") {
		t.Error("a ping cancelled by shutdown marked its dependency down")
	}
}
