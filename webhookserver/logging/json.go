package logging

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/redact"
)

// JSONHandler writes the lines slog.NewJSONHandler writes, byte for byte, redacted as redact.Handler
// redacts them, at a fraction of their cost for the lines a server writes per request: attributes of
// strings, numbers, booleans and durations, each line appended to a pooled buffer by hand, without slog's
// per-attribute indirections or json.Marshal for floats. Any other line (groups, errors, other values, a
// handler WithAttrs or WithGroup) is handed to slog's own handler behind the redaction layer.
type JSONHandler struct {
	out      io.Writer
	mu       *sync.Mutex
	level    slog.Leveler
	secrets  *redact.Secrets
	fallback slog.Handler
}

// NewJSONHandler returns a JSONHandler writing lines at level or above to out.
func NewJSONHandler(out io.Writer, level slog.Leveler, secrets *redact.Secrets) *JSONHandler {
	return &JSONHandler{
		out:      out,
		mu:       &sync.Mutex{},
		level:    level,
		secrets:  secrets,
		fallback: redact.NewHandler(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level}), secrets),
	}
}

// Enabled implements slog.Handler.
func (h *JSONHandler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// Handle implements slog.Handler.
func (h *JSONHandler) Handle(ctx context.Context, record slog.Record) error {
	if record.NumAttrs() > maxFastAttrs {
		return h.fallback.Handle(ctx, record)
	}
	var room [maxFastAttrs]slog.Attr
	attrs := room[:0]
	record.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	if !h.writeFast(record.Time, record.Level, record.Message, attrs) {
		return h.fallback.Handle(ctx, record)
	}
	return nil
}

// maxFastAttrs bounds the attributes of a line Handle formats itself (on the stack).
const maxFastAttrs = 32

// HandleAttrs writes the line a record of these would give, without a slog.Record (which moves attributes
// beyond its first five to the heap) and without the caller's program counter (not logged). The caller has
// checked Enabled.
func (h *JSONHandler) HandleAttrs(ctx context.Context, t time.Time, level slog.Level, msg string, attrs []slog.Attr) {
	if h.writeFast(t, level, msg, attrs) {
		return
	}
	record := slog.NewRecord(t, level, msg, 0)
	record.AddAttrs(attrs...)
	_ = h.fallback.Handle(ctx, record)
}

// WithAttrs implements slog.Handler: such lines are slog's.
func (h *JSONHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.fallback.WithAttrs(attrs)
}

// WithGroup implements slog.Handler: such lines are slog's.
func (h *JSONHandler) WithGroup(name string) slog.Handler {
	return h.fallback.WithGroup(name)
}

var lines = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeFast writes the line, or reports false, having written nothing, when an attribute is not one it
// formats as slog does.
func (h *JSONHandler) writeFast(t time.Time, level slog.Level, msg string, attrs []slog.Attr) bool {
	for _, a := range attrs {
		if !fast(a) {
			return false
		}
	}
	if y := t.Year(); t.IsZero() || y < 0 || y >= 10000 {
		return false
	}
	bp := lines.Get().(*[]byte)
	b := append((*bp)[:0], `{"time":"`...)
	b = t.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"`...)
	b = append(b, level.String()...)
	b = append(b, `","msg":`...)
	b = h.appendString(b, msg)
	for _, a := range attrs {
		b = append(b, ',')
		b = appendQuoted(b, a.Key)
		b = append(b, ':')
		b = h.appendValue(b, a.Value)
	}
	b = append(b, '}', '\n')
	h.mu.Lock()
	_, _ = h.out.Write(b)
	h.mu.Unlock()
	if cap(b) <= 16<<10 {
		*bp = b
		lines.Put(bp)
	}
	return true
}

// fast reports whether appendValue formats a as slog does.
func fast(a slog.Attr) bool {
	if a.Key == "" {
		return false // slog drops some of these, keeps others
	}
	switch a.Value.Kind() {
	case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindBool, slog.KindDuration:
		return true
	case slog.KindFloat64:
		f := a.Value.Float64()
		return !math.IsNaN(f) && !math.IsInf(f, 0)
	case slog.KindAny:
		list, ok := a.Value.Any().([]string)
		if !ok || list == nil {
			return false
		}
		for _, item := range list {
			if strings.ContainsAny(item, "\b\f") { // encoding/json's short escapes, which slog's strings lack
				return false
			}
		}
		return true
	}
	return false
}

func (h *JSONHandler) appendValue(b []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return h.appendString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		return strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindFloat64:
		return appendFloat(b, v.Float64())
	}
	// A []string, as encoding/json writes it without HTML escaping (as slog does).
	b = append(b, '[')
	for i, item := range v.Any().([]string) {
		if i > 0 {
			b = append(b, ',')
		}
		b = h.appendString(b, item)
	}
	return append(b, ']')
}

// appendString appends text, redacted, as a JSON string.
func (h *JSONHandler) appendString(b []byte, text string) []byte {
	if h.secrets != nil && h.secrets.Contains(text) {
		text = h.secrets.Redact(text)
	}
	return appendQuoted(b, text)
}

// appendFloat appends f as encoding/json does (and so slog, which calls it).
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 is written e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendQuoted appends s as a JSON string, escaped as slog escapes it: control characters, quote and
// backslash; invalid UTF-8 as U+FFFD; U+2028 and U+2029; not HTML's characters.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
