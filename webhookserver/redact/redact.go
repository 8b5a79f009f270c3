// Package redact keeps secret values out of logs: one slog.Handler wrapper that replaces every known secret
// value in a record's message and attributes with [REDACTED]. The server registers each secret it reads
// (credentials, keys, upstream headers), so whatever path a value takes to a log line (an error message, a panic,
// a rendered template), it is caught at this one place.
package redact

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/jsonquote"
)

// Placeholder replaces a secret value.
const Placeholder = "[REDACTED]"

// minSecretLength avoids redacting values too short to be secrets (and too common to replace safely).
const minSecretLength = 4

// Secrets is the set of values to redact. It is replaced as a whole when the configuration reloads, and read
// without locks on every log record.
type Secrets struct {
	set atomic.Pointer[secretSet]
}

type secretSet struct {
	values []string // longest first
	// inJSON holds each value as a JSON string written by log/slog holds it, when jsonSearchable: every value
	// is valid UTF-8, so a string holding one is written holding its escaped form.
	inJSON         []needle
	jsonSearchable bool
	// index searches inJSON in one pass when there are more than indexAbove of them.
	index *needleIndex
}

// Set replaces the set. Longer values come first, so that a secret containing another is replaced whole.
func (s *Secrets) Set(values [][]byte) {
	set := &secretSet{values: make([]string, 0, len(values)), jsonSearchable: true}
	seen := map[string]bool{}
	for _, v := range values {
		text := strings.TrimSpace(string(v))
		if len(text) < minSecretLength || seen[text] {
			continue
		}
		seen[text] = true
		set.values = append(set.values, text)
		if raw := string(v); raw != text && !seen[raw] {
			seen[raw] = true
			set.values = append(set.values, raw)
		}
	}
	sortByLengthDesc(set.values)
	for _, v := range set.values {
		if !utf8.ValidString(v) {
			set.jsonSearchable, set.inJSON = false, nil
			break
		}
		quoted := jsonquote.Append(nil, v, jsonquote.Slog)
		set.inJSON = append(set.inJSON, newNeedle(string(quoted[1:len(quoted)-1])))
	}
	if len(set.inJSON) > indexAbove {
		set.index = newNeedleIndex(set.inJSON)
	}
	s.set.Store(set)
}

// Redact returns text with every secret value replaced.
func (s *Secrets) Redact(text string) string {
	set := s.set.Load()
	if set == nil {
		return text
	}
	for _, v := range set.values {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Placeholder)
		}
	}
	return text
}

// Contains reports whether text holds a secret value.
func (s *Secrets) Contains(text string) bool {
	set := s.set.Load()
	if set == nil || len(set.values) == 0 || len(text) < len(set.values[len(set.values)-1]) {
		return false // the shortest secret is the last: text is shorter than every one
	}
	for _, v := range set.values {
		if strings.Contains(text, v) {
			return true
		}
	}
	return false
}

// SearchableInJSON reports whether MayBeInJSON can tell a line without secrets: whether every secret is valid
// UTF-8 (whose escaped form a JSON string holding it holds).
func (s *Secrets) SearchableInJSON() bool {
	set := s.set.Load()
	return set == nil || set.jsonSearchable
}

// MayBeInJSON reports whether a string of line, JSON text whose strings are escaped as log/slog escapes them,
// may hold a secret value. When it reports false, none does, and redacting each string would change nothing:
// one search of the line instead of one of each string. It may report true for a line with none (a secret
// across two strings, in a key or a number).
func (s *Secrets) MayBeInJSON(line []byte) bool {
	set := s.set.Load()
	switch {
	case set == nil || len(set.values) == 0:
		return false
	case !set.jsonSearchable:
		return true
	case set.index != nil:
		return set.index.in(line)
	}
	for i := range set.inJSON {
		if set.inJSON[i].in(line) {
			return true
		}
	}
	return false
}

func sortByLengthDesc(values []string) {
	for i := 1; i < len(values); i++ {
		for j := i; j > 0 && len(values[j]) > len(values[j-1]); j-- {
			values[j], values[j-1] = values[j-1], values[j]
		}
	}
}

// Handler wraps a slog.Handler and redacts every record.
type Handler struct {
	next    slog.Handler
	secrets *Secrets
}

// NewHandler returns next wrapped with redaction of secrets.
func NewHandler(next slog.Handler, secrets *Secrets) *Handler {
	return &Handler{next: next, secrets: secrets}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle implements slog.Handler. A record with nothing to redact, as nearly every one is, passes as it is:
// copying it would cost more than formatting it.
func (h *Handler) Handle(ctx context.Context, record slog.Record) error {
	if h.passes(record) {
		return h.next.Handle(ctx, record)
	}
	redacted := slog.NewRecord(record.Time, record.Level, h.secrets.Redact(record.Message), record.PC)
	record.Attrs(func(a slog.Attr) bool {
		redacted.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, redacted)
}

// WithAttrs implements slog.Handler. Attributes added here are redacted with the secrets known now and again
// at each record would cost too much, so they are redacted when added: they are request ids and names.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	redacted := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		redacted[i] = h.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(redacted), secrets: h.secrets}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), secrets: h.secrets}
}

// passes reports whether record is what redacting it would give: no secret in its message or its strings,
// and only attributes that attr leaves as they are.
func (h *Handler) passes(record slog.Record) bool {
	if h.secrets.Contains(record.Message) {
		return false
	}
	passes := true
	record.Attrs(func(a slog.Attr) bool {
		passes = h.attrPasses(a)
		return passes
	})
	return passes
}

func (h *Handler) attrPasses(a slog.Attr) bool {
	switch a.Value.Kind() {
	case slog.KindString:
		return !h.secrets.Contains(a.Value.String())
	case slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool, slog.KindDuration, slog.KindTime:
		return true
	case slog.KindAny:
		list, ok := a.Value.Any().([]string)
		if !ok {
			return false
		}
		for _, item := range list {
			if h.secrets.Contains(item) {
				return false
			}
		}
		return true
	}
	return false // groups and LogValuers: the slow path resolves and walks them
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	value := a.Value.Resolve()
	switch value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.secrets.Redact(value.String()))
	case slog.KindGroup:
		group := value.Group()
		redacted := make([]any, len(group))
		for i, g := range group {
			redacted[i] = h.attr(g)
		}
		return slog.Group(a.Key, redacted...)
	case slog.KindAny:
		if list, ok := value.Any().([]string); ok {
			redacted := make([]string, len(list))
			for i, item := range list {
				redacted[i] = h.secrets.Redact(item)
			}
			return slog.Any(a.Key, redacted)
		}
		// Errors, other slices and structs are logged through their text form: redact that.
		return slog.String(a.Key, h.secrets.Redact(value.String()))
	default:
		return slog.Attr{Key: a.Key, Value: value}
	}
}
