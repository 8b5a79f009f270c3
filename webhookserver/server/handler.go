package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
)

// RequestIDHeader carries the request id: the caller's when it sends one, else a new one. Logs carry it too.
const RequestIDHeader = "X-Request-Id"

// ServeHTTP is the request path: find the endpoint, check method, rate and size, authenticate, fulfill, answer.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()

	requestID := r.Header.Get(RequestIDHeader)
	if requestID == "" || len(requestID) > 128 {
		requestID = newRequestID()
	}
	w.Header().Set(RequestIDHeader, requestID)
	log := s.log.With("requestId", requestID, "method", r.Method, "path", r.URL.Path)

	snap := s.current.Load()
	entry := snap.byPath[r.URL.Path]
	if entry == nil {
		if rasa := snap.rasaPaths[r.URL.Path]; rasa != nil && r.Method == http.MethodGet {
			s.serveRasaInfo(w, rasa)
			return
		}
		writeError(w, http.StatusNotFound, "not_found", "no endpoint is served at this path")
		log.Info("request refused", "status", http.StatusNotFound)
		return
	}
	ep := entry.endpoint
	name := ep.Namespace + "/" + ep.Name
	log = log.With("endpoint", name)
	refuse := func(status int, code, message string, attrs ...any) {
		writeError(w, status, code, message)
		s.metrics.requests.WithLabelValues(name, "", strconv.Itoa(status)).Inc()
		s.metrics.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
		log.Info("request refused", append([]any{"status", status, "code", code}, attrs...)...)
	}

	if !entry.methods[r.Method] {
		w.Header().Set("Allow", strings.Join(ep.Methods, ", "))
		refuse(http.StatusMethodNotAllowed, "method_not_allowed", "this endpoint accepts "+strings.Join(ep.Methods, ", "))
		return
	}
	if ok, retryAfter := entry.limiter.allow(); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		refuse(http.StatusTooManyRequests, "rate_limited", "too many requests; retry after "+strconv.Itoa(retryAfter)+"s")
		return
	}
	if r.ContentLength > ep.MaxBodyBytes {
		// Refused before reading a byte of it.
		refuse(http.StatusRequestEntityTooLarge, "body_too_large", "the body is over "+strconv.FormatInt(ep.MaxBodyBytes, 10)+" bytes")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ep.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			refuse(http.StatusRequestEntityTooLarge, "body_too_large", "the body is over "+strconv.FormatInt(ep.MaxBodyBytes, 10)+" bytes")
		} else {
			refuse(http.StatusBadRequest, "unreadable_body", "the body could not be read")
		}
		return
	}
	if len(ep.Auth) > 0 {
		// The checks get the request's context (OIDC may fetch keys) and its TLS state (mTLS).
		authCtx, cancel := context.WithTimeout(auth.WithConnectionState(r.Context(), r.TLS), ep.Timeout)
		failure := auth.CheckContext(authCtx, ep.Auth, &auth.Request{Header: r.Header, Body: body, RemoteAddr: r.RemoteAddr})
		cancel()
		if failure != nil {
			s.metrics.authFailures.WithLabelValues(name, failure.Method, failure.Reason).Inc()
			switch failure.Status {
			case http.StatusUnauthorized:
				w.Header().Set("WWW-Authenticate", challenge(failure.Method))
			case http.StatusServiceUnavailable:
				w.Header().Set("Retry-After", "5") // e.g. the OIDC issuer is unreachable: not the caller's fault
			}
			refuse(failure.Status, failure.Reason, failure.Method+" authentication failed: "+strings.ReplaceAll(failure.Reason, "_", " "),
				"authMethod", failure.Method)
			return
		}
	}

	input := dialect.Input{Method: r.Method, Header: r.Header, Query: r.URL.Query(), Body: body}
	var outcome *endpoint.Outcome
	if ep.Queue() != nil {
		outcome = s.enqueue(r, ep, input)
	} else {
		outcome = ep.Fulfill(r.Context(), input)
	}
	for key, values := range outcome.Header {
		w.Header()[key] = values
	}
	w.WriteHeader(outcome.Status)
	_, _ = w.Write(outcome.Body)

	duration := time.Since(start)
	s.metrics.requests.WithLabelValues(name, outcome.Route, strconv.Itoa(outcome.Status)).Inc()
	s.metrics.duration.WithLabelValues(name).Observe(duration.Seconds())
	if outcome.Upstream {
		s.metrics.upstreamCalls.WithLabelValues(name, outcome.Route, outcome.UpstreamOutcome).Inc()
		s.metrics.upstreamLatency.WithLabelValues(name, outcome.Route).Observe(outcome.UpstreamDuration.Seconds())
	}
	attrs := []any{"status", outcome.Status, "route", outcome.Route, "durationMs", float64(duration.Microseconds()) / 1000}
	switch {
	case outcome.Replayed:
		s.metrics.idempotency.WithLabelValues(name, "replayed").Inc()
		attrs = append(attrs, "replayed", true)
	case outcome.IdempotencyError != nil:
		s.metrics.idempotency.WithLabelValues(name, "store_error").Inc()
		attrs = append(attrs, "idempotencyError", outcome.IdempotencyError.Error())
	}
	if outcome.Fallback != "" {
		s.metrics.fallbacks.WithLabelValues(name, outcome.Fallback).Inc()
		attrs = append(attrs, "fallback", outcome.Fallback)
	}
	level := slog.LevelInfo
	if outcome.Err != nil {
		attrs = append(attrs, "error", outcome.Err.Error())
		if outcome.Status >= 500 || outcome.Fallback != "" {
			level = slog.LevelWarn
		}
	}
	log.Log(r.Context(), level, "request answered", attrs...)
}

// serveRasaInfo answers Rasa's GET /health and GET /actions.
func (s *Server) serveRasaInfo(w http.ResponseWriter, info *rasaPath) {
	w.Header().Set("Content-Type", "application/json")
	if info.kind == "health" {
		_, _ = w.Write([]byte(`{"status":"ok"}`))
		return
	}
	names := append([]string(nil), info.endpoint.ActionNames()...)
	sort.Strings(names)
	actions := make([]map[string]string, 0, len(names))
	for i, name := range names {
		if i == 0 || name != names[i-1] {
			actions = append(actions, map[string]string{"name": name})
		}
	}
	_ = json.NewEncoder(w).Encode(actions)
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
