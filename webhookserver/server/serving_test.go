package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

// threeEndpoints serves three endpoints: /local (Async, Local queue) and /redis (Async, Redis queue) apply each
// event at upstream, /sync answers at once. It drains the pods listed in drainPods.
func threeEndpoints(upstream, redisURL string, drainPods ...string) string {
	drain := ""
	if len(drainPods) > 0 {
		drain = fmt.Sprintf("drainPods: [%s]\n", strings.Join(drainPods, ", "))
	}
	return fmt.Sprintf(`apiVersion: fulfillment.dev/v1alpha1
kind: WebhookServerConfig
%[3]sendpoints:
- name: local
  namespace: default
  spec:
    dialect: Generic
    path: /local
    auth: {allowUnauthenticated: true}
    delivery: {mode: Async, queue: Local, maxAttempts: 100, backoff: {initial: 50ms, max: 200ms}}
  routes:
  - name: apply
    spec:
      endpointRef: {name: local}
      match: {events: [order.paid]}
      call: {url: "%[1]s/apply", body: 'request.body.id', retry: {attempts: 1}}
- name: redis
  namespace: default
  spec:
    dialect: Generic
    path: /redis
    auth: {allowUnauthenticated: true}
    redis: {url: %[2]q}
    delivery: {mode: Async, queue: Redis}
  routes:
  - name: apply
    spec:
      endpointRef: {name: redis}
      match: {events: [order.paid]}
      call: {url: "%[1]s/apply", body: 'request.body.id', retry: {attempts: 1}}
- name: sync
  namespace: default
  spec: {dialect: Generic, path: /sync, auth: {allowUnauthenticated: true}}
  routes:
  - name: ping
    spec:
      endpointRef: {name: sync}
      match: {events: [ping]}
      respond: {text: pong}
`, upstream, redisURL, drain)
}

// applyUpstream counts the events applied, by id, and answers 503 while down.
type applyUpstream struct {
	URL     string
	down    atomic.Bool
	mu      sync.Mutex
	applied map[string]int
}

func newApplyUpstream(t *testing.T) *applyUpstream {
	u := &applyUpstream{applied: map[string]int{}}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var id string
		_ = json.NewDecoder(r.Body).Decode(&id)
		u.mu.Lock()
		u.applied[id]++
		u.mu.Unlock()
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(server.Close)
	u.URL = server.URL
	return u
}

func (u *applyUpstream) count(id string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.applied[id]
}

// servingServer is a Server running Serve on loopback listeners.
type servingServer struct {
	*Server
	t          *testing.T
	url        string // webhook listener
	metricsURL string
	logs       *lockedBuffer
}

// serve starts a Server with opts on loopback listeners; it stops when the test ends.
func serve(t *testing.T, opts Options) *servingServer {
	t.Helper()
	logs := &lockedBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	listeners := Listeners{Webhook: listen(), Metrics: listen()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, listeners) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	return &servingServer{Server: s, t: t, url: "http://" + listeners.Webhook.Addr().String(),
		metricsURL: "http://" + listeners.Metrics.Addr().String(), logs: logs}
}

// sendEvents posts an order.paid event with each id to path and checks that each is queued (202). It returns
// when the first was sent and when its answer came.
func (s *servingServer) sendEvents(path string, ids ...string) (firstSent, firstAccepted time.Time) {
	s.t.Helper()
	for i, id := range ids {
		if i == 0 {
			firstSent = time.Now()
		}
		if got := s.post(path, `{"event":"order.paid","id":"`+id+`"}`); got.status != http.StatusAccepted {
			s.t.Fatalf("%s to %s: %d %s", id, path, got.status, got.body)
		}
		if i == 0 {
			firstAccepted = time.Now()
		}
	}
	return firstSent, firstAccepted
}

// answer is an HTTP answer, read whole.
type answer struct {
	status int
	header http.Header
	// closed is set when the server closes the connection after it.
	closed bool
	body   string
}

func (s *servingServer) post(path, body string) answer {
	s.t.Helper()
	resp, err := http.Post(s.url+path, "application/json", strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	content, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, closed: resp.Close, body: string(content)}
}

func (s *servingServer) get(path string) (int, string) {
	s.t.Helper()
	resp, err := http.Get(s.metricsURL + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	content, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(content)
}

func (s *servingServer) status() statusz.Report {
	s.t.Helper()
	code, content := s.get(statusz.Path)
	var report statusz.Report
	if err := json.Unmarshal([]byte(content), &report); code != http.StatusOK || err != nil {
		s.t.Fatalf("GET %s: %d %v %s", statusz.Path, code, err, content)
	}
	return report
}

// queue is the report's queue of endpoint, failing the test when there is none.
func (s *servingServer) queue(endpoint string) statusz.Queue {
	s.t.Helper()
	report := s.status()
	for _, q := range report.Queues {
		if q.Endpoint == endpoint {
			return q
		}
	}
	s.t.Fatalf("/statusz reports no queue for %s: %+v", endpoint, report.Queues)
	return statusz.Queue{}
}

// metric is the value of the metrics line that starts with series, "" when there is none.
func (s *servingServer) metric(series string) string {
	s.t.Helper()
	_, content := s.get("/metrics")
	for _, line := range strings.Split(content, "\n") {
		if value, found := strings.CutPrefix(line, series+" "); found {
			return value
		}
	}
	return ""
}

func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockedBuffer is a bytes.Buffer safe for the server's log writes and the test's reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
