package server

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
)

// A request ends in one of two places: answer writes what the endpoint fulfilled, refuse writes a stage's
// refusal. Each writes the answer, then counts it and logs it, so that the stages before only decide.

// refusal is a stage's refusal of a request: the error answer, in the endpoint's error shape, the headers it
// adds, and what its metrics and log line say besides the status and code.
type refusal struct {
	status  int
	code    string // the error body's code and the log line's
	message string

	// The headers of the answer, each when set.
	allow           string // Allow: the endpoint's methods
	retryAfter      string // Retry-After, in seconds
	challenge       string // WWW-Authenticate
	closeConnection bool   // Connection: close

	// authFailure, when set, counts the refusal in fulfillment_auth_failures_total under this method ("none"
	// when it was refused before any check ran), with code as the reason.
	authFailure string
	// attrs are what the log line says besides the status and code.
	attrs []slog.Attr
}

// answerOptions answers OPTIONS with the endpoint's methods in Allow, before any limit or authentication: it tells
// no more than a 405 does, and it is what a client or a tool asks to learn how to call. It sends no CORS headers,
// so a browser's preflight still fails: webhooks are called by servers.
func (s *Server) answerOptions(w http.ResponseWriter, entry *served, start time.Time, line *requestLog) {
	w.Header().Set("Allow", entry.allow)
	w.WriteHeader(http.StatusNoContent)
	s.traceStatus(line.ctx, http.StatusNoContent)
	entry.metrics.observe(s.metrics, entry.name, "", http.StatusNoContent, time.Since(start).Seconds())
	line.log(slog.LevelInfo, "request answered", slog.Int("status", http.StatusNoContent))
}

// refuse writes refused as entry's error answer to a request with requestHeader (whose Content-Type and Accept
// may choose the error's format), then counts and logs it.
func (s *Server) refuse(w http.ResponseWriter, requestHeader http.Header, entry *served, refused *refusal, start time.Time, line *requestLog) {
	header := w.Header()
	if refused.allow != "" {
		header.Set("Allow", refused.allow)
	}
	if refused.retryAfter != "" {
		header.Set("Retry-After", refused.retryAfter)
	}
	if refused.challenge != "" {
		header.Set("WWW-Authenticate", refused.challenge)
	}
	if refused.closeConnection {
		header.Set("Connection", "close")
	}
	body, contentType := entry.endpoint.EncodeError(requestHeader, refused.status, refused.code, refused.message)
	header.Set("Content-Type", contentType)
	w.WriteHeader(refused.status)
	_, _ = w.Write(body)

	s.traceRefusal(line.ctx, refused)
	if refused.authFailure != "" {
		s.metrics.authFailures.WithLabelValues(entry.name, refused.authFailure, refused.code).Inc()
	}
	entry.metrics.observe(s.metrics, entry.name, "", refused.status, time.Since(start).Seconds())
	var room [4]slog.Attr
	attrs := append(append(room[:0], slog.Int("status", refused.status), slog.String("code", refused.code)), refused.attrs...)
	line.log(slog.LevelInfo, "request refused", attrs...)
}

// answer writes what the endpoint made of the request, then counts and logs it.
func (s *Server) answer(w http.ResponseWriter, entry *served, outcome *endpoint.Outcome, start time.Time, line *requestLog) {
	writeOutcome(w, outcome)
	s.traceOutcome(line.ctx, outcome)
	end := time.Now()
	duration := end.Sub(start)
	entry.metrics.observe(s.metrics, entry.name, outcome.Route, outcome.Status, duration.Seconds())
	s.metrics.observeWork(entry.name, deliverySync, outcome)
	line.answered(outcome, end, duration)
}

// debugRoute names the route that answered, for a request that asked (DebugHeader) and passed the endpoint's
// authentication, which it has when its answer is written. An endpoint open to all never names its routes.
func debugRoute(header http.Header, entry *served, outcome *endpoint.Outcome) {
	if outcome.Route != "" && len(entry.endpoint.Auth) > 0 {
		header.Set(RouteHeader, entry.endpoint.Namespace+"/"+outcome.Route)
	}
}

// asksFor reports whether the request's DebugHeader lists what (comma-separated, in any case).
func asksFor(header http.Header, what string) bool {
	for _, value := range header.Values(DebugHeader) {
		for _, item := range strings.Split(value, ",") {
			if strings.EqualFold(strings.TrimSpace(item), what) {
				return true
			}
		}
	}
	return false
}

// writeOutcome writes an outcome's headers, status and body.
func writeOutcome(w http.ResponseWriter, outcome *endpoint.Outcome) {
	outcome.WriteHeaders(w.Header())
	w.WriteHeader(outcome.Status)
	_, _ = w.Write(outcome.Body)
}
