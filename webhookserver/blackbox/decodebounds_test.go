package blackbox

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestFormBombIsRefused: a mebibyte form body whose one name nests half a million levels (a.a.a...b=1) made
// one map per level. It is refused with 400 naming the bound, and the server's peak memory stays within the
// documented bound for decoding (100 times the body plus 1 MiB).
func TestFormBombIsRefused(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bot.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: forms}
spec:
  dialect: Generic
  auth: {allowUnauthenticated: true}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: x}
spec:
  endpointRef: {name: forms}
  match: {events: [x]}
  respond: {text: ok}
`)
	s := startServer(t, "--manifests", dir)
	before := peakRSS(t, s.cmd.Process.Pid)
	const size = 1 << 20
	bomb := "event=x&" + strings.Repeat("a.", (size-len("event=x&b=1"))/2) + "b=1"
	resp, content := s.post("/webhook", []byte(bomb), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(content), "over the limit of 64") {
		t.Errorf("the form bomb: %d %.300s; want 400 saying the depth bound", resp.StatusCode, content)
	}
	growth := peakRSS(t, s.cmd.Process.Pid) - before
	if bound := int64(100*len(bomb) + 1<<20); growth > bound {
		t.Errorf("the server's peak RSS grew by %d bytes, over the documented bound of %d", growth, bound)
	}
}

// peakRSS is the process's peak resident memory (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skipf("no /proc to read the peak RSS from: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if value, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM line %q: %v", line, err)
			}
			return kib << 10
		}
	}
	t.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}
