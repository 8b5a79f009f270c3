package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestServePprof(t *testing.T) {
	listener, err := servePprof("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	base := "http://" + listener.Addr().String() + "/debug/pprof/"
	for path, want := range map[string]string{"": "heap", "heap?debug=1": "heap profile", "goroutine?debug=1": "goroutine profile"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %s, want 200 with %q in: %.200s", base+path, resp.Status, want, body)
		}
	}
	if _, err := servePprof(listener.Addr().String(), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a second listener on the same address was accepted")
	}
}
