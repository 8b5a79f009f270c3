// The load generator's own HTTP/1.1 client.
//
// A load generator must cost far less than the server it measures (as wrk does), or its own CPU time and
// scheduling show up in the latencies it reports and cap the throughput it can reach. net/http's client costs
// far more CPU per request (docs/benchmarks.md): allocations for each request and response, and a readLoop and
// a writeLoop goroutine per connection that hand every request and answer over to the caller's goroutine. This client is what the generator needs and no
// more:
//
//   - one goroutine per connection (the worker) owning one TCP connection, dialled when first needed and again
//     after a transport error or when the server closes it (Connection: close, or a response delimited by the
//     connection's end);
//   - the request line and headers built once (target), or once per line of -targets, one of which each request
//     takes at random; per request only the body's id (-id-token) and so the Content-Length are written, into a
//     buffer the connection reuses;
//   - the response read from a bufio.Reader the connection reuses: the status line, the headers that frame
//     the body (Content-Length, Transfer-Encoding: chunked, Connection), the body discarded; 1xx responses
//     skipped; HEAD, 204 and 304 responses have no body;
//   - one deadline per request (-timeout) over dialling, writing and reading;
//   - on Linux, the socket read and written with raw system calls (sock_linux.go): net.Conn's enter the
//     scheduler's syscall state, which wakes the runtime's sysmon thread whenever the generator was idle, about
//     once per request in an open-loop run.
//
// Once every connection is open, a request allocates nothing (BenchmarkRoundTrip). One request at a time per
// connection, no pipelining, no HTTP/2.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// readBufferSize bounds a line of a response (status line, header, chunk size): a longer one is malformed.
const readBufferSize = 16 << 10

// idleProbeAfter is how long a connection must have been idle before a request for the connection to be
// checked first for a close by the server (peerClosed; one system call). Servers close idle keep-alive
// connections after seconds (Node 5 s, nginx 75 s); a request on such a connection would otherwise fail as
// "connection closed early" although the server never saw it. net/http's client learns of it from its readLoop.
const idleProbeAfter = 100 * time.Millisecond

// malformedError is a response this client cannot parse. Its text is fixed, so that classify groups them.
type malformedError string

func (e malformedError) Error() string { return "malformed response: " + string(e) }

// target is what every connection sends, and where to: built once from the configuration, then read-only.
type target struct {
	addr      string      // host:port to dial
	tlsConfig *tls.Config // for an https URL; nil for http
	timeout   time.Duration
	// heads are the request line and the headers, up to and including "Content-Length: " when the request has a
	// Content-Length (its value and the blank line are written per request), else up to and including the
	// blank line: one, or one per line of -targets, of which each request takes one at random.
	heads      [][]byte
	withLength bool
	// The body: body as it is, or, with -id-token, bodyParts joined by a new id for each request.
	body       []byte
	bodyParts  [][]byte
	idPrefix   string
	ids        *atomic.Uint64
	headMethod bool // HEAD: responses have no body
	closeAfter bool // the request says Connection: close: a connection carries one request
}

// newTarget builds the request of cfg as bytes. Like net/http's client, it takes the Host header from -header
// when given, sends no Content-Length or Transfer-Encoding from -header (it writes the body's own length), and
// sends a Content-Length whenever there is a body, and also for an empty one with POST, PUT and PATCH.
func newTarget(cfg config) (*target, error) {
	u, err := url.Parse(cfg.url)
	if err != nil {
		return nil, err
	}
	if !httpguts.ValidHeaderFieldName(cfg.method) {
		return nil, fmt.Errorf("invalid method %q", cfg.method)
	}
	t := &target{
		timeout: cfg.timeout, body: cfg.body, bodyParts: cfg.bodyParts, idPrefix: cfg.idPrefix, ids: cfg.ids,
		headMethod: cfg.method == http.MethodHead,
	}
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	default:
		port = "80"
	}
	t.addr = net.JoinHostPort(u.Hostname(), port)
	if u.Scheme == "https" {
		t.tlsConfig = &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}}
	}

	switch cfg.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		t.withLength = true
	default:
		t.withLength = len(cfg.body) > 0
	}
	if len(cfg.targets) == 0 {
		head, err := t.buildHead(cfg, u, u.RequestURI(), cfg.header)
		if err != nil {
			return nil, err
		}
		t.heads = [][]byte{head}
		return t, nil
	}
	for _, line := range cfg.targets {
		header := cfg.header.Clone()
		if line.authorization != "" {
			header.Set("Authorization", line.authorization)
		}
		head, err := t.buildHead(cfg, u, line.path, header)
		if err != nil {
			return nil, err
		}
		t.heads = append(t.heads, head)
	}
	return t, nil
}

// buildHead writes the request line for requestURI and the headers of header, and notes whether the request
// asks the server to close the connection.
func (t *target) buildHead(cfg config, u *url.URL, requestURI string, header http.Header) ([]byte, error) {
	host := u.Host
	if h := header.Get("Host"); h != "" {
		host = h
	}
	if strings.ContainsAny(requestURI, " \r\n\x00") {
		return nil, fmt.Errorf("invalid request path %q", requestURI)
	}
	b := fmt.Appendf(nil, "%s %s HTTP/1.1\r\nHost: %s\r\n", cfg.method, requestURI, host)
	if header.Get("User-Agent") == "" {
		b = append(b, "User-Agent: fulfillment-loadtest\r\n"...)
	}
	for _, name := range slices.Sorted(maps.Keys(header)) {
		switch http.CanonicalHeaderKey(name) {
		case "Host", "Content-Length", "Transfer-Encoding":
			continue
		case "Connection":
			for _, v := range header[name] {
				t.closeAfter = t.closeAfter || hasToken([]byte(v), "close")
			}
		}
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, fmt.Errorf("invalid header name %q", name)
		}
		for _, v := range header[name] {
			if strings.ContainsAny(v, "\r\n\x00") {
				return nil, fmt.Errorf("invalid value of header %s: %q", name, v)
			}
			b = fmt.Appendf(b, "%s: %s\r\n", name, v)
		}
	}
	if t.withLength {
		return append(b, "Content-Length: "...), nil
	}
	return append(b, "\r\n"...), nil
}

// conn is one connection of a worker, used by that worker's goroutine only.
type conn struct {
	t  *target
	nc net.Conn // nil until dialled, and after a close
	// rw reads and writes nc: its socket with raw system calls on Linux (sock_linux.go), else nc itself.
	rw io.ReadWriter
	// peerClosed tells whether the server has closed the idle connection; nil when the platform cannot tell.
	peerClosed func() bool
	br         *bufio.Reader
	// req is the request being sent and id the id in its body, reused from request to request.
	req, id []byte
	// lastStart is when the connection's previous request started, to tell how long it has been idle.
	lastStart time.Time
	// pick chooses the head of each request among several (-targets).
	pick *rand.Rand
}

func newConn(t *target) *conn {
	return &conn{t: t, pick: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// roundTrip sends the request and reads the whole response, dialling first when the connection is not open,
// all by start plus the timeout. It returns the response's status code, or the transport error, after which
// the connection is closed.
func (c *conn) roundTrip(start time.Time) (int, error) {
	deadline := start.Add(c.t.timeout)
	c.buildRequest()
	if c.nc != nil && start.Sub(c.lastStart) >= idleProbeAfter && c.peerClosed != nil && c.peerClosed() {
		c.close()
	}
	c.lastStart = start
	if c.nc == nil {
		if err := c.dial(deadline); err != nil {
			return 0, err
		}
	}
	status, keepAlive, err := c.exchange(deadline)
	if err != nil || !keepAlive || c.t.closeAfter {
		c.close()
	}
	return status, err
}

// buildRequest writes the request into c.req: the head, then, when the request has a Content-Length, its value,
// the blank line and the body with a new id.
func (c *conn) buildRequest() {
	head := c.t.heads[0]
	if len(c.t.heads) > 1 {
		head = c.t.heads[c.pick.IntN(len(c.t.heads))]
	}
	b := append(c.req[:0], head...)
	if !c.t.withLength {
		c.req = b
		return
	}
	if c.t.bodyParts == nil {
		b = strconv.AppendInt(b, int64(len(c.t.body)), 10)
		b = append(b, "\r\n\r\n"...)
		c.req = append(b, c.t.body...)
		return
	}
	c.id = strconv.AppendUint(append(c.id[:0], c.t.idPrefix...), c.t.ids.Add(1), 10)
	n := (len(c.t.bodyParts) - 1) * len(c.id)
	for _, p := range c.t.bodyParts {
		n += len(p)
	}
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, "\r\n\r\n"...)
	for i, p := range c.t.bodyParts {
		if i > 0 {
			b = append(b, c.id...)
		}
		b = append(b, p...)
	}
	c.req = b
}

func (c *conn) dial(deadline time.Time) error {
	d := net.Dialer{Deadline: deadline, KeepAlive: 30 * time.Second}
	nc, err := d.Dial("tcp", c.t.addr)
	if err != nil {
		return err
	}
	c.rw, c.peerClosed = rawSocket(nc)
	if c.rw == nil {
		c.rw = nc
	}
	if c.t.tlsConfig != nil {
		tc := tls.Client(nc, c.t.tlsConfig)
		if err := tc.SetDeadline(deadline); err != nil {
			nc.Close()
			return err
		}
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return err
		}
		nc, c.rw = tc, tc // peerClosed still probes the TCP socket under TLS
	}
	c.nc = nc
	if c.br == nil {
		c.br = bufio.NewReaderSize(c.rw, readBufferSize)
	} else {
		c.br.Reset(c.rw)
	}
	return nil
}

func (c *conn) close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc, c.rw, c.peerClosed = nil, nil, nil
	}
}

// exchange writes the request and reads its response, skipping 1xx responses. keepAlive tells whether the
// connection can carry the next request.
func (c *conn) exchange(deadline time.Time) (status int, keepAlive bool, err error) {
	if err := c.nc.SetDeadline(deadline); err != nil {
		return 0, false, err
	}
	if _, err := c.rw.Write(c.req); err != nil {
		return 0, false, err
	}
	for {
		line, err := c.readLine()
		if err != nil {
			return 0, false, err
		}
		status, http10, err := parseStatusLine(line)
		if err != nil {
			return 0, false, err
		}
		h, err := c.readHeader()
		if err != nil {
			return 0, false, err
		}
		switch {
		case status == http.StatusSwitchingProtocols:
			return 0, false, malformedError("101 Switching Protocols to a request without Upgrade")
		case status < 200:
			continue // 100 Continue, 103 Early Hints: the final response follows
		}
		keepAlive = !h.close && (!http10 || h.keepAlive)
		switch {
		case c.t.headMethod || status == http.StatusNoContent || status == http.StatusNotModified:
		case h.transferEncoded && h.chunked:
			err = c.discardChunked()
		case h.transferEncoded: // a transfer coding this client does not decode: the body ends with the connection
			err, keepAlive = c.discardUntilClose(), false
		case h.contentLength >= 0:
			err = c.discard(h.contentLength)
		default: // neither length nor chunks: the body ends with the connection
			err, keepAlive = c.discardUntilClose(), false
		}
		if err != nil {
			return 0, false, err
		}
		return status, keepAlive, nil
	}
}

// responseHeader is what the headers of a response say of its body and of the connection.
type responseHeader struct {
	contentLength            int64 // -1 when not given
	transferEncoded, chunked bool  // chunked: chunked is the last transfer coding
	close, keepAlive         bool  // Connection: close, Connection: keep-alive
}

func (c *conn) readHeader() (responseHeader, error) {
	h := responseHeader{contentLength: -1}
	for {
		line, err := c.readLine()
		if err != nil {
			return h, err
		}
		if len(line) == 0 {
			return h, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return h, malformedError("header line folded")
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return h, malformedError("header line without a name and a colon")
		}
		name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := parseDecimal(value)
			if !ok || (h.contentLength >= 0 && n != h.contentLength) {
				return h, malformedError("bad Content-Length")
			}
			h.contentLength = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			h.transferEncoded = true
			h.chunked = lastToken(value, "chunked")
		case bytes.EqualFold(name, []byte("Connection")):
			h.close = h.close || hasToken(value, "close")
			h.keepAlive = h.keepAlive || hasToken(value, "keep-alive")
		}
	}
}

// readLine reads a line of the response, without its CRLF (or bare LF). The line is valid until the next read.
// The connection's end before the response's is io.EOF (classify: "connection closed early").
func (c *conn) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, malformedError("line longer than the read buffer")
	case err != nil:
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func (c *conn) discard(n int64) error {
	if n > int64(^uint(0)>>1) {
		return malformedError("body too long")
	}
	_, err := c.br.Discard(int(n))
	return err
}

// discardChunked reads a chunked body and its trailers.
func (c *conn) discardChunked() error {
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return malformedError("bad chunk size")
		}
		if size == 0 {
			for { // trailers, up to the blank line
				line, err := c.readLine()
				if err != nil {
					return err
				}
				if len(line) == 0 {
					return nil
				}
			}
		}
		if err := c.discard(size); err != nil {
			return err
		}
		if line, err := c.readLine(); err != nil {
			return err
		} else if len(line) != 0 {
			return malformedError("chunk longer than its size")
		}
	}
}

func (c *conn) discardUntilClose() error {
	_, err := c.br.WriteTo(io.Discard)
	return err
}

// parseStatusLine reads "HTTP/1.x NNN reason".
func parseStatusLine(line []byte) (status int, http10 bool, err error) {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return 0, false, malformedError("bad status line")
	}
	switch line[7] {
	case '0':
		http10 = true
	case '1':
	default:
		return 0, false, malformedError("bad status line")
	}
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, false, malformedError("bad status code")
		}
		status = status*10 + int(d-'0')
	}
	if status < 100 {
		return 0, false, malformedError("bad status code")
	}
	return status, http10, nil
}

// parseDecimal parses a Content-Length: digits only, at most 18 of them.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}

// parseChunkSize reads the hexadecimal size at the start of a chunk's line, before any extension.
func parseChunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, d := range line {
		switch {
		case d >= '0' && d <= '9':
			n = n<<4 | int64(d-'0')
		case d >= 'a' && d <= 'f':
			n = n<<4 | int64(d-'a'+10)
		case d >= 'A' && d <= 'F':
			n = n<<4 | int64(d-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// hasToken tells whether the comma-separated list v has the token, ignoring ASCII case.
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		item, rest, _ := bytes.Cut(v, []byte(","))
		if bytes.EqualFold(bytes.Trim(item, " \t"), []byte(token)) {
			return true
		}
		v = rest
	}
	return false
}

// lastToken tells whether the last item of the comma-separated list v is the token, ignoring ASCII case.
func lastToken(v []byte, token string) bool {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return bytes.EqualFold(bytes.Trim(v, " \t"), []byte(token))
}
