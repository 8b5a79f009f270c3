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
// documented bound for decoding.
func TestFormBombIsRefused(t *testing.T) {
	const size = 1 << 20
	bomb := "event=x&" + strings.Repeat("a.", (size-len("event=x&b=1"))/2) + "b=1"
	checkRefusedWithinBound(t, "application/x-www-form-urlencoded", bomb, "over the limit of 64")
}

// TestJSONDigitsArrayIsRefused: a mebibyte JSON array of one-digit numbers ([1,1,1,...]) made half a million
// values, each costing decoding many times its two bytes. It is refused with 400 naming the bound, within the
// documented bound for decoding.
func TestJSONDigitsArrayIsRefused(t *testing.T) {
	const size = 1 << 20
	digits := `{"event":"x","a":[` + strings.Repeat("1,", (size-len(`{"event":"x","a":[1]}`))/2) + "1]}"
	checkRefusedWithinBound(t, "application/json", digits, "over the limit of 50000")
}

// checkRefusedWithinBound posts body to a Generic endpoint of a server of its own, and checks that the answer
// is 400 saying wantMessage and that the server's peak memory grew by at most the documented bound for
// decoding: 8 times the body plus 10 MiB.
func checkRefusedWithinBound(t *testing.T, contentType, body, wantMessage string) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "bot.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: generic}
spec:
  dialect: Generic
  auth: {allowUnauthenticated: true}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: x}
spec:
  endpointRef: {name: generic}
  match: {events: [x]}
  respond: {text: ok}
`)
	s := startServer(t, "--manifests", dir)
	before := peakRSS(t, s.cmd.Process.Pid)
	resp, content := s.post("/webhook", []byte(body), http.Header{"Content-Type": {contentType}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(content), wantMessage) {
		t.Errorf("%s body of %d bytes: %d %.300s; want 400 saying %q", contentType, len(body), resp.StatusCode, content, wantMessage)
	}
	growth := peakRSS(t, s.cmd.Process.Pid) - before
	if bound := int64(8*len(body) + 10<<20); growth > bound {
		t.Errorf("the server's peak RSS grew by %d bytes, over the documented bound of %d", growth, bound)
	}
	t.Logf("%s body of %d bytes: peak RSS grew by %d bytes", contentType, len(body), growth)
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
