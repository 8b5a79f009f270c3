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
	"e": {Later: true},
	"f": {Each: &Field{Fields: Fields{"a": nil, "e": {Later: true}}}},
}

var fieldsSeeds = []string{
	`{"a":{"x":1},"b":{"a":[1,2],"b":{"skipped":[1,{"y":"z"}]},"c":[{"a":1,"b":2},"s",[{"a":1}],{}]},"z":"\u00e9\n"}`,
	`{"c":[[{"a":1,"b":[true,false,null]},{"c":"d"}],{"b":1},[]],"d":{"a":{"b":"c"}},"e":-1.5e-3}`,
	`{"b":"not an object","c":{"not":"an array"},"d":[1],"x":{"deep":[[[{"e":"\"\\\/"}]]]}}`,
	`{"x":"` + "\xff" + `"}`, `{"x":"\ud83d\ude00"}`, `{"x":1e400}`, `{"x":[1,]}`, `{"x":{"a" 1}}`, `{"x":tru}`,
	`{"b":{"a":1,"a":{"z":1}},"b":{"c":[{"a":2}]}}`,
	`{"e":{"a":[1,{"b":"\u00e9"}]},"f":[{"a":1,"e":"x"},{"e":[null,true]},{"e":{}},3]}`, `{"e":"` + "\xff" + `"}`,
	`{"f":[{"e":1e400}]}`, `{"e": 12 }`,
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
		if want := pruneObject(full, testFields); !reflect.DeepEqual(built(envelope), want) {
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
		ok && !reflect.DeepEqual(built(envelope), want) {
		t.Fatalf("DecodeEnvelope(%q) envelope %#v", body, envelope)
	}
}

// built is value with every value kept as text (Field.Later) built, as a Reader reads them.
func built(value any) any {
	switch value := value.(type) {
	case text:
		return value.value()
	case map[string]any:
		for k, v := range value {
			value[k] = built(v)
		}
	case []any:
		for i, v := range value {
			value[i] = built(v)
		}
	}
	return value
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

// TestReaderBuildsText: a value kept as text reads as the value, with the same errors, and Build builds it in place.
func TestReaderBuildsText(t *testing.T) {
	envelope, _, err := DecodeEnvelope([]byte(`{"f":[{"e":{"k":"v"}},{"e":"s"},{"e":null}]}`), testFields)
	if err != nil {
		t.Fatal(err)
	}
	elements := envelope["f"].([]any)
	first, second, third := elements[0].(map[string]any), elements[1].(map[string]any), elements[2].(map[string]any)
	if _, kept := first["e"].(text); !kept {
		t.Fatalf("f[0].e = %#v, want it kept as text", first["e"])
	}
	var r Reader
	if got := ElementField[map[string]any](&r, first, "f", 0, "e"); !reflect.DeepEqual(got, map[string]any{"k": "v"}) {
		t.Errorf("f[0].e read as %#v", got)
	}
	if got := ElementField[map[string]any](&r, third, "f", 2, "e"); got != nil || r.Err() != nil {
		t.Errorf("f[2].e (null) read as %#v, %v", got, r.Err())
	}
	ElementField[map[string]any](&r, second, "f", 1, "e")
	if err := r.Err(); err == nil || err.Error() != "f[1].e: expected an object, found a string" {
		t.Errorf("f[1].e: error %v", err)
	}
	Build(first, "e")
	if got, ok := first["e"].(map[string]any); !ok || got["k"] != "v" {
		t.Errorf("after Build, f[0].e = %#v", first["e"])
	}
}
