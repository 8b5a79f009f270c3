package server

import (
	"context"
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
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tracing"
)

// The stages of a request to an endpoint, in the order ServeHTTP runs them. Each returns a refusal, or nil to
// go on; none writes an answer, counts or logs.

// limit is what a request must pass before it is authenticated: the method, a draining replica, the client
// address's budget of failures (or the rate of an endpoint open to all) and the size; then the body is read,
// within the endpoint's size.
func limit(w http.ResponseWriter, r *http.Request, snap *snapshot, entry *served) ([]byte, *refusal) {
	if refused := checkMethod(r.Method, entry); refused != nil {
		return nil, refused
	}
	if refused := refuseWhileDraining(snap, entry.endpoint); refused != nil {
		return nil, refused
	}
	if refused := admit(r, entry); refused != nil {
		return nil, refused
	}
	return readRequestBody(w, r, entry.endpoint.MaxBodyBytes)
}

// checkMethod refuses a method the endpoint does not accept.
func checkMethod(method string, entry *served) *refusal {
	if entry.methods[method] {
		return nil
	}
	return &refusal{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
		message: "this endpoint accepts " + strings.Join(entry.endpoint.Methods, ", "), allow: entry.allow}
}

// admit refuses what can be refused before the body is read: over the endpoint's rate when nothing is to be
// authenticated, or from a client address over its budget of authentication failures. An endpoint that
// authenticates spends its rate only on requests that pass (authenticate), so that a flood of bad
// credentials cannot starve the platform.
func admit(r *http.Request, entry *served) *refusal {
	if len(entry.endpoint.Auth) == 0 {
		return takeRate(entry)
	}
	if entry.failures.none() {
		return nil // the common case: the client's address and credential are not needed
	}
	ok, retryAfter := entry.failures.allow(clientOf(r, entry), credentialOf(r, entry), time.Now())
	if ok {
		return nil
	}
	return &refusal{status: http.StatusTooManyRequests, code: "too_many_failures",
		message:    "too many failed authentications from this address; retry after " + strconv.Itoa(retryAfter) + "s with valid credentials",
		retryAfter: strconv.Itoa(retryAfter), authFailure: "none",
		// Without it, net/http would read the rest of the body to keep the connection.
		closeConnection: true}
}

// takeRate takes a token of the endpoint's rate, or refuses the request with 429.
func takeRate(entry *served) *refusal {
	ok, retryAfter := entry.limiter.allow()
	if ok {
		return nil
	}
	return &refusal{status: http.StatusTooManyRequests, code: "rate_limited",
		message: "too many requests; retry after " + strconv.Itoa(retryAfter) + "s", retryAfter: strconv.Itoa(retryAfter)}
}

// readRequestBody reads the body, refusing one over maxBytes: at once when its declared length is, without
// reading a byte of it.
func readRequestBody(w http.ResponseWriter, r *http.Request, maxBytes int64) ([]byte, *refusal) {
	if r.ContentLength > maxBytes {
		return nil, bodyTooLarge(maxBytes)
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, maxBytes), r.ContentLength)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, bodyTooLarge(maxBytes)
		}
		return nil, &refusal{status: http.StatusBadRequest, code: "unreadable_body", message: "the body could not be read"}
	}
	return body, nil
}

func bodyTooLarge(maxBytes int64) *refusal {
	return &refusal{status: http.StatusRequestEntityTooLarge, code: "body_too_large",
		message: "the body is over " + strconv.FormatInt(maxBytes, 10) + " bytes"}
}

// readBody reads the whole body. With a declared length it is read into a slice of that size, rather than one
// grown by doubling and copied at each step; it is still read to its end, so a body longer than declared is not
// cut short.
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

// authenticate runs the endpoint's checks, then takes a token of its rate. A refusal for the caller's
// credentials (401, 403) spends one of the client address's failures; one that is not the caller's fault
// (503: the OIDC issuer or the introspection endpoint is unreachable) does not.
func authenticate(r *http.Request, entry *served, body []byte) *refusal {
	ep := entry.endpoint
	if len(ep.Auth) == 0 {
		return nil // the rate was taken before the body was read
	}
	authCtx, span := tracing.Stage(r.Context(), tracing.StageAuth)
	defer span.End()
	// The checks get the request's context (OIDC may fetch keys) and its TLS state (mTLS), bounded by the
	// endpoint's timeout; checks that use no context (basic, bearer, HMAC) are spared making one.
	cancel := context.CancelFunc(nil)
	if entry.authContext {
		authCtx, cancel = context.WithTimeout(auth.WithConnectionState(authCtx, r.TLS), ep.Timeout)
	}
	failure := auth.CheckContext(authCtx, ep.Auth, &auth.Request{Header: r.Header, Body: body, RemoteAddr: r.RemoteAddr})
	if cancel != nil {
		cancel()
	}
	if failure == nil {
		entry.failures.succeed(credentialOf(r, entry))
		return takeRate(entry)
	}
	if span.IsRecording() {
		span.SetAttributes(tracing.Refusal.String(failure.Reason), tracing.AuthMethod.String(failure.Method))
	}
	if failure.Status == http.StatusUnauthorized || failure.Status == http.StatusForbidden {
		entry.failures.fail(clientOf(r, entry), credentialOf(r, entry), time.Now())
	}
	refused := &refusal{status: failure.Status, code: failure.Reason,
		message:     failure.Method + " authentication failed: " + strings.ReplaceAll(failure.Reason, "_", " "),
		authFailure: failure.Method, attrs: []slog.Attr{slog.String("authMethod", failure.Method)}}
	switch {
	case failure.Status == http.StatusUnauthorized,
		failure.Status == http.StatusForbidden && failure.BearerError != "": // RFC 6750 section 3: insufficient_scope
		refused.challenge = challenge(failure)
	case failure.Status == http.StatusServiceUnavailable:
		// The OIDC issuer or the introspection endpoint cannot be reached: not the caller's fault.
		refused.retryAfter = "5"
	}
	return refused
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

// challenge is the WWW-Authenticate value of a refusal by failure's method: a 401, or a bearer token's 403 for
// its scope. A bearer token method names the RFC 6750 error and, for insufficient_scope, the scopes wanted; the
// scopes were checked as scope tokens when compiled, so they need no quoting.
func challenge(failure *auth.Failure) string {
	if failure.Method == "basic" {
		return `Basic realm="fulfillment", charset="UTF-8"`
	}
	value := `Bearer realm="fulfillment"`
	if failure.BearerError != "" {
		value += `, error="` + failure.BearerError + `"`
	}
	if failure.Scope != "" {
		value += `, scope="` + failure.Scope + `"`
	}
	return value
}

// fulfill hands the request to its endpoint, which decodes it, answers a repeated one from its idempotency
// store, matches a route, acts and encodes the answer (endpoint.Fulfill); an Async endpoint's request is queued
// instead, and answered 202.
func (s *Server) fulfill(r *http.Request, ep *endpoint.Endpoint, body []byte) *endpoint.Outcome {
	var query url.Values // nil without a query string, as chatbot platforms call: URL.Query makes an empty map
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	input := dialect.Input{Method: r.Method, Header: r.Header, Query: query, Body: body}
	if ep.Queue() != nil {
		return s.enqueue(r, ep, input)
	}
	return ep.Fulfill(r.Context(), input)
}
