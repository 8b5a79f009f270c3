package server

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
)

// stageEndpoints are the endpoints the stages are tested on: /open is open to all, with bodies of at most 1Ki;
// /limited is open to all with a rate of one request a second; /bearer authenticates, with the same rate;
// /local queues its events in the pod.
const stageEndpoints = `
apiVersion: v1
kind: Secret
metadata: {name: token}
stringData: {token: the-token}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: open}
spec:
  dialect: Generic
  path: /open
  methods: [POST, PUT]
  auth: {allowUnauthenticated: true}
  limits: {maxBodyBytes: 1Ki}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: limited}
spec:
  dialect: Generic
  path: /limited
  auth: {allowUnauthenticated: true}
  limits: {requestsPerSecond: 1, burst: 1}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bearer}
spec:
  dialect: Generic
  path: /bearer
  auth:
    bearer: {secretRef: {name: token, key: token}}
  limits: {requestsPerSecond: 1, burst: 1}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: local}
spec:
  dialect: Generic
  path: /local
  auth: {allowUnauthenticated: true}
  delivery: {mode: Async, queue: Local}
`

// stageServer is a Server of stageEndpoints, not serving, that logs into logs.
func stageServer(t *testing.T) (*Server, *lockedBuffer) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "endpoints.yaml"), []byte(stageEndpoints), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	s, err := New(Options{Source: &ManifestSource{Paths: []string{dir}}, QueueDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stopWorkers)
	return s, logs
}

// entryAt is the endpoint s serves at path.
func entryAt(t *testing.T, s *Server, path string) *served {
	t.Helper()
	entry := s.current.Load().byPath[path]
	if entry == nil {
		t.Fatalf("nothing is served at %s", path)
	}
	return entry
}

func stageRequest(method, path, body string) *http.Request {
	return httptest.NewRequest(method, path, strings.NewReader(body))
}

// checkRefusal fails unless refused is a refusal with want's status, code, headers and metrics label, and a
// message containing want's.
func checkRefusal(t *testing.T, refused *refusal, want refusal) {
	t.Helper()
	if refused == nil {
		t.Fatalf("not refused, want %d %s", want.status, want.code)
	}
	if refused.status != want.status || refused.code != want.code || !strings.Contains(refused.message, want.message) ||
		refused.allow != want.allow || refused.retryAfter != want.retryAfter || refused.challenge != want.challenge ||
		refused.closeConnection != want.closeConnection || refused.authFailure != want.authFailure {
		t.Errorf("refused with %+v, want %+v", *refused, want)
	}
}

// failingReader fails the test that reads it: a body refused for its declared length is never read.
type failingReader struct{ t *testing.T }

func (r failingReader) Read([]byte) (int, error) {
	r.t.Error("the body was read")
	return 0, io.EOF
}

// brokenReader fails as a connection cut in the middle of the body does.
type brokenReader struct{}

func (brokenReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestLimitRefusesWhatTheEndpointDoesNotTake(t *testing.T) {
	s, _ := stageServer(t)
	open := entryAt(t, s, "/open")
	tests := map[string]struct {
		request *http.Request
		want    refusal
	}{
		"a method it does not accept": {request: stageRequest(http.MethodGet, "/open", ""), want: refusal{
			status: http.StatusMethodNotAllowed, code: "method_not_allowed", message: "this endpoint accepts POST, PUT", allow: "POST, PUT, OPTIONS"}},
		"a declared length over its size": {request: func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/open", failingReader{t})
			r.ContentLength = 1025
			return r
		}(), want: refusal{status: http.StatusRequestEntityTooLarge, code: "body_too_large", message: "the body is over 1024 bytes"}},
		"a body over its size, of no declared length": {request: func() *http.Request {
			r := stageRequest(http.MethodPost, "/open", strings.Repeat("x", 1025))
			r.ContentLength = -1
			return r
		}(), want: refusal{status: http.StatusRequestEntityTooLarge, code: "body_too_large", message: "the body is over 1024 bytes"}},
		"a body that cannot be read": {request: httptest.NewRequest(http.MethodPost, "/open", brokenReader{}),
			want: refusal{status: http.StatusBadRequest, code: "unreadable_body", message: "the body could not be read"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body, refused := limit(httptest.NewRecorder(), tt.request, s.current.Load(), open)
			if body != nil {
				t.Errorf("a refused request's body was kept: %q", body)
			}
			checkRefusal(t, refused, tt.want)
		})
	}
}

// An endpoint open to all spends its rate before the body is read.
func TestLimitTakesTheRateOfAnOpenEndpoint(t *testing.T) {
	s, _ := stageServer(t)
	limited := entryAt(t, s, "/limited")
	body, refused := limit(httptest.NewRecorder(), stageRequest(http.MethodPost, "/limited", `{"event":"a"}`), s.current.Load(), limited)
	if refused != nil || string(body) != `{"event":"a"}` {
		t.Fatalf("the first request: body %q, refused %+v; want its body read", body, refused)
	}
	_, refused = limit(httptest.NewRecorder(), stageRequest(http.MethodPost, "/limited", `{}`), s.current.Load(), limited)
	checkRefusal(t, refused, refusal{status: http.StatusTooManyRequests, code: "rate_limited", message: "too many requests; retry after 1s",
		retryAfter: "1"})
}

// An endpoint that authenticates spends its rate only once a request authenticated; an address over its budget
// of failures is refused before its body is read, unless its credential authenticated before.
func TestLimitRefusesAnAddressOverItsBudgetOfFailures(t *testing.T) {
	s, _ := stageServer(t)
	entry := entryAt(t, s, "/bearer")
	for range 3 {
		if _, refused := limit(httptest.NewRecorder(), stageRequest(http.MethodPost, "/bearer", `{}`), s.current.Load(), entry); refused != nil {
			t.Fatalf("refused before authentication: %+v", refused)
		}
	}
	client := netip.MustParseAddr("192.0.2.1") // httptest's requests come from it
	// Failed a minute ahead: however slow the test, none of the budget has come back when the request arrives.
	for range failureBurst {
		entry.failures.fail(client, "", time.Now().Add(time.Minute))
	}
	r := httptest.NewRequest(http.MethodPost, "/bearer", failingReader{t})
	r.Header.Set("Authorization", "Bearer a-guess")
	_, refused := limit(httptest.NewRecorder(), r, s.current.Load(), entry)
	checkRefusal(t, refused, refusal{status: http.StatusTooManyRequests, code: "too_many_failures",
		message:    "too many failed authentications from this address; retry after 6s with valid credentials",
		retryAfter: "6", closeConnection: true, authFailure: "none"})

	entry.failures.succeed("Bearer the-token")
	known := stageRequest(http.MethodPost, "/bearer", `{}`)
	known.Header.Set("Authorization", "Bearer the-token")
	if _, refused := limit(httptest.NewRecorder(), known, s.current.Load(), entry); refused != nil {
		t.Errorf("a credential that authenticated is refused with its address: %+v", refused)
	}
}

// A draining replica refuses new events for its Local queues, and only those.
func TestLimitRefusesNewLocalEventsWhileDraining(t *testing.T) {
	s, _ := stageServer(t)
	draining := *s.current.Load()
	draining.draining = true
	_, refused := limit(httptest.NewRecorder(), stageRequest(http.MethodPost, "/local", `{}`), &draining, entryAt(t, s, "/local"))
	checkRefusal(t, refused, refusal{status: http.StatusServiceUnavailable, code: "replica_retiring",
		message: "this replica is being retired and takes no new events; retry after 5s", retryAfter: "5", closeConnection: true})

	if _, refused := limit(httptest.NewRecorder(), stageRequest(http.MethodPost, "/open", `{}`), &draining, entryAt(t, s, "/open")); refused != nil {
		t.Errorf("a Sync endpoint of a draining replica refused: %+v", refused)
	}
	if _, refused := limit(httptest.NewRecorder(), stageRequest(http.MethodPost, "/local", `{}`), s.current.Load(), entryAt(t, s, "/local")); refused != nil {
		t.Errorf("a Local event refused while not draining: %+v", refused)
	}
}

func TestAuthenticate(t *testing.T) {
	s, _ := stageServer(t)
	entry := entryAt(t, s, "/bearer")
	client := netip.MustParseAddr("192.0.2.1")

	refused := authenticate(stageRequest(http.MethodPost, "/bearer", `{}`), entry, []byte(`{}`))
	checkRefusal(t, refused, refusal{status: http.StatusUnauthorized, code: "missing_credentials",
		message: "bearer authentication failed: missing credentials", challenge: `Bearer realm="fulfillment"`, authFailure: "bearer"})
	if len(refused.attrs) != 1 || refused.attrs[0].String() != "authMethod=bearer" {
		t.Errorf("the refusal logs %v, want authMethod=bearer", refused.attrs)
	}
	if entry.failures.none() {
		t.Error("a failed authentication spent none of the address's failures")
	}
	for range failureBurst - 1 {
		entry.failures.fail(client, "", time.Now())
	}

	good := func() *http.Request {
		r := stageRequest(http.MethodPost, "/bearer", `{}`)
		r.Header.Set("Authorization", "Bearer the-token")
		return r
	}
	if refused := authenticate(good(), entry, []byte(`{}`)); refused != nil {
		t.Fatalf("the right token is refused: %+v", refused)
	}
	if ok, _ := entry.failures.allow(client, "Bearer the-token", time.Now()); !ok {
		t.Error("a credential that authenticated is not let through its address's spent budget")
	}
	// The rate is taken once authenticated: the endpoint's one request a second is spent.
	checkRefusal(t, authenticate(good(), entry, []byte(`{}`)), refusal{status: http.StatusTooManyRequests, code: "rate_limited",
		message: "too many requests", retryAfter: "1"})

	// An endpoint open to all took its rate before the body was read: authenticating takes nothing more.
	limited := entryAt(t, s, "/limited")
	for range 3 {
		if refused := authenticate(stageRequest(http.MethodPost, "/limited", `{}`), limited, []byte(`{}`)); refused != nil {
			t.Fatalf("an endpoint open to all refused: %+v", refused)
		}
	}
}

// refuse writes the refusal in the endpoint's error shape with its headers, then counts and logs it.
func TestRefuseWritesCountsAndLogs(t *testing.T) {
	s, logs := stageServer(t)
	entry := entryAt(t, s, "/bearer")
	refused := &refusal{status: http.StatusUnauthorized, code: "invalid_credentials", message: "bearer authentication failed",
		allow: "POST", retryAfter: "7", challenge: `Bearer realm="fulfillment"`, closeConnection: true, authFailure: "bearer",
		attrs: []slog.Attr{slog.String("authMethod", "bearer")}}
	w := httptest.NewRecorder()
	line := requestLog{logger: s.log, ctx: t.Context()}
	line.add(slog.String("requestId", "r-1"))
	s.refuse(w, http.Header{}, entry, refused, time.Now(), &line)

	wantBody, _ := entry.endpoint.EncodeError(http.Header{}, refused.status, refused.code, refused.message)
	if w.Code != http.StatusUnauthorized || w.Body.String() != string(wantBody) {
		t.Errorf("answered %d %s", w.Code, w.Body.String())
	}
	for name, want := range map[string]string{"Allow": "POST", "Retry-After": "7", "WWW-Authenticate": `Bearer realm="fulfillment"`,
		"Connection": "close", "Content-Type": "application/json"} {
		if got := w.Header().Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if got := counterValue(t, s.metrics.requests.WithLabelValues("default/bearer", "", "401")); got != 1 {
		t.Errorf("fulfillment_requests_total{route=\"\",code=\"401\"} = %v, want 1", got)
	}
	if got := counterValue(t, s.metrics.authFailures.WithLabelValues("default/bearer", "bearer", "invalid_credentials")); got != 1 {
		t.Errorf("fulfillment_auth_failures_total = %v, want 1", got)
	}
	if got, want := logs.String(), `level=INFO msg="request refused" requestId=r-1 status=401 code=invalid_credentials authMethod=bearer`; !strings.Contains(got, want) {
		t.Errorf("logged %q, want a line with %q", got, want)
	}

	// A refusal that is no authentication failure counts none.
	s.refuse(httptest.NewRecorder(), http.Header{}, entry, &refusal{status: http.StatusTooManyRequests, code: "rate_limited"}, time.Now(), &line)
	if got := counterValue(t, s.metrics.authFailures.WithLabelValues("default/bearer", "", "rate_limited")); got != 0 {
		t.Errorf("a rate limited request counted as an authentication failure")
	}
}

// answer writes the outcome as the endpoint made it, then counts it under its route and logs it.
func TestAnswerWritesCountsAndLogs(t *testing.T) {
	s, logs := stageServer(t)
	entry := entryAt(t, s, "/open")
	outcome := &endpoint.Outcome{Status: http.StatusOK, Route: "greet", Body: []byte(`{"text":"hi"}`)}
	w := httptest.NewRecorder()
	line := requestLog{logger: s.log, ctx: t.Context()}
	s.answer(w, entry, outcome, time.Now(), &line)

	if w.Code != http.StatusOK || w.Body.String() != `{"text":"hi"}` || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("answered %d %v %s", w.Code, w.Header(), w.Body.String())
	}
	if got := counterValue(t, s.metrics.requests.WithLabelValues("default/open", "greet", "200")); got != 1 {
		t.Errorf("fulfillment_requests_total{route=\"greet\",code=\"200\"} = %v, want 1", got)
	}
	if got := logs.String(); !strings.Contains(got, `msg="request answered" status=200 outcome=answered route=greet`) {
		t.Errorf("logged %q, want the answer's line", got)
	}
}
