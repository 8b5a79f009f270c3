package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tracing"
)

// extraPath is a path a dialect's platform calls beside an endpoint's (dialect.ExtraPather).
type extraPath struct {
	entry *served
	path  dialect.ExtraPath
}

// serveExtraPath answers a GET of an extra path. A health check is open, as in rasa-sdk, and answers 503 while
// the server shuts down or while a dependency the endpoint requires is down, as /readyz does. Any other extra
// path shows the endpoint's routes, so it is authenticated as the endpoint's requests are.
func (s *Server) serveExtraPath(w http.ResponseWriter, r *http.Request, extra *extraPath, start time.Time, line *requestLog) {
	if s.tracer != nil {
		tracing.Served(trace.SpanFromContext(r.Context()), r.Method, extra.path.Path, extra.entry.name, extra.entry.endpoint.Dialect)
	}
	if extra.path.Health {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		reason := ""
		if s.shuttingDown.Load() {
			reason = "shutting down"
		} else if problems := endpointUnavailable(extra.entry.endpoint, s.deps.isDown); len(problems) > 0 {
			reason = strings.Join(problems, "; ")
		}
		if reason != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			body, _ := json.Marshal(map[string]string{"status": "unavailable", "reason": reason})
			_, _ = w.Write(body)
			s.traceStatus(r.Context(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}`))
		s.traceStatus(r.Context(), http.StatusOK)
		return
	}
	entry := extra.entry
	line.add(slog.String("endpoint", entry.name))
	refused := admit(r, entry)
	if refused == nil {
		refused = authenticate(r, entry, nil)
	}
	if refused != nil {
		s.refuse(w, r.Header, entry, refused, start, line)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(extra.path.ListActions(entry.endpoint.ActionNames()))
	s.traceStatus(r.Context(), http.StatusOK)
}
