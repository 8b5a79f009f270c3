// Package statusz is what a webhookserver reports about itself on its metrics listener (GET /statusz, JSON):
// the configuration it serves and the last one it refused. The operator reads it from every ready pod, so that
// an endpoint is never Ready on a configuration its pods do not serve. It holds only the wire types, so that the
// operator shares them without depending on the server.
package statusz

import "time"

// Path is where the metrics listener serves the report.
const Path = "/statusz"

// MaxBytes bounds a report: a reader refuses a longer one.
const MaxBytes = 64 << 10

// Report is the body of GET /statusz.
type Report struct {
	Configuration Configuration `json:"configuration"`
}

// Configuration says which configuration the server serves and which it refused.
type Configuration struct {
	// Serving is the version of the configuration being served: for the file the operator renders, the
	// SHA-256 of its content in hex, which is the endpoint's status.configHash. Empty before the first load.
	Serving string `json:"serving,omitempty"`
	// Refused is set when the newest configuration the server read was refused, and the previous one (Serving)
	// keeps serving. It is cleared by the next configuration that loads.
	Refused *Refusal `json:"refused,omitempty"`
}

// Refusal is a configuration the server would not load.
type Refusal struct {
	// Version is the refused configuration's version. It equals Serving when the configuration is unchanged
	// and the Secrets it reads were refused.
	Version string `json:"version"`
	// Error says why, with every secret value redacted.
	Error string `json:"error"`
	// Since is when the server first refused it.
	Since time.Time `json:"since"`
}
