package server

import (
	"sync"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

// maxRefusalError bounds the error a report carries: the log has it whole.
const maxRefusalError = 2048

// configReport is which configuration the server serves and which it refused last (GET /statusz).
type configReport struct {
	mu      sync.Mutex
	current statusz.Configuration
}

func (r *configReport) get() statusz.Configuration {
	r.mu.Lock()
	defer r.mu.Unlock()
	current := r.current
	if current.Refused != nil {
		refused := *current.Refused
		current.Refused = &refused
	}
	return current
}

func (r *configReport) forgetRefusal() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current.Refused = nil
}

// Status is the server's report: GET /statusz on the metrics listener.
func (s *Server) Status() statusz.Report {
	report := statusz.Report{Configuration: s.report.get()}
	if snap := s.current.Load(); snap != nil {
		report.Draining = snap.draining
		report.Queues = s.readQueues(snap.asyncQueues())
	}
	return report
}

// served records that version serves now.
func (s *Server) served(version string) {
	s.report.mu.Lock()
	s.report.current = statusz.Configuration{Serving: version}
	s.report.mu.Unlock()
	s.metrics.reloads.WithLabelValues("success").Inc()
	s.metrics.lastReloadSuccessful.Set(1)
	s.metrics.configInfo.Reset()
	s.metrics.configInfo.WithLabelValues(version).Set(1)
}

// refused records that version was refused for err, with every secret value the server knows redacted (the
// report is read over the network, by the operator and by people).
func (s *Server) refused(version string, err error) {
	message := s.redact(err.Error())
	if len(message) > maxRefusalError {
		message = message[:maxRefusalError] + "..."
	}
	s.report.mu.Lock()
	since := time.Now().UTC()
	if previous := s.report.current.Refused; previous != nil && previous.Version == version {
		since = previous.Since
	}
	s.report.current.Refused = &statusz.Refusal{Version: version, Error: message, Since: since}
	s.report.mu.Unlock()
	s.metrics.reloads.WithLabelValues("failure").Inc()
	s.metrics.lastReloadSuccessful.Set(0)
}
