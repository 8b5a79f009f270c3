package wire

import (
	"reflect"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// testFields prunes objects and arrays at several levels, under keys that the seeds and the fuzzer use.
var testFields = Fields{
	"a": nil,
	"b": {Fields: Fields{"a": nil, "c": {Each: &Field{Fields: Fields{"a": nil}}}}},
	"c": {Each: &Field{Each: &Field{Fields: Fields{"b": nil}}}},
	"d": {Fields: Fields{}},
}

var fieldsSeeds = []string{
	`{"a":{"x":1},"b":{"a":[1,2],"b":{"skipped":[1,{"y":"z"}]},"c":[{"a":1,"b":2},"s",[{"a":1}],{}]},"z":"\u00e9\n"}`,
	`{"c":[[{"a":1,"b":[true,false,null]},{"c":"d"}],{"b":1},[]],"d":{"a":{"b":"c"}},"e":-1.5e-3}`,
	`{"b":"not an object","c":{"not":"an array"},"d":[1],"x":{"deep":[[[{"e":"\"\\\/"}]]]}}`,
	`{"x":"` + "\xff" + `"}`, `{"x":"\ud83d\ude00"}`, `{"x":1e400}`, `{"x":[1,]}`, `{"x":{"a" 1}}`, `{"x":tru}`,
	`{"b":{"a":1,"a":{"z":1}},"b":{"c":[{"a":2}]}}`,
}

func TestParseFields(t *testing.T) {
	for _, seed := range append(fieldsSeeds, parseSeeds...) {
		checkFields(t, []byte(seed))
	}
	for _, seed := range fieldsSeeds[:3] {
		if _, ok := parseFields(seed, testFields); !ok {
			t.Errorf("parseFields left %q to encoding/json", seed)
		}
	}
	for _, depth := range []int{maxParseDepth - 2, maxParseDepth + 5} {
		deep := `{"x":` + strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth) + `}`
		checkFields(t, []byte(deep))
		deep = `{"c":[` + strings.Repeat(`[`, depth) + strings.Repeat("]", depth) + `]}`
		checkFields(t, []byte(deep))
	}
}

// FuzzDecodeEnvelope checks parseFields against parseObject: it takes the same bodies, and builds the same
// values but for the fields it leaves out; and DecodeEnvelope against DecodeObject: the same errors, and the
// same body.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, seed := range append(fieldsSeeds, parseSeeds...) {
		f.Add([]byte(seed))
	}
	f.Fuzz(checkFields)
}

func checkFields(t *testing.T, body []byte) {
	full, fullOK := parseObject(body)
	envelope, ok := parseFields(string(body), testFields)
	if ok != fullOK {
		t.Fatalf("parseFields(%q) ok = %v, parseObject ok = %v", body, ok, fullOK)
	}
	if ok {
		if want := pruneObject(full, testFields); !reflect.DeepEqual(envelope, want) {
			t.Fatalf("parseFields(%q) = %#v, want %#v", body, envelope, want)
		}
	}

	object, objectErr := DecodeObject(body)
	envelope, lazy, err := DecodeEnvelope(body, testFields)
	if (err == nil) != (objectErr == nil) || (err != nil && err.Error() != objectErr.Error()) {
		t.Fatalf("DecodeEnvelope(%q) error %v, DecodeObject error %v", body, err, objectErr)
	}
	if err != nil {
		return
	}
	if got := (&model.Request{LazyBody: lazy}).DecodedBody(); !reflect.DeepEqual(got, object) {
		t.Fatalf("DecodeEnvelope(%q) body %#v, DecodeObject gives %#v", body, got, object)
	}
	if want := pruneObject(object, testFields); !ok && !reflect.DeepEqual(envelope, object) ||
		ok && !reflect.DeepEqual(envelope, want) {
		t.Fatalf("DecodeEnvelope(%q) envelope %#v", body, envelope)
	}
}

// pruneObject is what parseFields builds, from the whole object.
func pruneObject(object map[string]any, fields Fields) map[string]any {
	pruned := make(map[string]any)
	for name, value := range object {
		if field, ok := fields[name]; ok {
			pruned[name] = prune(value, field)
		}
	}
	return pruned
}

func prune(value any, field *Field) any {
	if field == nil {
		return value
	}
	switch value := value.(type) {
	case map[string]any:
		if field.Fields != nil {
			return pruneObject(value, field.Fields)
		}
	case []any:
		if field.Each != nil {
			pruned := make([]any, len(value))
			for i, element := range value {
				pruned[i] = prune(element, field.Each)
			}
			return pruned
		}
	}
	return value
}
