// Package wire holds what the dialect codecs share to read and write their bodies: one decode of a JSON body
// into generic values, a Reader that takes typed fields out of them with precise errors, the HTTP metadata every
// request carries, and the JSON encoding of answers.
//
// A body is decoded into map[string]any rather than into typed structs: reading fields out of the map gives errors
// with exact JSON paths (including array indexes and parameter names) and exact, case-sensitive key matching
// like Dialogflow's own protojson. Numbers are float64, the type encoding/json gives and CEL reads as double.
// The decode itself is a one-pass parser (parse.go) that builds exactly what encoding/json builds, and hands
// every body it does not take to encoding/json. The JSON dialects have it build only the fields they read, as an
// Object without maps (DecodeEnvelope, fields.go, envelope.go), and leave the whole object (model.Request.Body)
// to be decoded when a route reads it.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unsafe"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// DecodeObject decodes a body that must be one JSON object. Every failure is a *dialect.DecodeError.
func DecodeObject(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &dialect.DecodeError{Message: "empty body; expected a JSON object"}
	}
	if object, ok := parseObject(body); ok {
		return object, nil
	}
	return decodeJSON(body)
}

// DecodeEnvelope decodes a body that must be one JSON object, as DecodeObject does (the same errors, for the
// same bodies), but builds only the given fields of it: the envelope the codec reads. The whole object is left
// to be decoded again from the body's text on first use (Whole.SetOn). Every failure is a *dialect.DecodeError.
//
// The envelope's strings and the whole body's text are views of body, not copies (copying every string is a
// large share of what a Dialogflow request allocates), so body must not change while anything decoded from it
// lives: dialect.Input.Body never does (see there).
func DecodeEnvelope(body []byte, fields Fields) (Object, Whole, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return Object{}, Whole{}, &dialect.DecodeError{Message: "empty body; expected a JSON object"}
	}
	src := unsafe.String(unsafe.SliceData(body), len(body))
	if envelope, ok := parseEnvelope(src, fields); ok {
		return envelope, Whole{text: src}, nil
	}
	object, err := decodeJSON(body)
	if err != nil {
		return Object{}, Whole{}, err
	}
	return objectOf(object, fields), Whole{object: object}, nil
}

// Whole is the whole body DecodeEnvelope checked: its text, decoded on first use, or the object when it was
// decoded already.
type Whole struct {
	text   string
	object map[string]any
}

// SetOn makes the whole body req's Body.
func (w Whole) SetOn(req *model.Request) {
	if w.object != nil {
		req.SetBody(w.object)
		return
	}
	req.SetBodyFrom(w.text, decodeChecked)
}

// decodeChecked decodes a body that parseEnvelope took, which parseObject takes too.
func decodeChecked(src string) map[string]any {
	if object, ok := parseObjectString(src); ok {
		return object
	}
	object, _ := decodeJSON([]byte(src)) // not reached: FuzzDecodeEnvelope checks that
	return object
}

// decodeJSON decodes body with encoding/json, which decides and words the errors for the bodies parseObject
// leaves, once countJSON has held it to dialect.MaxJSONValues values and dialect.MaxJSONObjects objects.
func decodeJSON(body []byte) (map[string]any, error) {
	values, objects := countJSON(body)
	if values > dialect.MaxJSONValues {
		return nil, &dialect.DecodeError{Message: fmt.Sprintf(
			"the JSON body has %d values, over the limit of %d", values, dialect.MaxJSONValues)}
	}
	if objects > dialect.MaxJSONObjects {
		return nil, &dialect.DecodeError{Message: fmt.Sprintf(
			"the JSON body has %d objects, over the limit of %d", objects, dialect.MaxJSONObjects)}
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return nil, jsonDecodeError(err)
	}
	object, ok := value.(map[string]any)
	if !ok {
		return nil, &dialect.DecodeError{Message: "expected a JSON object as the body, found " + Kind(value)}
	}
	return object, nil
}

func jsonDecodeError(err error) *dialect.DecodeError {
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return &dialect.DecodeError{Message: fmt.Sprintf("malformed JSON at byte %d: %s", syntaxErr.Offset, syntaxErr)}
	}
	// Into interface values the only type error is a number that does not fit a float64 (1e400).
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return &dialect.DecodeError{Message: fmt.Sprintf("malformed JSON at byte %d: %s does not fit a 64-bit float",
			typeErr.Offset, typeErr.Value)}
	}
	return &dialect.DecodeError{Message: "malformed JSON: " + err.Error()}
}

// Kind names the JSON type of a decoded value for error messages ("a string", "an object", ...).
func Kind(value any) string {
	switch value.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return fmt.Sprintf("%T", value) // not a decoded JSON value; named for whoever passed it
	}
}

// countJSON is how many values and objects the JSON text holds, counted as the parser counts them: the values
// are the top-level one and every member of an object or array. It reads only the punctuation outside strings,
// so that it is exact for valid JSON, allocates nothing for any text, and never counts fewer than the parser met
// before it stopped.
func countJSON(text []byte) (values, objects int) {
	values = 1
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '"':
			i = stringEnd(text, i+1)
		case ',':
			values++
		case '{':
			objects++
			values += firstMember(text, i+1, '}')
		case '[':
			values += firstMember(text, i+1, ']')
		}
	}
	return values, objects
}

// stringEnd is where the string whose text starts at i ends: its closing quote, or the end of text.
func stringEnd(text []byte, i int) int {
	for ; i < len(text); i++ {
		switch text[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return i
}

// firstMember is 1 when the composite whose text starts at i, closed by end, has a first member, as the parser
// reads it: when anything but space and end comes first.
func firstMember(text []byte, i int, end byte) int {
	for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
		i++
	}
	if i < len(text) && text[i] == end {
		return 0
	}
	return 1
}
