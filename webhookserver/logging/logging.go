// Package logging builds the webhookserver's structured logger: slog's JSON or text format, every record
// redacted of secrets, written through a Writer that gathers lines into few system calls.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/redact"
)

// New returns the logger of format (json or text) at level (debug, info, warn or error), writing to out;
// every record passes through the redaction of secrets. JSON lines are slog's JSON, written by JSONHandler.
func New(out io.Writer, format, level string, secrets *redact.Secrets) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "json":
		return slog.New(NewJSONHandler(out, lvl, secrets)), nil
	case "text":
		return slog.New(redact.NewHandler(slog.NewTextHandler(out, opts), secrets)), nil
	default:
		return nil, errors.New("--log-format " + format + ": use json or text")
	}
}
