package wire

import (
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/jsonquote"
)

// JSONWriter is a response that writes itself with a Writer, byte for byte as encoding/json.Marshal writes it.
// Marshal uses it first: json.Marshal's reflection costs time and allocations on every answer, visibly in the
// CPU profile of a request.
type JSONWriter interface {
	WriteJSON(w *Writer)
}

// Writer writes JSON exactly as encoding/json.Marshal does (HTML characters, U+2028 and U+2029 escaped, invalid
// UTF-8 replaced, map keys sorted, floats as encoding/json formats them), for the values a decode gives and
// answers hold. On anything else (another type, NaN or an infinity, deep nesting, which may be a cycle) it
// fails, and Marshal hands the whole response to encoding/json, which writes or refuses it with its own
// words: FuzzWriterValue checks the bytes against encoding/json.
type Writer struct {
	buf    []byte
	failed bool
}

// maxWriteDepth is far below the depth at which encoding/json starts looking for cycles (1000).
const maxWriteDepth = 100

var writerPool = sync.Pool{New: func() any { return &Writer{buf: make([]byte, 0, 1024)} }}

// WriteJSON is Marshal for a JSONWriter, without the fallback: ok is false when the Writer failed.
func WriteJSON(response JSONWriter) (body []byte, ok bool) {
	w := writerPool.Get().(*Writer)
	response.WriteJSON(w)
	if !w.failed {
		body = slices.Clone(w.buf)
	}
	ok = !w.failed
	if cap(w.buf) <= 64<<10 { // a bigger one is not kept for good
		w.buf, w.failed = w.buf[:0], false
		writerPool.Put(w)
	}
	return body, ok
}

// Open opens an object ('{') or an array ('['), as a value.
func (w *Writer) Open(c byte) { w.buf = append(w.buf, c) }

// Close closes an object ('}') or an array (']').
func (w *Writer) Close(c byte) { w.buf = append(w.buf, c) }

// Next starts the next element of an array: a comma unless it is the first.
func (w *Writer) Next() {
	if last := w.buf[len(w.buf)-1]; last != '[' && last != '{' {
		w.buf = append(w.buf, ',')
	}
}

// Key starts the member key of an object.
func (w *Writer) Key(key string) {
	w.Next()
	w.String(key)
	w.buf = append(w.buf, ':')
}

// WriteArray writes key and an array of items that write themselves, or nothing when there are none (a field tagged
// omitempty).
func WriteArray[T JSONWriter](w *Writer, key string, items []T) {
	if len(items) == 0 {
		return
	}
	w.Key(key)
	w.Open('[')
	for _, item := range items {
		w.Next()
		item.WriteJSON(w)
	}
	w.Close(']')
}

// Int writes an int as encoding/json does.
func (w *Writer) Int(i int64) { w.buf = strconv.AppendInt(w.buf, i, 10) }

// Value writes a value of one of the types a decode gives (nil, bool, string, float64, map[string]any, []any)
// or int or int64; another type fails the Writer.
func (w *Writer) Value(value any) { w.value(value, 0) }

func (w *Writer) value(value any, depth int) {
	if depth > maxWriteDepth {
		w.failed = true
		return
	}
	switch value := value.(type) {
	case nil:
		w.buf = append(w.buf, "null"...)
	case bool:
		w.buf = strconv.AppendBool(w.buf, value)
	case string:
		w.String(value)
	case float64:
		w.float(value)
	case int:
		w.Int(int64(value))
	case int64:
		w.Int(value)
	case map[string]any:
		w.object(value, depth)
	case []any:
		if value == nil {
			w.buf = append(w.buf, "null"...)
			return
		}
		w.Open('[')
		for _, element := range value {
			w.Next()
			w.value(element, depth+1)
		}
		w.Close(']')
	default:
		w.failed = true
	}
}

// object writes a map with its keys sorted, as encoding/json does.
func (w *Writer) object(object map[string]any, depth int) {
	if object == nil {
		w.buf = append(w.buf, "null"...)
		return
	}
	var array [16]string // the keys of most objects fit on the stack
	keys := array[:0]
	for key := range object {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	w.Open('{')
	for _, key := range keys {
		w.Key(key)
		w.value(object[key], depth+1)
	}
	w.Close('}')
}

// float writes f as encoding/json's floatEncoder does: like ES6, %f but %e for tiny and huge magnitudes, with
// no padding of the exponent.
func (w *Writer) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		w.failed = true
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	w.buf = strconv.AppendFloat(w.buf, f, format, -1, 64)
	if n := len(w.buf); format == 'e' && n >= 4 && w.buf[n-4] == 'e' && w.buf[n-3] == '-' && w.buf[n-2] == '0' {
		w.buf[n-2] = w.buf[n-1] // e-09 to e-9
		w.buf = w.buf[:n-1]
	}
}

// String writes s as encoding/json's appendString does with HTML escaping on (Marshal's default).
func (w *Writer) String(s string) {
	w.buf = jsonquote.Append(w.buf, s, jsonquote.Marshal)
}
