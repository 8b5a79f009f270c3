package server

// Benchmarks of the whole request path through (*Server).ServeHTTP, in process: routing by path, method and
// size checks, authentication, dialect decoding, route matching with CEL guards, the action, encoding, metrics
// and the structured log line (JSON, written to io.Discard). The HTTP listener, TLS and the network are not
// measured here; hack/loadtest.sh measures them.
//
//	go test ./webhookserver/server/ -run '^$' -bench . -benchmem
//
// Each benchmark checks one answer in full before it starts measuring, and the status (200, no
// Fulfillment-Fallback header, no Idempotent-Replayed header) of every answer while measuring, so that it
// cannot silently measure an error, fallback or replay path. The sample endpoints key idempotency on the
// delivery id (Dialogflow ES responseId, Generic id), so every request carries a new one, as real senders'
// requests do; BenchmarkDialogflowESBalanceReplay measures a replay's path on its own.

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"cloud.google.com/go/dialogflow/apiv2/dialogflowpb"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/gcpercent"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/logging"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/redact"
)

// bankSample is the Dialogflow ES bank bot sample (endpoint, routes and Secrets).
const bankSample = "../../config/samples/dialogflow-es-bank"

// esBalanceRequest is what Dialogflow ES sends for "what is the balance of my demo account", shaped like a real
// WebhookRequest (about 1 KB).
// The responseId's idMarker is replaced by a new id for each request.
const esBalanceRequest = `{"responseId":"8d1d2f6e-1b7a-4c1e-9a55-` + idMarker + `",` +
	`"session":"projects/demo-proj/agent/sessions/sess-123",` +
	`"queryResult":{"queryText":"what is the balance of my %[1]s account","action":"account.balance",` +
	`"parameters":{"account":"%[1]s"},"allRequiredParamsPresent":true,` +
	`"fulfillmentMessages":[{"text":{"text":[""]}}],` +
	`"outputContexts":[{"name":"projects/demo-proj/agent/sessions/sess-123/contexts/balance-followup","lifespanCount":2,` +
	`"parameters":{"account":"%[1]s","account.original":"%[1]s"}},` +
	`{"name":"projects/demo-proj/agent/sessions/sess-123/contexts/__system_counters__",` +
	`"parameters":{"no-input":0,"no-match":0,"account":"%[1]s","account.original":"%[1]s"}}],` +
	`"intent":{"name":"projects/demo-proj/agent/intents/0b1e2c3d-0000-0000-0000-000000000002","displayName":"GetAccountBalance"},` +
	`"intentDetectionConfidence":0.93,"languageCode":"en"},` +
	`"originalDetectIntentRequest":{"source":"DIALOGFLOW_CONSOLE","payload":{}}}`

// bankBasicAuth is the sample's basic auth (dialogflow:change-me-bank-bot).
const bankBasicAuth = "Basic ZGlhbG9nZmxvdzpjaGFuZ2UtbWUtYmFuay1ib3Q="

// BenchmarkDialogflowESBalance is the bank-bot sample answering GetAccountBalance for the demo account: basic
// auth, the CEL guard of the demo route (priority 10) and its template, the session parameter as an output
// context.
func BenchmarkDialogflowESBalance(b *testing.B) {
	s := newBenchServer(b, "bank-bot", bankSample)
	runBench(b, s, esRequest("demo"), checkES("Your demo account balance is 1234.56 EUR.", "last_balance"))
}

// BenchmarkDialogflowESBalanceAsRun is BenchmarkDialogflowESBalance logging as the webhookserver binary does
// by default: JSON at info through the redaction of the configuration's secrets, to a file through the
// logging.Writer that gathers lines; and at warn, without request lines. It checks the log for request lines
// (at info) and for secrets.
func BenchmarkDialogflowESBalanceAsRun(b *testing.B) {
	b.Run("log=info", func(b *testing.B) { benchAsRun(b, "info", bankSample) })
	b.Run("log=warn", func(b *testing.B) { benchAsRun(b, "warn", bankSample) })
	b.Run("log=warn,idempotency=off", func(b *testing.B) { benchAsRun(b, "warn", bankSampleWithoutIdempotency(b)) })
}

// bankSampleWithoutIdempotency is the bank-bot sample in a folder of its own, idempotency off.
func bankSampleWithoutIdempotency(b *testing.B) string {
	dir := b.TempDir()
	for _, name := range []string{"endpoint.yaml", "secrets.yaml", "routes.yaml"} {
		content, err := os.ReadFile(filepath.Join(bankSample, name))
		if err != nil {
			b.Fatal(err)
		}
		const on = "idempotency:\n    enabled: true"
		if name == "endpoint.yaml" && !bytes.Contains(content, []byte(on)) {
			b.Fatalf("%s no longer turns idempotency on", name)
		}
		writeBenchFile(b, dir, name, strings.ReplaceAll(string(content), on, "idempotency:\n    enabled: false"))
	}
	return dir
}

func benchAsRun(b *testing.B, level, sample string) {
	path := filepath.Join(b.TempDir(), "webhookserver.log")
	file, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	out := logging.NewWriter(file)
	b.Cleanup(func() { _ = out.Close(); _ = file.Close() })
	secrets := &redact.Secrets{}
	logger, err := logging.New(out, "json", level, secrets)
	if err != nil {
		b.Fatal(err)
	}
	gcpercent.KeepRunway()
	s, err := New(Options{Source: &ManifestSource{Paths: []string{sample}, Endpoint: "bank-bot"}, Logger: logger, Secrets: secrets})
	if err != nil {
		b.Fatal(err)
	}
	if !secrets.Contains("change-me-bank-bot") {
		b.Fatal("the sample's basic auth password is not among the secrets to redact")
	}
	runBench(b, s, esRequest("demo"), checkES("Your demo account balance is 1234.56 EUR.", "last_balance"))
	out.Flush()
	checkRequestLog(b, path, "change-me-bank-bot", level == "info")
}

// checkRequestLog checks that the log at path holds no secret and, when lines are wanted, request lines.
func checkRequestLog(b *testing.B, path, secret string, lines bool) {
	b.Helper()
	content, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	if bytes.Contains(content, []byte(secret)) {
		b.Fatal("the log holds a secret")
	}
	count := bytes.Count(content, []byte(`"msg":"request answered"`))
	if !lines {
		if count > 0 {
			b.Fatalf("%d request lines in the log, want none", count)
		}
		return
	}
	if count == 0 || !bytes.Contains(content, []byte(`"status":200,"outcome":"answered","route":"bank-bot-balance-demo"`)) {
		b.Fatalf("%d request lines in the log, none of an answer by bank-bot-balance-demo", count)
	}
}

// BenchmarkDialogflowESBalanceReplay is BenchmarkDialogflowESBalance with the same responseId every time, as
// when Dialogflow retries: after the first, each request is answered from the idempotency store (Memory) without
// matching a route.
func BenchmarkDialogflowESBalanceReplay(b *testing.B) {
	s := newBenchServer(b, "bank-bot", bankSample)
	request := esRequest("demo")
	request.serve(s, newBenchWriter()) // the first: processed and stored
	request.replay = true
	runBench(b, s, request, checkES("Your demo account balance is 1234.56 EUR.", "last_balance"))
}

// BenchmarkDialogflowESBalance1000Routes is BenchmarkDialogflowESBalance with 1,000 more routes on the endpoint.
// distinct-intents: each extra route has an intent of its own and a guard (a large agent), so the route index
// leaves them out of the match. same-intent-guards: every extra route lists GetAccountBalance at a higher
// priority with a guard that is false, so all 1,000 guards are evaluated before the demo route matches (the
// worst case: a request walks every route).
func BenchmarkDialogflowESBalance1000Routes(b *testing.B) {
	extra := map[string]func(i int) string{
		"distinct-intents": func(i int) string {
			return fmt.Sprintf(`
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: faq-%04[1]d}
spec:
  endpointRef: {name: bank-bot}
  match:
    intents: [FAQ-%04[1]d]
    actions: [faq.%04[1]d]
    when: 'has(params.topic) && params.topic != ""'
  respond:
    text: Answer %[1]d about ${params.topic}.
`, i)
		},
		"same-intent-guards": func(i int) string {
			return fmt.Sprintf(`
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: balance-acct-%04[1]d}
spec:
  endpointRef: {name: bank-bot}
  priority: 20
  match:
    intents: [GetAccountBalance]
    when: params.account == "acct-%04[1]d"
  respond:
    text: Your account %[1]d balance is ${string(%[1]d * 10)} EUR.
`, i)
		},
	}
	for _, name := range []string{"distinct-intents", "same-intent-guards"} {
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			var routes strings.Builder
			for i := range 1000 {
				if i > 0 {
					routes.WriteString("---")
				}
				routes.WriteString(extra[name](i))
			}
			writeBenchFile(b, dir, "extra-routes.yaml", routes.String())
			s := newBenchServer(b, "bank-bot", bankSample, dir)
			if n := s.current.Load().byPath["/bank-bot"].endpoint.RouteCount(); n != 1003 {
				b.Fatalf("%d routes loaded, want 1003", n)
			}
			runBench(b, s, esRequest("demo"), checkES("Your demo account balance is 1234.56 EUR.", "last_balance"))
		})
	}
}

// BenchmarkDialogflowESCall is the bank-bot sample's balance route for a non-demo account: the demo route's
// guard is false, the balance route calls the bank API (a loopback httptest server, with the Authorization
// header from a Secret) and maps its JSON answer into the text and a session parameter. The upstream's own
// work runs in the same process and is measured too.
func BenchmarkDialogflowESCall(b *testing.B) {
	dir, calls := bankCallSample(b)
	s := newBenchServer(b, "bank-bot", dir)
	runBench(b, s, esRequest("checking"), checkES("Your checking account balance is 1520.75 EUR.", "last_balance"))
	if calls.Load() == 0 {
		b.Fatal("the upstream was never called")
	}
}

// bankCallSample is the bank-bot sample in a folder of its own, its bank API's URL pointing at a loopback
// upstream that counts its calls.
func bankCallSample(b *testing.B) (string, *atomic.Int64) {
	var calls atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer example-bank-api-token" || r.URL.Path != "/accounts/checking/balance" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"account":"checking","balance":1520.75,"currency":"EUR","asOf":"2025-06-24T12:34:56Z"}`)
	}))
	b.Cleanup(upstream.Close)

	// The sample as it is, with the bank API's URL pointing at the loopback upstream.
	dir := b.TempDir()
	for _, name := range []string{"endpoint.yaml", "secrets.yaml", "routes.yaml"} {
		content, err := os.ReadFile(filepath.Join(bankSample, name))
		if err != nil {
			b.Fatal(err)
		}
		const bankAPI = "http://bank-api.bank.svc.cluster.local"
		if name == "routes.yaml" && !bytes.Contains(content, []byte(bankAPI)) {
			b.Fatalf("%s no longer calls %s", name, bankAPI)
		}
		writeBenchFile(b, dir, name, strings.ReplaceAll(string(content), bankAPI, upstream.URL))
	}
	return dir, &calls
}

// genericEndpoint serves the generic-events sample's routes with bearer auth and synchronous delivery (the
// sample's own endpoint signs with Standard Webhooks and queues asynchronously).
const genericEndpoint = `
apiVersion: v1
kind: Secret
metadata: {name: payments-events-token}
stringData: {token: bench-events-token}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: payments-events}
spec:
  dialect: Generic
  path: /events
  timeout: 15s
  auth:
    bearer: {secretRef: {name: payments-events-token, key: token}}
  limits: {maxBodyBytes: 512Ki}
`

// BenchmarkGenericRespond is a Generic refund.created event answered by the generic-events sample's routes:
// the review route's guard reads the event body (false: the amount is small), the refund route answers from a
// template over the body.
func BenchmarkGenericRespond(b *testing.B) {
	benchGenericRefund(b, genericEndpoint, nil)
}

// BenchmarkGenericRespondBehindProxy is BenchmarkGenericRespond through a trusted proxy of the IP allowlist:
// X-Forwarded-For is read for the allowlist and, only once an address has failed, for its budget of failures.
func BenchmarkGenericRespondBehindProxy(b *testing.B) {
	// httptest's requests come from 192.0.2.1.
	endpoint := strings.Replace(genericEndpoint, "  auth:\n",
		"  auth:\n    ipAllowlist: {cidrs: [0.0.0.0/0], trustedProxies: [192.0.2.0/24]}\n", 1)
	benchGenericRefund(b, endpoint, http.Header{"X-Forwarded-For": {"198.51.100.7, 192.0.2.9"}})
}

// benchGenericRefund serves the refund.created event to endpoint, with the generic-events sample's routes and
// the extra headers.
func benchGenericRefund(b *testing.B, endpoint string, extra http.Header) {
	dir := b.TempDir()
	writeBenchFile(b, dir, "endpoint.yaml", endpoint)
	routes, err := os.ReadFile("../../config/samples/generic-events/routes.yaml")
	if err != nil {
		b.Fatal(err)
	}
	writeBenchFile(b, dir, "routes.yaml", string(routes))
	s := newBenchServer(b, "payments-events", dir)

	body := `{"id":"evt_` + idMarker + `","event":"refund.created","timestamp":"2025-06-24T12:34:56Z",` +
		`"session":{"id":"cus_9aBcD","parameters":{"customer":"cus_9aBcD"}},` +
		`"data":{"id":"re_3NkLmP0qRsTuVwXy","amount":5000,"currency":"eur","charge":"ch_3NkLmP0qRsTuVwXy","reason":"requested_by_customer"}}`
	header := http.Header{
		"Authorization": {"Bearer bench-events-token"},
		"Content-Type":  {"application/json"},
	}
	for name, values := range extra {
		header[name] = values
	}
	request := newBenchRequest("/events", body, header)
	runBench(b, s, request, func(b *testing.B, w *benchWriter) {
		if got, want := w.body.String(), `{"fulfillmentText":"Refund re_3NkLmP0qRsTuVwXy recorded."}`; got != want {
			b.Fatalf("answer %s, want %s", got, want)
		}
	})
}

// runBench checks one answer with check, then measures serially and in parallel (8 goroutines per P, as many
// concurrent connections would). Both report req/s: for parallel, ns/op is wall time divided by requests.
func runBench(b *testing.B, s *Server, request *benchRequest, check func(*testing.B, *benchWriter)) {
	b.Helper()
	w := newBenchWriter()
	request.serve(s, w)
	if !request.answered(w) {
		b.Fatal(request.problem(w))
	}
	check(b, w)

	b.Run("serial", func(b *testing.B) {
		w := newBenchWriter()
		r := request.clone()
		b.ReportAllocs()
		for b.Loop() {
			r.serve(s, w)
			if !r.answered(w) {
				b.Fatal(r.problem(w))
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
	b.Run("parallel", func(b *testing.B) {
		var failed atomic.Int64
		var firstFailure atomic.Pointer[string]
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			w := newBenchWriter()
			r := request.clone()
			for pb.Next() {
				r.serve(s, w)
				if !r.answered(w) && failed.Add(1) == 1 {
					problem := r.problem(w)
					firstFailure.Store(&problem)
				}
			}
		})
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d of %d answers failed; the first: %s", n, b.N, *firstFailure.Load())
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

// newBenchServer compiles the manifests at paths, serving the endpoint named endpointName. The log is the
// server's JSON log, discarded, so that formatting each request's log line is measured; the GC keeps the
// runway the webhookserver binary gives it (--gc-runway).
func newBenchServer(b *testing.B, endpointName string, paths ...string) *Server {
	b.Helper()
	return newBenchServerWith(b, Options{Source: &ManifestSource{Paths: paths, Endpoint: endpointName}})
}

// newBenchServerWith is a server of opts, logging JSON to io.Discard.
func newBenchServerWith(b *testing.B, opts Options) *Server {
	b.Helper()
	gcpercent.KeepRunway()
	opts.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	s, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func writeBenchFile(b *testing.B, dir, name, content string) {
	b.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		b.Fatal(err)
	}
}

func esRequest(account string) *benchRequest {
	return newBenchRequest("/bank-bot", fmt.Sprintf(esBalanceRequest, account), http.Header{
		"Authorization": {bankBasicAuth},
		"Content-Type":  {"application/json"},
	})
}

// checkES decodes the answer as Dialogflow does (an unknown field is an error) and checks its text and that
// the session parameter is in the session's output context.
func checkES(text, parameter string) func(*testing.B, *benchWriter) {
	return func(b *testing.B, w *benchWriter) {
		b.Helper()
		answer := &dialogflowpb.WebhookResponse{}
		if err := (protojson.UnmarshalOptions{}).Unmarshal(w.body.Bytes(), answer); err != nil {
			b.Fatalf("Dialogflow would refuse the answer: %v\n%s", err, w.body.String())
		}
		if answer.GetFulfillmentText() != text {
			b.Fatalf("fulfillmentText %q, want %q", answer.GetFulfillmentText(), text)
		}
		contexts := answer.GetOutputContexts()
		if len(contexts) != 1 || !strings.HasPrefix(contexts[0].GetName(), "projects/demo-proj/agent/sessions/sess-123/contexts/") ||
			contexts[0].GetParameters().GetFields()[parameter] == nil {
			b.Fatalf("want %s in one output context of the session: %s", parameter, w.body.String())
		}
	}
}

// idMarker in a request body is replaced by a new 16-digit hex id before each serve: the sample endpoints key
// idempotency on the delivery id, and a repeated id would measure the replay of a stored answer.
const idMarker = "XXXXXXXXXXXXXXXX"

// clones numbers the copies of requests, so that each has ids of its own.
var clones atomic.Uint64

// benchRequest is a request served again and again: its body is rewound (and given a new id) before each
// serve, so that building requests is not measured. (net/http builds one per request; that cost belongs to the
// listener, which these benchmarks leave out.)
type benchRequest struct {
	req  *http.Request
	body []byte
	read *rewindBody
	// idAt is where idMarker was in body, or -1; ids are prefix<<40 | seq.
	idAt   int
	prefix uint64
	seq    uint64
	// replay is true when the answer must be a replay (the same id every time).
	replay bool
}

type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

func newBenchRequest(path, body string, header http.Header) *benchRequest {
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080"+path, nil)
	req.Header = header
	r := &benchRequest{req: req, body: []byte(body)}
	r.idAt = bytes.Index(r.body, []byte(idMarker))
	return r.clone()
}

// clone is a copy for another goroutine, with ids of its own.
func (r *benchRequest) clone() *benchRequest {
	c := &benchRequest{req: r.req.Clone(r.req.Context()), body: bytes.Clone(r.body), read: &rewindBody{},
		idAt: r.idAt, prefix: clones.Add(1), replay: r.replay}
	c.req.Body = c.read
	c.req.ContentLength = int64(len(c.body))
	return c
}

func (r *benchRequest) serve(s *Server, w *benchWriter) {
	if r.idAt >= 0 && !r.replay {
		r.seq++
		id := r.prefix<<40 | r.seq
		const digits = "0123456789abcdef"
		for i := r.idAt + len(idMarker) - 1; i >= r.idAt; i-- {
			r.body[i] = digits[id&0xf]
			id >>= 4
		}
	}
	w.reset()
	r.read.Reset(r.body)
	s.ServeHTTP(w, r.req)
}

// answered is a 200 answer from the route (not a fallback), replayed when a replay is expected and not
// otherwise.
func (r *benchRequest) answered(w *benchWriter) bool {
	_, fallback := w.header[endpoint.FallbackHeader]
	_, replayed := w.header[endpoint.ReplayedHeader]
	return w.status == http.StatusOK && !fallback && replayed == r.replay
}

func (r *benchRequest) problem(w *benchWriter) string {
	return fmt.Sprintf("status %d, %s %q, %s %q (want replayed: %t): %s", w.status,
		endpoint.FallbackHeader, w.header.Get(endpoint.FallbackHeader),
		endpoint.ReplayedHeader, w.header.Get(endpoint.ReplayedHeader), r.replay, w.body.String())
}

// benchWriter is a reusable http.ResponseWriter, lighter than httptest.ResponseRecorder.
type benchWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBenchWriter() *benchWriter { return &benchWriter{header: http.Header{}} }

func (w *benchWriter) Header() http.Header { return w.header }

func (w *benchWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

func (w *benchWriter) reset() {
	clear(w.header)
	w.status = 0
	w.body.Reset()
}
