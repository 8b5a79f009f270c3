// Command loadtest is a small HTTP load generator for measuring webhookserver on this machine: it sends one
// request again and again over keep-alive connections for a bounded time and reports throughput, errors and
// latency percentiles.
//
// Closed loop (the default, -rate 0): -c connections each send the next request as soon as the previous
// answer is read, which finds the peak throughput. Open loop (-rate N): requests start on a fixed schedule of N
// per second over at most -c connections, whatever the answers' latency; a request's latency is counted from
// its scheduled start, so a server that falls behind shows it in the percentiles (no coordinated omission).
//
// It is meant for a server on this machine (loopback): it refuses any other host unless -allow-remote is given,
// and it always stops after -warmup plus -d. Do not point it at a service you do not own.
//
//	go run ./hack/loadtest -url http://127.0.0.1:8080/bank-bot -body-file req.json -id-token '{{id}}' \
//	    -basic dialogflow:change-me-bank-bot -c 32 -d 10s
//
// -id-token puts a new id in each request's body, for servers that deduplicate requests (a repeated
// Dialogflow responseId or event id would be answered from the idempotency store).
//
// -targets spreads the requests over many paths of the server, each with its own Authorization header, as the
// bots of one shared server are called (hack/bench/gateway.sh).
//
// hack/loadtest.sh runs it against the sample bots.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
)

// maxDuration bounds a run (warmup included).
const maxDuration = time.Hour

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// headerList is the repeatable -header flag.
type headerList []string

func (h *headerList) String() string { return strings.Join(*h, "; ") }

func (h *headerList) Set(value string) error {
	name, _, ok := strings.Cut(value, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want \"Name: value\", got %q", value)
	}
	*h = append(*h, value)
	return nil
}

// config is the parsed command line.
type config struct {
	url         string
	method      string
	body        []byte
	header      http.Header
	connections int
	duration    time.Duration
	warmup      time.Duration
	rate        float64
	timeout     time.Duration
	jsonOut     bool
	jsonFile    string
	// bodyParts is the body split at -id-token, when given: each request gets a new id between the parts.
	bodyParts [][]byte
	idPrefix  string
	ids       *atomic.Uint64
	// targets are the lines of -targets: each request goes to one of them, at random.
	targets []targetLine
}

// targetLine is a line of -targets: a path on -url's server, and the Authorization header to send there (none
// when empty: -basic's or -header's then).
type targetLine struct {
	path, authorization string
}

// readTargets reads a -targets file: one "PATH [AUTHORIZATION]" per line, the path starting with /; blank lines
// and lines starting with # are skipped.
func readTargets(name string) ([]targetLine, error) {
	content, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var lines []targetLine
	for i, line := range strings.Split(string(content), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		path, authorization, _ := strings.Cut(line, " ")
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("line %d: want \"PATH [AUTHORIZATION]\" with PATH starting with /, got %q", i+1, line)
		}
		lines = append(lines, targetLine{path: path, authorization: strings.TrimSpace(authorization)})
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("no target in %s", name)
	}
	return lines, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprint(stderr, "loadtest: closed- or open-loop HTTP load for a server on this machine (loopback)\n\nUsage:\n  go run ./hack/loadtest -url URL [flags]\n\nFlags:\n")
		flags.PrintDefaults()
	}
	var headers headerList
	targetURL := flags.String("url", "", "URL to send requests to (a loopback address unless -allow-remote)")
	method := flags.String("method", http.MethodPost, "HTTP method")
	body := flags.String("body", "", "request body")
	bodyFile := flags.String("body-file", "", "file holding the request body (instead of -body)")
	flags.Var(&headers, "header", `request header "Name: value" (repeatable)`)
	basic := flags.String("basic", "", "basic auth credentials user:pass")
	connections := flags.Int("c", 32, "connections (and concurrent requests at most)")
	duration := flags.Duration("d", 10*time.Second, "measured duration")
	warmup := flags.Duration("warmup", time.Second, "load before measuring, not counted")
	rate := flags.Float64("rate", 0, "open loop: requests per second to start on schedule; 0 sends as fast as the answers come (closed loop)")
	timeout := flags.Duration("timeout", 10*time.Second, "timeout of one request")
	jsonOut := flags.Bool("json", false, "print the results as JSON instead of a table")
	jsonFile := flags.String("json-file", "", "also write the results as JSON to this file")
	idToken := flags.String("id-token", "", "replace this string in the body with an id unique to each request (for servers that deduplicate by a delivery id, such as Dialogflow's responseId)")
	targets := flags.String("targets", "", `file of "PATH [AUTHORIZATION]" lines: each request goes to one at random, on -url's server, with that line's Authorization header when it has one (many bots on one server)`)
	allowRemote := flags.Bool("allow-remote", false, "allow a host that is not a loopback address")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "loadtest: "+format+"\n", args...)
		return 2
	}
	if flags.NArg() > 0 {
		return fail("unexpected arguments %q", flags.Args())
	}

	cfg := config{method: *method, header: http.Header{}, connections: *connections, duration: *duration,
		warmup: *warmup, rate: *rate, timeout: *timeout, jsonOut: *jsonOut, jsonFile: *jsonFile}
	u, err := url.Parse(*targetURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail("-url: want an http:// or https:// URL, got %q", *targetURL)
	}
	cfg.url = u.String()
	if !*allowRemote {
		if err := checkLoopback(u.Hostname()); err != nil {
			return fail("-url: %v (this tool is for a server on this machine; -allow-remote overrides)", err)
		}
	}
	switch {
	case *body != "" && *bodyFile != "":
		return fail("give -body or -body-file, not both")
	case *bodyFile != "":
		if cfg.body, err = os.ReadFile(*bodyFile); err != nil {
			return fail("-body-file: %v", err)
		}
	default:
		cfg.body = []byte(*body)
	}
	if *idToken != "" {
		if !bytes.Contains(cfg.body, []byte(*idToken)) {
			return fail("-id-token: %q is not in the body", *idToken)
		}
		cfg.bodyParts = bytes.Split(cfg.body, []byte(*idToken))
		// Unique across runs too, so that a second run against the same server is not taken for duplicates.
		cfg.idPrefix = strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
		cfg.ids = &atomic.Uint64{}
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		cfg.header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if *basic != "" {
		user, pass, ok := strings.Cut(*basic, ":")
		if !ok {
			return fail("-basic: want user:pass")
		}
		probe := &http.Request{Header: http.Header{}}
		probe.SetBasicAuth(user, pass)
		cfg.header.Set("Authorization", probe.Header.Get("Authorization"))
	}
	if *targets != "" {
		if cfg.targets, err = readTargets(*targets); err != nil {
			return fail("-targets: %v", err)
		}
	}
	if len(cfg.body) > 0 && cfg.header.Get("Content-Type") == "" {
		cfg.header.Set("Content-Type", "application/json")
	}
	switch {
	case cfg.connections < 1 || cfg.connections > 10000:
		return fail("-c: want 1 to 10000 connections, got %d", cfg.connections)
	case cfg.duration <= 0 || cfg.warmup < 0 || cfg.duration+cfg.warmup > maxDuration:
		return fail("-d and -warmup: want a positive duration, and at most %v in all", maxDuration)
	case cfg.rate < 0 || math.IsInf(cfg.rate, 0) || math.IsNaN(cfg.rate):
		return fail("-rate: want 0 (closed loop) or a positive number of requests per second")
	case cfg.timeout <= 0:
		return fail("-timeout: want a positive duration")
	}

	t, err := newTarget(cfg)
	if err != nil {
		return fail("%v", err)
	}
	result := load(cfg, t)

	if cfg.jsonFile != "" {
		content, _ := json.MarshalIndent(result, "", "  ")
		if err := os.WriteFile(cfg.jsonFile, append(content, '\n'), 0o644); err != nil {
			return fail("-json-file: %v", err)
		}
	}
	if cfg.jsonOut {
		encoder := json.NewEncoder(stdout)
		encoder.SetIndent("", "  ")
		_ = encoder.Encode(result)
	} else {
		printTable(stdout, result)
	}
	if result.Requests > 0 && result.Errors == result.Requests {
		fmt.Fprintln(stderr, "loadtest: every request failed")
		return 1
	}
	return 0
}

// checkLoopback accepts localhost and loopback addresses, and names that resolve only to loopback addresses.
func checkLoopback(host string) error {
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("%s is not a loopback address", host)
		}
		return nil
	}
	addrs, err := net.LookupHost(host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("%s resolves to %s, which is not a loopback address", host, a)
		}
	}
	return nil
}

// Result is what a run measured. Durations are in milliseconds.
type Result struct {
	URL         string  `json:"url"`
	Method      string  `json:"method"`
	BodyBytes   int     `json:"bodyBytes"`
	Mode        string  `json:"mode"` // closed or open
	Connections int     `json:"connections"`
	DurationS   float64 `json:"durationSeconds"`
	WarmupS     float64 `json:"warmupSeconds"`
	// TargetRate is -rate (open loop); 0 in closed loop.
	TargetRate float64 `json:"targetRate"`

	// Requests started in the measured window and finished; Errors are those with a transport error or a
	// status outside 2xx.
	Requests        int64            `json:"requests"`
	Errors          int64            `json:"errors"`
	Status          map[string]int64 `json:"status"`
	TransportErrors map[string]int64 `json:"transportErrors,omitempty"`
	Throughput      float64          `json:"throughput"` // requests per second
	// Latency is from sending the request to reading the whole answer. In open loop, ScheduledLatency is from
	// the request's scheduled start, so it includes waiting for a free connection when the server lags.
	Latency          Latency  `json:"latencyMs"`
	ScheduledLatency *Latency `json:"scheduledLatencyMs,omitempty"`
	// MaxLagMs is, in open loop, the longest a request started after its scheduled time.
	MaxLagMs float64 `json:"maxLagMs,omitempty"`
}

// Latency summarizes a latency histogram (milliseconds).
type Latency struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// worker holds one connection's counts; merged at the end.
type worker struct {
	latency, scheduled histogram
	status             map[int]int64
	transport          map[string]int64
	requests, errors   int64
	maxLag             time.Duration
}

// load runs the workers: each owns one connection (conn.go) and sends requests in turn, closed or open loop.
func load(cfg config, t *target) *Result {
	start := time.Now()
	measureFrom := start.Add(cfg.warmup)
	end := measureFrom.Add(cfg.duration)
	// In open loop, the i-th request is scheduled at start + i*interval, the workers taking the next one in turn.
	var interval time.Duration
	if cfg.rate > 0 {
		interval = time.Duration(float64(time.Second) / cfg.rate)
		if interval <= 0 {
			interval = 1
		}
	}
	var next atomic.Int64

	workers := make([]*worker, cfg.connections)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{status: map[int]int64{}, transport: map[string]int64{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newConn(t)
			defer c.close()
			for {
				var scheduledAt time.Time
				if interval > 0 {
					scheduledAt = start.Add(time.Duration(next.Add(1)-1) * interval)
					if !scheduledAt.Before(end) {
						return
					}
					if wait := time.Until(scheduledAt); wait > 0 {
						time.Sleep(wait)
					}
				}
				sent := time.Now()
				if !sent.Before(end) {
					return
				}
				if scheduledAt.IsZero() {
					scheduledAt = sent
				}
				status, err := c.roundTrip(sent)
				done := time.Now()
				if scheduledAt.Before(measureFrom) {
					continue // warmup
				}
				w.record(status, err, done.Sub(sent), done.Sub(scheduledAt), sent.Sub(scheduledAt))
			}
		}()
	}
	wg.Wait()

	result := &Result{
		URL: cfg.url, Method: cfg.method, BodyBytes: len(cfg.body), Mode: "closed", Connections: cfg.connections,
		DurationS: cfg.duration.Seconds(), WarmupS: cfg.warmup.Seconds(), TargetRate: cfg.rate,
		Status: map[string]int64{}, TransportErrors: map[string]int64{},
	}
	var latency, scheduled histogram
	var maxLag time.Duration
	for _, w := range workers {
		result.Requests += w.requests
		result.Errors += w.errors
		for code, n := range w.status {
			result.Status[strconv.Itoa(code)] += n
		}
		for reason, n := range w.transport {
			result.TransportErrors[reason] += n
		}
		latency.merge(&w.latency)
		scheduled.merge(&w.scheduled)
		maxLag = max(maxLag, w.maxLag)
	}
	result.Throughput = float64(result.Requests) / cfg.duration.Seconds()
	result.Latency = latency.summary()
	if interval > 0 {
		result.Mode = "open"
		s := scheduled.summary()
		result.ScheduledLatency = &s
		result.MaxLagMs = ms(maxLag)
	}
	return result
}

func (w *worker) record(status int, err error, latency, scheduled, lag time.Duration) {
	w.requests++
	w.latency.add(latency)
	w.scheduled.add(scheduled)
	w.maxLag = max(w.maxLag, lag)
	if err != nil {
		w.errors++
		if len(w.transport) < 20 {
			w.transport[classify(err)]++
		} else {
			w.transport["other"]++
		}
		return
	}
	w.status[status]++
	if status < 200 || status > 299 {
		w.errors++
	}
}

// classify names a transport error without its addresses, so that errors group.
func classify(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed early"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no free local port"
	default:
		msg := err.Error()
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Err != nil {
			msg = opErr.Op + ": " + opErr.Err.Error() // without the addresses (a local port differs by connection)
		}
		if len(msg) > 80 {
			msg = msg[:80]
		}
		return msg
	}
}

// histogram counts latencies (nanoseconds) in log-linear buckets: exact below 256ns, then 128 buckets per
// power of two, so a percentile is within 0.4% of the true value. Memory is fixed whatever the run's length.
type histogram struct {
	counts   []int64
	n        int64
	sum      float64
	min, max time.Duration
}

const subBuckets = 128

func bucketOf(v int64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - 8 // v>>shift is in [128, 256)
	return 2*subBuckets + (shift-1)*subBuckets + int(v>>shift) - subBuckets
}

// bucketValue is the middle of bucket i.
func bucketValue(i int) int64 {
	if i < 2*subBuckets {
		return int64(i)
	}
	shift := (i-2*subBuckets)/subBuckets + 1
	sub := int64((i-2*subBuckets)%subBuckets + subBuckets)
	return sub<<shift + (int64(1)<<shift)/2
}

func (h *histogram) add(d time.Duration) {
	v := max(int64(d), 0)
	i := bucketOf(v)
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]int64, i+1-len(h.counts))...)
	}
	h.counts[i]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	h.max = max(h.max, d)
	h.n++
	h.sum += float64(d)
}

func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	if len(o.counts) > len(h.counts) {
		h.counts = append(h.counts, make([]int64, len(o.counts)-len(h.counts))...)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// quantile is the value of the smallest bucket with at least q of the counts at or below it, within [min, max];
// the first and last ranks are the exact min and max.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	switch rank = min(max(rank, 1), h.n); rank {
	case 1:
		return h.min
	case h.n:
		return h.max
	}
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(max(time.Duration(bucketValue(i)), h.min), h.max)
		}
	}
	return h.max
}

func (h *histogram) summary() Latency {
	if h.n == 0 {
		return Latency{}
	}
	return Latency{
		Min: ms(h.min), Mean: h.sum / float64(h.n) / 1e6,
		P50: ms(h.quantile(0.50)), P90: ms(h.quantile(0.90)), P99: ms(h.quantile(0.99)), P999: ms(h.quantile(0.999)),
		Max: ms(h.max),
	}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func printTable(out io.Writer, r *Result) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "target\t%s %s (%d-byte body)\n", r.Method, r.URL, r.BodyBytes)
	if r.Mode == "open" {
		fmt.Fprintf(tw, "mode\topen loop at %.0f req/s, at most %d connections, %gs measured after %gs warmup\n",
			r.TargetRate, r.Connections, r.DurationS, r.WarmupS)
	} else {
		fmt.Fprintf(tw, "mode\tclosed loop, %d connections, %gs measured after %gs warmup\n", r.Connections, r.DurationS, r.WarmupS)
	}
	fmt.Fprintf(tw, "requests\t%d (%d errors)\n", r.Requests, r.Errors)
	fmt.Fprintf(tw, "status\t%s\n", counts(r.Status))
	if len(r.TransportErrors) > 0 {
		fmt.Fprintf(tw, "transport errors\t%s\n", counts(r.TransportErrors))
	}
	fmt.Fprintf(tw, "throughput\t%.1f req/s\n", r.Throughput)
	fmt.Fprintln(tw, "\tmin\tmean\tp50\tp90\tp99\tp99.9\tmax")
	row := func(name string, l Latency) {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\n", name, l.Min, l.Mean, l.P50, l.P90, l.P99, l.P999, l.Max)
	}
	row("latency (ms)", r.Latency)
	if r.ScheduledLatency != nil {
		row("from schedule (ms)", *r.ScheduledLatency)
		fmt.Fprintf(tw, "max start lag\t%.3f ms\n", r.MaxLagMs)
		if r.Throughput < 0.95*r.TargetRate {
			fmt.Fprintf(tw, "note\tbelow the target rate: the server (or -c %d connections) could not keep up\n", r.Connections)
		}
	}
	_ = tw.Flush()
}

// counts formats name: count pairs in order of name.
func counts(m map[string]int64) string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s: %d", name, m[name]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
