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
		if _, ok := parseEnvelope(seed, testFields); !ok {
			t.Errorf("parseEnvelope left %q to encoding/json", seed)
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
	parsed, ok := parseEnvelope(string(body), testFields)
	if ok != fullOK {
		t.Fatalf("parseEnvelope(%q) ok = %v, parseObject ok = %v", body, ok, fullOK)
	}
	if ok {
		if got, want := parsed.toMap(), pruneObject(full, testFields); !reflect.DeepEqual(got, want) {
			t.Fatalf("parseEnvelope(%q) = %#v, want %#v", body, got, want)
		}
	}

	object, objectErr := DecodeObject(body)
	envelope, whole, err := DecodeEnvelope(body, testFields)
	if (err == nil) != (objectErr == nil) || (err != nil && err.Error() != objectErr.Error()) {
		t.Fatalf("DecodeEnvelope(%q) error %v, DecodeObject error %v", body, err, objectErr)
	}
	if err != nil {
		return
	}
	req := &model.Request{}
	whole.SetOn(req)
	if got := req.Body(); !reflect.DeepEqual(got, object) {
		t.Fatalf("DecodeEnvelope(%q) body %#v, DecodeObject gives %#v", body, got, object)
	}
	if got, want := envelope.toMap(), pruneObject(object, testFields); !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeEnvelope(%q) envelope %#v, want %#v", body, got, want)
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

// TestEnvelopeReads: an Object reads its fields as the Reader reads a map, with the same errors; a value kept
// as text reads as the value, and Build builds it in place.
func TestEnvelopeReads(t *testing.T) {
	body := []byte(`{"a":"s","b":{"a":2,"c":[{"a":true}]},"e":null,"f":[{"a":1,"e":{"k":"v"}},{"e":"s"},{"e":null},"x"]}`)
	envelope, _, err := DecodeEnvelope(body, testFields)
	if err != nil {
		t.Fatal(err)
	}
	var r Reader
	b := envelope.Object(&r, "b")
	if got := envelope.String(&r, "a"); got != "s" {
		t.Errorf("a = %q", got)
	}
	if got := b.Number(&r, "b.a"); got != 2 {
		t.Errorf("b.a = %v", got)
	}
	if envelope.Has("e") || !envelope.Has("a") || envelope.Map(&r, "e") != nil || r.Err() != nil {
		t.Errorf("e (null): Has %v, error %v", envelope.Has("e"), r.Err())
	}
	list := envelope.Array(&r, "f")
	if list.Len() != 4 {
		t.Fatalf("f has %d elements", list.Len())
	}
	first, second, third := list.Object(&r, "f", 0), list.Object(&r, "f", 1), list.Object(&r, "f", 2)
	if f := first.find("e"); f == nil || f.kind != kindText {
		t.Fatalf("f[0].e = %#v, want it kept as text", f)
	}
	if got := first.ElementMap(&r, "f", 0, "e"); !reflect.DeepEqual(got, map[string]any{"k": "v"}) {
		t.Errorf("f[0].e read as %#v", got)
	}
	if got := third.ElementMap(&r, "f", 2, "e"); got != nil || r.Err() != nil {
		t.Errorf("f[2].e (null) read as %#v, %v", got, r.Err())
	}
	if first.Value("a") != 1.0 || first.Value("missing") != nil {
		t.Errorf("f[0].a = %#v", first.Value("a"))
	}
	second.ElementMap(&r, "f", 1, "e")
	if err := r.Err(); err == nil || err.Error() != "f[1].e: expected an object, found a string" {
		t.Errorf("f[1].e: error %v", err)
	}
	r = Reader{}
	list.Object(&r, "f", 3)
	if err := r.Err(); err == nil || err.Error() != "f[3]: expected an object, found a string" {
		t.Errorf("f[3]: error %v", err)
	}
	r = Reader{}
	envelope.Number(&r, "a")
	if err := r.Err(); err == nil || err.Error() != "a: expected a number, found a string" {
		t.Errorf("a as a number: error %v", err)
	}
	first.Build("e")
	if f := first.find("e"); f.kind != kindValue || f.key != "e" {
		t.Errorf("after Build, f[0].e = %#v", f)
	}
	if got := EnvelopeOf(map[string]any{"a": "s", "z": 1.0}, testFields).toMap(); !reflect.DeepEqual(got, map[string]any{"a": "s"}) {
		t.Errorf("EnvelopeOf = %#v", got)
	}
}
