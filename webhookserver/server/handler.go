package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
)

// RequestIDHeader carries the request id: the caller's when it sends one, else a new one. Logs carry it too.
const RequestIDHeader = "X-Request-Id"

// ServeHTTP is the request path: find the endpoint, check the method, whether a draining replica takes it, the
// client address's failures (or the rate of an endpoint open to all) and the size, authenticate, take the rate,
// fulfill, answer.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()

	requestID := r.Header.Get(RequestIDHeader)
	if requestID == "" || len(requestID) > 128 {
		requestID = newRequestID()
	}
	w.Header().Set(RequestIDHeader, requestID)
	// The request's attributes lead every line it logs. They are put on each record rather than on a logger
	// made with Logger.With, which formats them eagerly: that cost 6% of a request, whether or not it logs.
	line := requestLog{logger: s.log, ctx: r.Context()}
	line.add(slog.String("requestId", requestID))
	line.add(slog.String("method", r.Method))
	line.add(slog.String("path", r.URL.Path))

	snap := s.current.Load()
	entry := snap.byPath[r.URL.Path]
	if entry == nil {
		if extra := snap.extraPaths[r.URL.Path]; extra != nil && r.Method == http.MethodGet {
			s.serveExtraPath(w, r, extra, start, &line)
			return
		}
		writeError(w, http.StatusNotFound, "not_found", "no endpoint is served at this path")
		line.log(slog.LevelInfo, "request refused", slog.Int("status", http.StatusNotFound))
		return
	}
	ep := entry.endpoint
	line.add(slog.String("endpoint", entry.name))
	refuse := s.refuser(w, entry, start, &line)

	if !entry.methods[r.Method] {
		w.Header().Set("Allow", strings.Join(ep.Methods, ", "))
		refuse(http.StatusMethodNotAllowed, "method_not_allowed", "this endpoint accepts "+strings.Join(ep.Methods, ", "))
		return
	}
	if refuseWhileDraining(w, snap, ep, refuse) || !s.admit(w, r, entry, refuse) {
		return
	}
	if r.ContentLength > ep.MaxBodyBytes {
		// Refused before reading a byte of it.
		refuse(http.StatusRequestEntityTooLarge, "body_too_large", "the body is over "+strconv.FormatInt(ep.MaxBodyBytes, 10)+" bytes")
		return
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, ep.MaxBodyBytes), r.ContentLength)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			refuse(http.StatusRequestEntityTooLarge, "body_too_large", "the body is over "+strconv.FormatInt(ep.MaxBodyBytes, 10)+" bytes")
		} else {
			refuse(http.StatusBadRequest, "unreadable_body", "the body could not be read")
		}
		return
	}
	if !s.authenticate(w, r, entry, body, refuse) {
		return
	}

	var query url.Values // nil without a query string, as chatbot platforms call: URL.Query makes an empty map
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	input := dialect.Input{Method: r.Method, Header: r.Header, Query: query, Body: body}
	var outcome *endpoint.Outcome
	if ep.Queue() != nil {
		outcome = s.enqueue(r, ep, input)
	} else {
		outcome = ep.Fulfill(r.Context(), input)
	}
	outcome.WriteHeaders(w.Header())
	w.WriteHeader(outcome.Status)
	_, _ = w.Write(outcome.Body)

	duration := time.Since(start)
	name := entry.name
	entry.metrics.observe(s.metrics, name, outcome.Route, outcome.Status, duration.Seconds())
	s.metrics.observeWork(name, deliverySync, outcome)
	line.answered(outcome, duration)
}

// refuseFunc answers a request with an error, counts and logs it.
type refuseFunc func(status int, code, message string, attrs ...slog.Attr)

// refuser is how a request to entry is refused: in the endpoint's error shape (Rasa's for Rasa).
func (s *Server) refuser(w http.ResponseWriter, entry *served, start time.Time, line *requestLog) refuseFunc {
	return func(status int, code, message string, attrs ...slog.Attr) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(entry.endpoint.EncodeError(status, code, message))
		entry.metrics.observe(s.metrics, entry.name, "", status, time.Since(start).Seconds())
		line.log(slog.LevelInfo, "request refused", append([]slog.Attr{slog.Int("status", status), slog.String("code", code)}, attrs...)...)
	}
}

// clientOf is the request's client address as the endpoint's IP allowlist finds it; the zero Addr when it has
// none (a malformed X-Forwarded-For from a trusted proxy), which shares one budget of failures.
func clientOf(r *http.Request, entry *served) netip.Addr {
	if len(entry.endpoint.Auth) == 0 {
		return netip.Addr{} // nothing to fail
	}
	client, _ := entry.endpoint.Clients.Of(&auth.Request{Header: r.Header, RemoteAddr: r.RemoteAddr})
	return client
}

// credentialOf is the request's credential as the endpoint's header-borne methods read it (basic, bearer,
// OIDC): their headers' values, or "" when it has none (signatures and certificates are not remembered).
func credentialOf(r *http.Request, entry *served) string {
	switch len(entry.credentialHeaders) {
	case 0:
		return ""
	case 1:
		return r.Header.Get(entry.credentialHeaders[0])
	}
	var b strings.Builder
	for _, name := range entry.credentialHeaders {
		b.WriteString(r.Header.Get(name))
		b.WriteByte(0)
	}
	return b.String()
}

// admit refuses what can be refused before the body is read: over the endpoint's rate when nothing is to be
// authenticated, or from a client address over its budget of authentication failures. An endpoint that
// authenticates spends its rate only on requests that pass (authenticate), so that a flood of bad
// credentials cannot starve the platform.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, entry *served, refuse refuseFunc) bool {
	if len(entry.endpoint.Auth) == 0 {
		return takeRate(w, entry, refuse)
	}
	if entry.failures.none() {
		return true // the common case: the client's address and credential are not needed
	}
	if ok, retryAfter := entry.failures.allow(clientOf(r, entry), credentialOf(r, entry), time.Now()); !ok {
		s.metrics.authFailures.WithLabelValues(entry.name, "none", "too_many_failures").Inc()
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		// Without it, net/http would read up to 256 KiB of the body to keep the connection.
		w.Header().Set("Connection", "close")
		refuse(http.StatusTooManyRequests, "too_many_failures",
			"too many failed authentications from this address; retry after "+strconv.Itoa(retryAfter)+"s with valid credentials")
		return false
	}
	return true
}

// takeRate takes a token of the endpoint's rate, or refuses the request with 429.
func takeRate(w http.ResponseWriter, entry *served, refuse refuseFunc) bool {
	if ok, retryAfter := entry.limiter.allow(); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		refuse(http.StatusTooManyRequests, "rate_limited", "too many requests; retry after "+strconv.Itoa(retryAfter)+"s")
		return false
	}
	return true
}

// authenticate runs the endpoint's checks, then takes a token of its rate. A refusal for the caller's
// credentials (401, 403) spends one of the client address's failures; one that is not the caller's fault
// (503: the OIDC issuer is unreachable) does not.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, entry *served, body []byte, refuse refuseFunc) bool {
	ep := entry.endpoint
	if len(ep.Auth) == 0 {
		return true // the rate was taken before the body was read
	}
	// The checks get the request's context (OIDC may fetch keys) and its TLS state (mTLS), bounded by the
	// endpoint's timeout; checks that use no context (basic, bearer, HMAC) are spared making one.
	authCtx, cancel := r.Context(), context.CancelFunc(nil)
	if entry.authContext {
		authCtx, cancel = context.WithTimeout(auth.WithConnectionState(authCtx, r.TLS), ep.Timeout)
	}
	failure := auth.CheckContext(authCtx, ep.Auth, &auth.Request{Header: r.Header, Body: body, RemoteAddr: r.RemoteAddr})
	if cancel != nil {
		cancel()
	}
	if failure == nil {
		entry.failures.succeed(credentialOf(r, entry))
		return takeRate(w, entry, refuse)
	}
	s.metrics.authFailures.WithLabelValues(entry.name, failure.Method, failure.Reason).Inc()
	if failure.Status == http.StatusUnauthorized || failure.Status == http.StatusForbidden {
		entry.failures.fail(clientOf(r, entry), credentialOf(r, entry), time.Now())
	}
	switch failure.Status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", challenge(failure.Method))
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5") // e.g. the OIDC issuer is unreachable: not the caller's fault
	}
	refuse(failure.Status, failure.Reason, failure.Method+" authentication failed: "+strings.ReplaceAll(failure.Reason, "_", " "),
		slog.String("authMethod", failure.Method))
	return false
}

// readBody reads the whole body. With a declared length it is read into a slice of that size, rather than one
// grown from 512 bytes by doubling (three allocations and copies for a 1 KiB Dialogflow request); it is still
// read to its end, so a body longer than declared is not cut short.
func readBody(body io.Reader, contentLength int64) ([]byte, error) {
	if contentLength <= 0 {
		return io.ReadAll(body)
	}
	buf := make([]byte, contentLength, contentLength+1)
	if _, err := io.ReadFull(body, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	var probe [1]byte
	n, err := body.Read(probe[:])
	if n == 0 && errors.Is(err, io.EOF) {
		return buf, nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	rest, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	return append(append(buf, probe[:n]...), rest...), nil
}

// challenge is the WWW-Authenticate value of a 401 for method.
func challenge(method string) string {
	if method == "basic" {
		return `Basic realm="fulfillment", charset="UTF-8"`
	}
	return `Bearer realm="fulfillment"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(endpoint.ErrorBody(code, message))
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
