package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tracing"
)

// RequestIDHeader carries the request id: the caller's when it sends one, else a new one. Logs carry it too.
const RequestIDHeader = "X-Request-Id"

// A request with DebugHeader: DebugRoute (webhookserver send sends it) gets the route that answered in
// RouteHeader, as <namespace>/<IntentRoute name>. Only an authenticated request does: an endpoint's routes are
// not for anyone to map, and answers to the platforms, which never ask, stay as they are.
const (
	DebugHeader = "Fulfillment-Debug"
	DebugRoute  = "route"
	RouteHeader = "Fulfillment-Route"
)

// ServeHTTP runs a request through its stages; the first that refuses it ends it:
//
//  1. find the endpoint served at the path (or a path its dialect's platform calls beside it: Rasa's GET /health and /actions);
//     an OPTIONS request ends here, answered with the endpoint's methods;
//  2. limit: the method, a draining replica, the client address's failures or the rate, the size, the body;
//  3. authenticate, then take the rate of an endpoint that authenticates;
//  4. fulfill: the endpoint's own stages (endpoint.Fulfill), or the queue of an Async endpoint;
//  5. answer the outcome, or refuse with the refusal of the stage that refused: write, count and log it.
//
// The stages only decide (stages.go); writing, metrics and the log line are the last step's (answer.go).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if s.shuttingDown.Load() {
		// A draining server still answers, and has the client open its next connection elsewhere: a kept-alive
		// connection would be closed at the end of the drain under a request the client may be sending.
		w.Header().Set("Connection", "close")
	}
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()
	if s.tracer != nil {
		// The request's context carries its span from here on: the stages' spans and the upstream calls' hang
		// under it, and the log line's context is it.
		var span trace.Span
		r, span = s.startSpan(r)
		defer span.End()
	}
	line := s.newRequestLog(w, r)

	snap := s.current.Load()
	entry := snap.byPath[r.URL.Path]
	if entry != nil && entry.closeConnections {
		w.Header().Set("Connection", "close")
	}
	if entry == nil {
		if extra := snap.extraPaths[r.URL.Path]; extra != nil && r.Method == http.MethodGet {
			s.serveExtraPath(w, r, extra, start, &line)
			return
		}
		writeError(w, http.StatusNotFound, "not_found", "no endpoint is served at this path")
		s.traceStatus(line.ctx, http.StatusNotFound)
		line.log(slog.LevelInfo, "request refused", slog.Int("status", http.StatusNotFound))
		return
	}
	line.add(slog.String("endpoint", entry.name))
	if s.tracer != nil {
		tracing.Served(trace.SpanFromContext(r.Context()), r.Method, entry.endpoint.Path, entry.name, entry.endpoint.Dialect)
	}
	if r.Method == http.MethodOptions {
		s.answerOptions(w, entry, start, &line)
		return
	}

	body, refused := limit(w, r, snap, entry)
	if refused == nil {
		refused = authenticate(r, entry, body)
	}
	if refused != nil {
		s.refuse(w, r.Header, entry, refused, start, &line)
		return
	}
	outcome := s.fulfill(r, entry.endpoint, body)
	if asksFor(r.Header, DebugRoute) {
		debugRoute(w.Header(), entry, outcome)
	}
	s.answer(w, entry, outcome, start, &line)
}

// newRequestLog gives the request its id, the caller's when it sends one, and starts its log lines with it. The
// request's attributes are put on each record rather than on a logger made with Logger.With, which formats
// them eagerly, on every request, whether or not it logs.
func (s *Server) newRequestLog(w http.ResponseWriter, r *http.Request) requestLog {
	requestID := r.Header.Get(RequestIDHeader)
	if requestID == "" || len(requestID) > 128 {
		requestID = newRequestID()
	}
	w.Header().Set(RequestIDHeader, requestID)
	line := requestLog{logger: s.log, ctx: r.Context()}
	line.add(slog.String("requestId", requestID))
	line.add(slog.String("method", r.Method))
	line.add(slog.String("path", r.URL.Path))
	return line
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
