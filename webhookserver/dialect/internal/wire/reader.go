package wire

import (
	"strconv"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

// Value is a JSON value as encoding/json decodes it into interface values; the Reader hands out these types.
type Value interface {
	string | float64 | bool | map[string]any | []any
}

// Reader takes typed fields out of a decoded JSON object. It keeps the first wrong field, so that a decoder reads
// every field it needs in a row and checks once; reads after an error return zero values. A missing field and a
// JSON null both read as the zero value: every field the dialects use is optional on the wire.
type Reader struct {
	err *dialect.DecodeError
}

// Err returns the first wrong field as a *dialect.DecodeError, or nil.
func (r *Reader) Err() error {
	if r.err == nil {
		return nil
	}
	return r.err
}

// Fail records a problem found by the caller (for example a required field that is empty), unless an earlier
// one is already recorded.
func (r *Reader) Fail(field, message string) {
	if r.err == nil {
		r.err = &dialect.DecodeError{Field: field, Message: message}
	}
}

// The paths below are written out in full by the callers ("queryResult.intent.displayName"): the field read is
// the last segment, and the error names the whole path without building any string for a correct request.

// String reads the string at path, whose last segment is a field of obj.
func (r *Reader) String(obj map[string]any, path string) string {
	return read[string](r, obj[lastSegment(path)], location{parent: path, index: -1})
}

// Number reads the number at path, whose last segment is a field of obj.
func (r *Reader) Number(obj map[string]any, path string) float64 {
	return read[float64](r, obj[lastSegment(path)], location{parent: path, index: -1})
}

// Object reads the object at path, whose last segment is a field of obj.
func (r *Reader) Object(obj map[string]any, path string) map[string]any {
	return read[map[string]any](r, obj[lastSegment(path)], location{parent: path, index: -1})
}

// Array reads the array at path, whose last segment is a field of obj.
func (r *Reader) Array(obj map[string]any, path string) []any {
	return read[[]any](r, obj[lastSegment(path)], location{parent: path, index: -1})
}

// Element reads element i of the array found at arrayPath, e.g. an object in "queryResult.outputContexts".
func Element[T Value](r *Reader, array []any, arrayPath string, i int) T {
	return read[T](r, array[i], location{parent: arrayPath, index: i})
}

// ElementField reads field key of element i of the array found at arrayPath, e.g.
// "queryResult.outputContexts[2].name".
func ElementField[T Value](r *Reader, element map[string]any, arrayPath string, i int, key string) T {
	return read[T](r, element[key], location{parent: arrayPath, index: i, key: key})
}

// Entry reads the entry name of the object found at objectPath, for objects keyed by data such as
// "intentInfo.parameters.order_id".
func Entry[T Value](r *Reader, obj map[string]any, objectPath, name string) T {
	return read[T](r, obj[name], location{parent: objectPath, index: -1, key: name})
}

func read[T Value](r *Reader, value any, at location) T {
	var zero T
	if r.err != nil || value == nil {
		return zero
	}
	typed, ok := value.(T)
	if !ok {
		r.err = &dialect.DecodeError{Field: at.String(), Message: "expected " + Kind(zero) + ", found " + Kind(value)}
	}
	return typed
}

// location is where a field is, kept in parts so that its string is built only for an error message.
type location struct {
	parent string
	index  int // element of parent when >= 0
	key    string
}

func (l location) String() string {
	var b strings.Builder
	b.WriteString(l.parent)
	if l.index >= 0 {
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(l.index))
		b.WriteByte(']')
	}
	if l.key != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(l.key)
	}
	return b.String()
}

func lastSegment(path string) string {
	return path[strings.LastIndexByte(path, '.')+1:]
}
