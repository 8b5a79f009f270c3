package expr

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

var errNotFinite = errors.New("result is not a finite number (JSON has no NaN or infinity)")

// toJSON converts a CEL value to JSON-compatible Go (nil, bool, int64, float64, string, []any,
// map[string]any). Lists and maps are copied.
func toJSON(v ref.Val) (any, error) {
	switch v := v.(type) {
	case types.String:
		return string(v), nil
	case types.Bool:
		return bool(v), nil
	case types.Int:
		return int64(v), nil
	case types.Double:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, errNotFinite
		}
		return f, nil
	case types.Uint:
		if v <= math.MaxInt64 {
			return int64(v), nil
		}
		return float64(v), nil
	case types.Null:
		return nil, nil
	case types.Bytes:
		return base64.StdEncoding.EncodeToString(v), nil
	case types.Timestamp, types.Duration:
		return string(v.ConvertToType(types.StringType).(types.String)), nil
	case *types.Optional:
		if !v.HasValue() {
			return nil, nil
		}
		return toJSON(v.GetValue())
	case *objectValue:
		return objectToJSON(v)
	}
	// Request data keeps its Go form inside CEL: copy it without a CEL value per element.
	switch native := v.Value().(type) {
	case map[string]any, []any, map[string]string:
		return nativeToJSON(native)
	}
	switch v := v.(type) {
	case traits.Mapper:
		out := make(map[string]any, int(v.Size().(types.Int)))
		for it := v.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			key, err := mapKey(k)
			if err != nil {
				return nil, err
			}
			val, err := toJSON(v.Get(k))
			if err != nil {
				return nil, err
			}
			out[key] = val
		}
		return out, nil
	case traits.Lister:
		out := make([]any, 0, int(v.Size().(types.Int)))
		for it := v.Iterator(); it.HasNext() == types.True; {
			val, err := toJSON(it.Next())
			if err != nil {
				return nil, err
			}
			out = append(out, val)
		}
		return out, nil
	}
	return nil, fmt.Errorf("result of type %s has no JSON form", typeName(v))
}

// mapKey converts a CEL map key to a JSON object key: strings as they are, integers in decimal, bools as
// true/false.
func mapKey(k ref.Val) (string, error) {
	switch k := k.(type) {
	case types.String:
		return string(k), nil
	case types.Int:
		return strconv.FormatInt(int64(k), 10), nil
	case types.Uint:
		return strconv.FormatUint(uint64(k), 10), nil
	case types.Bool:
		return strconv.FormatBool(bool(k)), nil
	}
	return "", fmt.Errorf("map key of type %s has no JSON form", typeName(k))
}

func objectToJSON(o *objectValue) (any, error) {
	out := make(map[string]any, len(o.typ.fields))
	for _, f := range o.typ.fields {
		v, err := nativeToJSON(f.get(o.target))
		if err != nil {
			return nil, err
		}
		out[f.name] = v
	}
	return out, nil
}

// nativeToJSON copies a Go JSON value into the JSON-compatible form: json.Number and Go integers become
// float64 or int64, map[string]string becomes map[string]any.
func nativeToJSON(v any) (any, error) {
	switch v := v.(type) {
	case nil, string, bool, int64:
		return v, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errNotFinite
		}
		return v, nil
	case map[string]any:
		if v == nil {
			return map[string]any{}, nil
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := nativeToJSON(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			c, err := nativeToJSON(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = e
		}
		return out, nil
	case json.Number:
		// As in CEL, where JSON numbers are doubles.
		f, err := v.Float64()
		if err != nil {
			return nil, errors.New("invalid JSON number")
		}
		return f, nil
	case ref.Val:
		return toJSON(v)
	}
	if n, ok := goNumber(v); ok {
		return n, nil
	}
	return nil, fmt.Errorf("value of Go type %T has no JSON form", v)
}

// goNumber turns the Go number types a decoder or a caller may produce into JSON's int64 or float64 (a uint64
// beyond int64 becomes a float, as JSON readers would read it).
func goNumber(v any) (any, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
		return float64(v), true
	case float32:
		return float64(v), true
	}
	return nil, false
}

// appendFloat formats f as encoding/json does (and JavaScript): the shortest decimal that reads back as f,
// without an exponent from 1e-6 to 1e21: 2.0 -> "2", 1234.56 -> "1234.56", 1e21 -> "1e+21".
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 -> 1e-7
		n := len(b)
		if n-start >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSON appends the compact JSON of v without escaping <, > and & (the text is not HTML).
func appendJSON(b []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b, err
	}
	out := buf.Bytes()
	return out[:len(out)-1], nil // Encode ends with a newline
}
