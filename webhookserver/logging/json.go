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

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/jsonquote"
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
//
// The line is written first as it is, then searched once for the secrets, as its strings hold them: a line
// with none, nearly every one, needs no search of each of its strings. Only a line where one is found is
// written again, each string redacted (and every line, each string redacted at once, while a secret is one
// that cannot be searched for).
func (h *JSONHandler) writeFast(t time.Time, level slog.Level, msg string, attrs []slog.Attr) bool {
	second, ok := secondOf(t)
	if !ok {
		return false
	}
	var redactEach *redact.Secrets // a line cannot be searched for these: each string is
	if h.secrets != nil && !h.secrets.SearchableInJSON() {
		redactEach = h.secrets
	}
	bp := lines.Get().(*[]byte)
	b, ok := appendLine((*bp)[:0], second, t, level, msg, attrs, redactEach)
	if ok && redactEach == nil && h.secrets != nil && h.secrets.MayBeInJSON(b) {
		b, _ = appendLine(b[:0], second, t, level, msg, attrs, h.secrets)
	}
	if ok {
		h.mu.Lock()
		_, _ = h.out.Write(b)
		h.mu.Unlock()
	}
	if cap(b) <= 16<<10 {
		*bp = b
		lines.Put(bp)
	}
	return ok
}

// appendLine appends the line, each string redacted of secrets unless secrets is nil, or reports false when an
// attribute is not one it formats as slog does.
func appendLine(b []byte, second *second, t time.Time, level slog.Level, msg string, attrs []slog.Attr, secrets *redact.Secrets) ([]byte, bool) {
	b = append(b, `{"time":"`...)
	b = second.appendTime(b, t)
	b = append(b, `","level":"`...)
	b = append(b, level.String()...)
	b = append(b, `","msg":`...)
	b = appendString(b, msg, secrets)
	for i := range attrs {
		a := &attrs[i]
		if a.Key == "" {
			return b, false // slog drops some of these, keeps others
		}
		b = append(b, ',')
		b = jsonquote.Append(b, a.Key, jsonquote.Slog)
		b = append(b, ':')
		var ok bool
		if b, ok = appendValue(b, a.Value, secrets); !ok {
			return b, false
		}
	}
	return append(b, '}', '\n'), true
}

// appendValue appends v as slog writes it, or reports false when it is not a value it writes as slog does.
func appendValue(b []byte, v slog.Value, secrets *redact.Secrets) ([]byte, bool) {
	switch v.Kind() {
	case slog.KindString:
		return appendString(b, v.String(), secrets), true
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10), true
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10), true
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool()), true
	case slog.KindDuration:
		return strconv.AppendInt(b, int64(v.Duration()), 10), true
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return b, false
		}
		return appendFloat(b, f), true
	case slog.KindAny:
		if list, ok := v.Any().([]string); ok && list != nil {
			return appendStrings(b, list, secrets)
		}
	}
	return b, false
}

// appendStrings appends a []string as encoding/json writes it without HTML escaping (as slog does), or reports
// false for an item with \b or \f, which encoding/json escapes in a way slog's strings do not.
func appendStrings(b []byte, list []string, secrets *redact.Secrets) ([]byte, bool) {
	b = append(b, '[')
	for i, item := range list {
		if strings.ContainsAny(item, "\b\f") {
			return b, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, item, secrets)
	}
	return append(b, ']'), true
}

// appendString appends text as a JSON string, redacted of secrets unless secrets is nil.
func appendString(b []byte, text string, secrets *redact.Secrets) []byte {
	if secrets != nil && secrets.Contains(text) {
		text = secrets.Redact(text)
	}
	return jsonquote.Append(b, text, jsonquote.Slog)
}

// appendFloat appends f as encoding/json does (and so slog, which calls it).
func appendFloat(b []byte, f float64) []byte {
	if milli := math.Round(f * 1000); f > 0 && f < 1e9 && milli/1000 == f {
		return appendThousandths(b, int64(milli))
	}
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

// appendThousandths appends milli/1000 as strconv writes the float nearest to it, as the shortest decimal that
// reads back as that float: a duration in milliseconds with microseconds, as the request line has, without
// strconv's search for the shortest digits. Below 10^12 thousandths, floats are far closer together than a
// thousandth, so no shorter decimal reads back as the same float, and milli/1000 written out is the shortest.
func appendThousandths(b []byte, milli int64) []byte {
	b = strconv.AppendInt(b, milli/1000, 10)
	fraction := milli % 1000
	if fraction == 0 {
		return b
	}
	b = append(b, '.', byte('0'+fraction/100), byte('0'+fraction/10%10), byte('0'+fraction%10))
	for b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	return b
}
