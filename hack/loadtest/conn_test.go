package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// runJSON runs the load generator with args and -json and returns its result and exit code; bad flags fail
// the test.
func runJSON(t *testing.T, args ...string) (Result, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append(args, "-json"), &out, &errOut)
	if code == 2 {
		t.Fatalf("exit 2: %s", errOut.String())
	}
	var result Result
	if err := json.Unmarshal(out.Bytes(), &result); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	return result, code
}

// countingServer is an httptest server that counts the connections it accepted.
func countingServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	server := httptest.NewUnstartedServer(handler)
	server.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	server.Start()
	t.Cleanup(server.Close)
	return server, &conns
}

// rawServer accepts connections on loopback and hands each to handle on its own goroutine; it returns its URL
// and the count of connections accepted.
func rawServer(t testing.TB, handle func(net.Conn)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String(), &accepted
}

// readRequest reads one request (head and Content-Length body) and returns it as sent.
func readRequest(br *bufio.Reader) (string, error) {
	var raw []byte
	length := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return "", err
		}
		raw = append(raw, line...)
		if name, value, ok := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return "", err
			}
		}
		if len(line) <= 2 {
			break
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(br, body); err != nil {
		return "", err
	}
	return string(append(raw, body...)), nil
}

// serveFixed answers each request on c with response, allocating nothing once warm (for the allocation test
// and the benchmark, whose counts include the server's).
func serveFixed(c net.Conn, response []byte) {
	br := bufio.NewReader(c)
	for {
		length := 0
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			line = bytes.TrimRight(line, "\r\n")
			if len(line) == 0 {
				break
			}
			if colon := bytes.IndexByte(line, ':'); colon > 0 && bytes.EqualFold(line[:colon], []byte("Content-Length")) {
				n, _ := parseDecimal(bytes.TrimSpace(line[colon+1:]))
				length = int(n)
			}
		}
		if _, err := br.Discard(length); err != nil {
			return
		}
		if _, err := c.Write(response); err != nil {
			return
		}
	}
}

func TestContentLengthBodies(t *testing.T) {
	big := strings.Repeat("x", 100_000)
	server, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		body := "ok"
		if r.URL.Query().Get("big") != "" {
			body = big
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = io.WriteString(w, body)
	})
	for _, url := range []string{server.URL, server.URL + "/?big=1"} {
		conns.Store(0)
		result, _ := runJSON(t, "-url", url, "-body", "{}", "-c", "4", "-d", "200ms", "-warmup", "0s")
		if result.Requests < 20 || result.Errors != 0 || result.Status["200"] != result.Requests {
			t.Errorf("%s: %+v", url, result)
		}
		// Every body read to its end, so the connections carried every request.
		if n := conns.Load(); n != 4 {
			t.Errorf("%s: %d connections, want 4", url, n)
		}
	}
}

func TestChunkedBodies(t *testing.T) {
	server, conns := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		_, _ = io.WriteString(w, "first part ")
		w.(http.Flusher).Flush() // the answer is chunked from here
		_, _ = io.WriteString(w, strings.Repeat("y", 20_000))
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "end")
		w.Header().Set("X-Sum", "42")
	})
	result, _ := runJSON(t, "-url", server.URL, "-body", "{}", "-c", "4", "-d", "200ms", "-warmup", "0s")
	if result.Requests < 20 || result.Errors != 0 || result.Status["200"] != result.Requests {
		t.Errorf("%+v", result)
	}
	if n := conns.Load(); n != 4 {
		t.Errorf("%d connections, want 4", n)
	}
}

func TestConnectionCloseRedials(t *testing.T) {
	server, conns := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "bye")
	})
	result, _ := runJSON(t, "-url", server.URL, "-body", "{}", "-c", "2", "-d", "200ms", "-warmup", "0s")
	if result.Requests < 20 || result.Errors != 0 || result.Status["200"] != result.Requests {
		t.Errorf("%+v", result)
	}
	if n := conns.Load(); n < result.Requests {
		t.Errorf("%d connections for %d requests answered with Connection: close", n, result.Requests)
	}
}

func TestServerClosingMidResponseIsATransportError(t *testing.T) {
	var calls atomic.Int64
	server, conns := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1)%2 == 0 {
			c, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it")
			_ = buf.Flush()
			c.Close()
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	result, _ := runJSON(t, "-url", server.URL, "-body", "{}", "-c", "2", "-d", "200ms", "-warmup", "0s")
	closed := result.TransportErrors["connection closed early"]
	if result.Requests < 20 || closed == 0 || result.Status["200"] == 0 || result.Errors != closed ||
		result.Status["200"]+closed != result.Requests {
		t.Errorf("%+v", result)
	}
	if n := conns.Load(); n < closed {
		t.Errorf("%d connections for %d broken ones: not redialled", n, closed)
	}
}

func TestRequestIsSentAsGiven(t *testing.T) {
	requests := make(chan string, 1)
	url, _ := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := readRequest(br)
			if err != nil {
				return
			}
			select {
			case requests <- req:
			default:
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	})
	result, _ := runJSON(t, "-url", url+"/path?q=1", "-body", `{"id":"ID"}`, "-id-token", "ID", "-basic", "user:secret",
		"-header", "X-Multi: a", "-header", "x-multi: b", "-header", "Content-Length: 999", "-c", "1", "-d", "50ms", "-timeout", "1s",
		"-warmup", "0s")
	if result.Errors != 0 || result.Requests == 0 {
		t.Fatalf("%+v", result)
	}
	var got string
	select {
	case got = <-requests:
	default:
		t.Fatal("no request arrived") // the run has ended
	}
	host := strings.TrimPrefix(url, "http://")
	// The first request has id 1, after the run's prefix.
	prefix := got[strings.Index(got, `{"id":"`)+7 : strings.LastIndex(got, `1"}`)]
	body := `{"id":"` + prefix + `1"}`
	want := "POST /path?q=1 HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: fulfillment-loadtest\r\n" +
		"Authorization: Basic dXNlcjpzZWNyZXQ=\r\nContent-Type: application/json\r\nX-Multi: a\r\nX-Multi: b\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if got != want {
		t.Errorf("sent\n%q\nwant\n%q", got, want)
	}
}

func TestHeadersAndBasicAuthArrive(t *testing.T) {
	var bad atomic.Int64
	server, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "u" || pass != "p:q" || r.Header.Get("X-Test") != "a b" || r.Host != "example.test" ||
			r.Header.Get("Content-Type") != "text/plain" || r.Method != http.MethodPut || r.URL.RequestURI() != "/x?y=z" {
			bad.Add(1)
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	result, _ := runJSON(t, "-url", server.URL+"/x?y=z", "-method", "PUT", "-body", "hello", "-basic", "u:p:q",
		"-header", "X-Test: a b", "-header", "Host: example.test", "-header", "Content-Type: text/plain",
		"-c", "2", "-d", "100ms", "-warmup", "0s")
	if result.Requests == 0 || result.Errors != 0 || bad.Load() != 0 {
		t.Errorf("%d bad requests: %+v", bad.Load(), result)
	}
}

func TestIDsAreUniqueAndContentLengthMatches(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var bad atomic.Int64
	server, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req struct {
			ResponseID string `json:"responseId"`
			Text       string `json:"text"`
		}
		if err != nil || int64(len(body)) != r.ContentLength || json.Unmarshal(body, &req) != nil || req.Text != "the same" {
			bad.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if seen[req.ResponseID] {
			bad.Add(1)
			w.WriteHeader(http.StatusConflict)
			return
		}
		seen[req.ResponseID] = true
	})
	// Long enough for the ids to pass 9, 99 and 999, so that Content-Length changes.
	result, _ := runJSON(t, "-url", server.URL, "-body", `{"responseId":"r-{{id}}","text":"the same"}`, "-id-token", "{{id}}",
		"-c", "4", "-d", "300ms", "-warmup", "0s")
	if result.Requests < 1000 || result.Errors != 0 || bad.Load() != 0 {
		t.Errorf("%d bad requests: %+v", bad.Load(), result)
	}
	mu.Lock()
	defer mu.Unlock()
	if int64(len(seen)) < result.Requests {
		t.Errorf("%d distinct ids for %d requests", len(seen), result.Requests)
	}
}

// TestTargetsSpreadRequestsWithTheirOwnAuthorization sends to three paths, two with an Authorization header of
// their own and one with -basic's: every request must arrive on a listed path with that path's header, and
// every path must get a share.
func TestTargetsSpreadRequestsWithTheirOwnAuthorization(t *testing.T) {
	want := map[string]string{"/bots/a": "Basic YTph", "/bots/b?x=1": "Bearer b", "/bots/c": "Basic dTpw"}
	var mu sync.Mutex
	got := map[string]int{}
	var bad atomic.Int64
	server, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		authorization, listed := want[r.URL.RequestURI()]
		if !listed || r.Header.Get("Authorization") != authorization || r.Header.Get("X-Test") != "kept" {
			bad.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		got[r.URL.RequestURI()]++
	})
	targets := filepath.Join(t.TempDir(), "targets.txt")
	content := "# path and Authorization\n/bots/a Basic YTph\n\n/bots/b?x=1 Bearer b\n/bots/c\n"
	if err := os.WriteFile(targets, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	result, _ := runJSON(t, "-url", server.URL+"/ignored", "-targets", targets, "-basic", "u:p", "-header", "X-Test: kept",
		"-body", "{}", "-c", "4", "-d", "200ms", "-warmup", "0s")
	if result.Requests < 100 || result.Errors != 0 || bad.Load() != 0 {
		t.Fatalf("%d bad requests: %+v", bad.Load(), result)
	}
	mu.Lock()
	defer mu.Unlock()
	for path := range want {
		if got[path] < int(result.Requests)/10 {
			t.Errorf("%s got %d of %d requests: %v", path, got[path], result.Requests, got)
		}
	}
}

func TestTargetsFileMustListPaths(t *testing.T) {
	targets := filepath.Join(t.TempDir(), "targets.txt")
	if err := os.WriteFile(targets, []byte("bots/a Basic YTph\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"-url", "http://127.0.0.1:1/", "-targets", targets}, &out, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), "line 1") {
		t.Errorf("exit %d, %q: want 2 and the line named", code, errOut.String())
	}
}

func TestStatusCodesOutside2xxAreErrors(t *testing.T) {
	codes := []int{200, 201, 204, 302, 404, 500, 503}
	var calls atomic.Int64
	server, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		code := codes[(calls.Add(1)-1)%int64(len(codes))]
		if code == http.StatusFound {
			w.Header().Set("Location", "/elsewhere") // counted, not followed
		}
		w.WriteHeader(code)
		if code != http.StatusNoContent {
			_, _ = io.WriteString(w, "body")
		}
	})
	result, _ := runJSON(t, "-url", server.URL, "-body", "{}", "-c", "1", "-d", "200ms", "-warmup", "0s")
	for _, code := range codes {
		if result.Status[strconv.Itoa(code)] == 0 {
			t.Errorf("no %d counted: %+v", code, result)
		}
	}
	if want := result.Status["302"] + result.Status["404"] + result.Status["500"] + result.Status["503"]; result.Errors != want ||
		len(result.TransportErrors) != 0 {
		t.Errorf("%d errors, want %d: %+v", result.Errors, want, result)
	}
}

func TestHeadResponsesHaveNoBody(t *testing.T) {
	server, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "1000") // the length a GET would have; no body follows
	})
	result, _ := runJSON(t, "-url", server.URL, "-method", "HEAD", "-c", "2", "-d", "200ms", "-warmup", "0s", "-timeout", "1s")
	if result.Requests < 20 || result.Errors != 0 {
		t.Errorf("%+v", result)
	}
}

func TestExpectContinueIsSkipped(t *testing.T) {
	server, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // net/http writes "100 Continue" first
		_, _ = io.WriteString(w, "ok")
	})
	result, _ := runJSON(t, "-url", server.URL, "-body", "{}", "-header", "Expect: 100-continue",
		"-c", "2", "-d", "200ms", "-warmup", "0s")
	if result.Requests < 20 || result.Errors != 0 || result.Status["200"] != result.Requests || conns.Load() != 2 {
		t.Errorf("%d connections: %+v", conns.Load(), result)
	}
}

func TestTimeout(t *testing.T) {
	server, _ := countingServer(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	result, code := runJSON(t, "-url", server.URL, "-c", "2", "-d", "200ms", "-warmup", "0s", "-timeout", "50ms")
	if code != 1 || result.Requests == 0 || result.TransportErrors["timeout"] != result.Requests {
		t.Errorf("exit %d: %+v", code, result)
	}
}

// exchangeWith serves response (after reading the request) and then closes the connection or keeps it for
// the next request; it returns what two round trips on one conn gave and the connections the server accepted.
func exchangeWith(t *testing.T, response string, closeAfter bool) (status [2]int, errs [2]error, accepted int64) {
	t.Helper()
	url, n := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			_, _ = io.WriteString(c, response)
			if closeAfter {
				return
			}
		}
	})
	tgt, err := newTarget(config{url: url, method: "POST", body: []byte("{}"), header: http.Header{}, timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(tgt)
	defer c.close()
	for i := range 2 {
		status[i], errs[i] = c.roundTrip(time.Now())
	}
	return status, errs, n.Load()
}

func TestResponseFraming(t *testing.T) {
	for _, tc := range []struct {
		name, response string
		closeAfter     bool
		status         int
		connections    int64 // for the two requests
	}{
		{"content length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 200, 1},
		{"no reason phrase", "HTTP/1.1 201\r\ncontent-length: 0\r\n\r\n", false, 201, 1},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false, 200, 1},
		{"chunked with extension and trailer",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n", false, 200, 1},
		{"chunked wins over content length",
			"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false, 200, 1},
		{"1xx skipped",
			"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok", false, 202, 1},
		{"204 without length", "HTTP/1.1 204 No Content\r\n\r\n", false, 204, 1},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", true, 200, 2},
		{"connection close in a list", "HTTP/1.1 200 OK\r\nConnection: foo, Close\r\nContent-Length: 2\r\n\r\nok", true, 200, 2},
		{"HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", true, 200, 2},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", false, 200, 1},
		{"body to the close", "HTTP/1.1 200 OK\r\n\r\nall of this until the end", true, 200, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, errs, accepted := exchangeWith(t, tc.response, tc.closeAfter)
			for i := range 2 {
				if errs[i] != nil || status[i] != tc.status {
					t.Errorf("request %d: %d, %v; want %d", i, status[i], errs[i], tc.status)
				}
			}
			if accepted != tc.connections {
				t.Errorf("%d connections, want %d", accepted, tc.connections)
			}
		})
	}
}

func TestMalformedResponses(t *testing.T) {
	for _, tc := range []struct {
		name, response string
		closeAfter     bool
		class          string // classify of the first request's error
	}{
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", false, "malformed response: bad status line"},
		{"HTTP/2 status line", "HTTP/2 200\r\n\r\n", false, "malformed response: bad status line"},
		{"bad status code", "HTTP/1.1 2x0 OK\r\n\r\n", false, "malformed response: bad status code"},
		{"bad content length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, "malformed response: bad Content-Length"},
		{"two content lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok", false, "malformed response: bad Content-Length"},
		{"header without colon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", false, "malformed response: header line without a name and a colon"},
		{"folded header", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n", false, "malformed response: header line folded"},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, "malformed response: bad chunk size"},
		{"chunk longer than its size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokay\r\n0\r\n\r\n", false, "malformed response: chunk longer than its size"},
		{"line too long", "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("a", readBufferSize) + "\r\n\r\n", false, "malformed response: line longer than the read buffer"},
		{"switching protocols", "HTTP/1.1 101 Switching Protocols\r\n\r\n", false, "malformed response: 101 Switching Protocols to a request without Upgrade"},
		{"closed without answer", "", true, "connection closed early"},
		{"closed in the head", "HTTP/1.1 200 OK\r\nContent-Le", true, "connection closed early"},
		{"closed in the body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true, "connection closed early"},
		{"closed in a chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabc", true, "connection closed early"},
		{"no answer", "", false, "timeout"},
		{"body shorter than its length", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, errs, accepted := exchangeWith(t, tc.response, tc.closeAfter)
			if errs[0] == nil {
				t.Fatalf("status %d, no error", status[0])
			}
			if got := classify(errs[0]); got != tc.class {
				t.Errorf("classified %q (%v), want %q", got, errs[0], tc.class)
			}
			// The connection is not reused after an error.
			if accepted != 2 {
				t.Errorf("%d connections, want 2", accepted)
			}
		})
	}
}

func TestLargeBodyIsWrittenWhole(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB, more than a socket's buffers
	var bad atomic.Int64
	server, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		got, err := io.ReadAll(r.Body)
		if err != nil || !bytes.Equal(got, body) {
			bad.Add(1)
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	file := t.TempDir() + "/body"
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	result, _ := runJSON(t, "-url", server.URL, "-body-file", file, "-c", "2", "-d", "300ms", "-warmup", "0s")
	if result.Requests == 0 || result.Errors != 0 || bad.Load() != 0 {
		t.Errorf("%d bad bodies: %+v", bad.Load(), result)
	}
}

func TestResetConnectionIsATransportErrorThenRedialled(t *testing.T) {
	var first atomic.Bool
	url, accepted := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		reset := first.CompareAndSwap(false, true)
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			if reset { // the first connection answers once, then is reset (RST, not FIN)
				_ = c.(*net.TCPConn).SetLinger(0)
				return
			}
		}
	})
	tgt, err := newTarget(config{url: url, method: "POST", body: []byte("{}"), header: http.Header{}, timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(tgt)
	defer c.close()
	if status, err := c.roundTrip(time.Now()); err != nil || status != 200 {
		t.Fatalf("first request: %d, %v", status, err)
	}
	time.Sleep(20 * time.Millisecond) // the reset arrives; too short for the idle probe
	_, err = c.roundTrip(time.Now())
	t.Logf("second request: %v", err)
	if class := classify(err); class != "connection reset" && class != "broken pipe" && class != "connection closed early" {
		t.Errorf("second request: %v, classified %q", err, class)
	}
	if status, err := c.roundTrip(time.Now()); err != nil || status != 200 || accepted.Load() != 2 {
		t.Errorf("third request: %d, %v, %d connections", status, err, accepted.Load())
	}
}

func TestConnectionClosedWhileIdleIsRedialled(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no idle probe on " + runtime.GOOS)
	}
	server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	server.Config.IdleTimeout = 20 * time.Millisecond
	server.Start()
	defer server.Close()
	tgt, err := newTarget(config{url: server.URL, method: "POST", header: http.Header{}, timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(tgt)
	defer c.close()
	for i := range 3 {
		if status, err := c.roundTrip(time.Now()); err != nil || status != 200 {
			t.Fatalf("request %d: %d, %v", i, status, err)
		}
		time.Sleep(idleProbeAfter + 50*time.Millisecond) // the server closes the idle connection meanwhile
	}
}

func TestHTTPS(t *testing.T) {
	var conns atomic.Int64
	server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || r.ProtoMajor != 1 {
			w.WriteHeader(http.StatusBadRequest)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	server.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	server.StartTLS()
	defer server.Close()
	tgt, err := newTarget(config{url: server.URL, method: "GET", header: http.Header{}, timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(server.Certificate())
	tgt.tlsConfig.RootCAs = roots
	c := newConn(tgt)
	defer c.close()
	for i := range 3 {
		if status, err := c.roundTrip(time.Now()); err != nil || status != 200 {
			t.Fatalf("request %d: %d, %v", i, status, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestBadRequestSettingsFailEarly(t *testing.T) {
	for _, args := range [][]string{
		{"-method", "GE T"},
		{"-header", "Bad Name: x"},
	} {
		var out, errOut bytes.Buffer
		if code := run(append([]string{"-url", "http://127.0.0.1:1/", "-d", "1s"}, args...), &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2: %s", args, code, errOut.String())
		}
	}
}

// fixedResponse is a small JSON answer, as a webhook's.
const fixedResponse = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 57\r\n\r\n" +
	`{"fulfillmentText":"Your demo account balance is 1.23."}` + "\n"

func TestRoundTripDoesNotAllocate(t *testing.T) {
	url, _ := rawServer(t, func(c net.Conn) { serveFixed(c, []byte(fixedResponse)) })
	body := []byte(`{"responseId":"{{id}}","queryText":"what is the balance of my demo account"}`)
	cfg := config{url: url, method: "POST", body: body, header: http.Header{"Content-Type": {"application/json"}},
		timeout: time.Second, bodyParts: bytes.Split(body, []byte("{{id}}")), idPrefix: "run-", ids: &atomic.Uint64{}}
	tgt, err := newTarget(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(tgt)
	defer c.close()
	var failed error
	allocs := testing.AllocsPerRun(1000, func() {
		if status, err := c.roundTrip(time.Now()); (err != nil || status != 200) && failed == nil {
			failed = fmt.Errorf("%d, %w", status, err)
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if allocs > 0 {
		t.Errorf("%v allocations per request, want 0", allocs)
	}
}

// BenchmarkRoundTrip sends requests over one loopback connection to a server that allocates nothing, with this
// client and with net/http's (as the generator used before), so that -benchmem shows the client's allocations.
func BenchmarkRoundTrip(b *testing.B) {
	url, _ := rawServer(b, func(c net.Conn) { serveFixed(c, []byte(fixedResponse)) })
	body := []byte(`{"responseId":"8d1d2f6e-{{id}}","session":"projects/demo-proj/agent/sessions/sess-123",` +
		`"queryResult":{"queryText":"what is the balance of my demo account","parameters":{"account":"demo"}}}`)
	header := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Basic ZGlhbG9nZmxvdzpjaGFuZ2UtbWU="}}
	cfg := config{url: url, method: "POST", body: body, header: header, timeout: time.Second,
		bodyParts: bytes.Split(body, []byte("{{id}}")), idPrefix: "bench-", ids: &atomic.Uint64{}}

	b.Run("conn", func(b *testing.B) {
		tgt, err := newTarget(cfg)
		if err != nil {
			b.Fatal(err)
		}
		c := newConn(tgt)
		defer c.close()
		b.ReportAllocs()
		for b.Loop() {
			if status, err := c.roundTrip(time.Now()); err != nil || status != 200 {
				b.Fatal(status, err)
			}
		}
	})
	b.Run("net-http", func(b *testing.B) {
		transport := &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 1}
		defer transport.CloseIdleConnections()
		client := &http.Client{Transport: transport, Timeout: time.Second}
		b.ReportAllocs()
		for b.Loop() { // as the generator's send did
			id := strconv.AppendUint([]byte(cfg.idPrefix), cfg.ids.Add(1), 10)
			req, err := http.NewRequestWithContext(context.Background(), cfg.method, cfg.url, bytes.NewReader(bytes.Join(cfg.bodyParts, id)))
			if err != nil {
				b.Fatal(err)
			}
			for name, values := range cfg.header {
				req.Header[name] = values
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatal(resp.StatusCode, err)
			}
		}
	})
}
