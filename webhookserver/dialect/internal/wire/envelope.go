package wire

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

// Object is an object of an envelope (DecodeEnvelope): the fields of the body a codec reads, in the body's
// order, without the maps and interface values that map[string]any needs. A repeated key reads as its last
// value, as with encoding/json. Its methods read fields as the Reader's functions do, with the same errors: a
// missing field and a JSON null read as the zero value, and the first wrong field is kept by the Reader.
type Object struct {
	fields []field
}

// Array is an array of an envelope (Field.Each).
type Array struct {
	elems []field
}

type kind uint8

const (
	kindValue  kind = iota // value holds it, as encoding/json decodes it (nil for null)
	kindString             // str
	kindNumber             // num
	kindObject             // elems are its fields
	kindArray              // elems are its elements, without keys
	kindText               // str is its JSON text (Field.Later)
)

// field is one member of an Object or element of an Array.
type field struct {
	key   string
	kind  kind
	str   string
	num   float64
	elems []field
	value any
}

// built is f with a value kept as text built.
func (f *field) built() *field {
	if f.kind != kindText {
		return f
	}
	b := fieldOf(text(f.str).value(), nil)
	return &b
}

func (f *field) isNull() bool {
	return f.kind == kindValue && f.value == nil
}

// kindName names f's JSON type as Kind does.
func (f *field) kindName() string {
	switch f.kind {
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindObject:
		return "an object"
	case kindArray:
		return "an array"
	}
	return Kind(f.value)
}

// fieldOf is value as an envelope field built as spec says.
func fieldOf(value any, spec *Field) field {
	switch value := value.(type) {
	case string:
		return field{kind: kindString, str: value}
	case float64:
		return field{kind: kindNumber, num: value}
	case map[string]any:
		if spec != nil && spec.Fields != nil {
			return field{kind: kindObject, elems: objectOf(value, spec.Fields).fields}
		}
	case []any:
		if spec != nil && spec.Each != nil {
			elems := make([]field, len(value))
			for i, element := range value {
				elems[i] = fieldOf(element, spec.Each)
			}
			return field{kind: kindArray, elems: elems}
		}
	}
	return field{kind: kindValue, value: value}
}

// objectOf is the envelope of a decoded object: its members named in fields, or all of them for nil fields.
func objectOf(object map[string]any, fields Fields) Object {
	members := make([]field, 0, len(object))
	for key, value := range object {
		if spec, wanted := fields[key]; wanted || fields == nil {
			f := fieldOf(value, spec)
			f.key = key
			members = append(members, f)
		}
	}
	return Object{fields: members}
}

// EnvelopeOf is the envelope of an object decoded whole (a model.Request.Body made by hand), as DecodeEnvelope
// would give it.
func EnvelopeOf(object map[string]any, fields Fields) Object {
	return objectOf(object, fields)
}

func (o Object) find(key string) *field {
	for i := len(o.fields) - 1; i >= 0; i-- {
		if o.fields[i].key == key {
			return &o.fields[i]
		}
	}
	return nil
}

// Build builds the field key in place when it is kept as text (Field.Later), so that later reads find it built.
// It changes o: call it while o is not shared.
func (o Object) Build(key string) {
	if f := o.find(key); f != nil && f.kind == kindText {
		key := f.key
		*f = *f.built()
		f.key = key
	}
}

// Has says whether the field key is there and not null. A field kept as text is not built to say so.
func (o Object) Has(key string) bool {
	f := o.find(key)
	if f != nil && f.kind == kindText {
		return f.str != "null"
	}
	return f != nil && !f.isNull()
}

// take returns f built, or nil when it is missing or null, or when it is not of the kind want names (recorded as
// the Reader's error, unless one is already) or the Reader has an error.
func take(r *Reader, f *field, want string, at location) *field {
	if r.err != nil || f == nil {
		return nil
	}
	if f = f.built(); f.isNull() {
		return nil
	}
	if found := f.kindName(); found != want {
		r.err = &dialect.DecodeError{Field: at.String(), Message: "expected " + want + ", found " + found}
		return nil
	}
	return f
}

func stringOf(f *field) string {
	if f == nil {
		return ""
	}
	return f.str
}

func objectFrom(f *field) Object {
	switch {
	case f == nil:
		return Object{}
	case f.kind == kindObject:
		return Object{fields: f.elems}
	}
	return objectOf(f.value.(map[string]any), nil) // a field the codec did not prune
}

func mapFrom(f *field) map[string]any {
	switch {
	case f == nil:
		return nil
	case f.kind == kindObject:
		return Object{fields: f.elems}.toMap()
	}
	return f.value.(map[string]any)
}

// String reads the string at path, whose last segment is a field of o.
func (o Object) String(r *Reader, path string) string {
	return stringOf(take(r, o.find(lastSegment(path)), "a string", location{parent: path, index: -1}))
}

// Number reads the number at path, whose last segment is a field of o.
func (o Object) Number(r *Reader, path string) float64 {
	if f := take(r, o.find(lastSegment(path)), "a number", location{parent: path, index: -1}); f != nil {
		return f.num
	}
	return 0
}

// Object reads the object at path, whose last segment is a field of o, as the envelope's Object.
func (o Object) Object(r *Reader, path string) Object {
	return objectFrom(take(r, o.find(lastSegment(path)), "an object", location{parent: path, index: -1}))
}

// Map reads the object at path, whose last segment is a field of o, as map[string]any: a field kept whole.
func (o Object) Map(r *Reader, path string) map[string]any {
	return mapFrom(take(r, o.find(lastSegment(path)), "an object", location{parent: path, index: -1}))
}

// Array reads the array at path, whose last segment is a field of o, as the envelope's Array.
func (o Object) Array(r *Reader, path string) Array {
	f := take(r, o.find(lastSegment(path)), "an array", location{parent: path, index: -1})
	switch {
	case f == nil:
		return Array{}
	case f.kind == kindArray:
		return Array{elems: f.elems}
	}
	elements := f.value.([]any) // a field the codec did not prune
	elems := make([]field, len(elements))
	for i, element := range elements {
		elems[i] = fieldOf(element, nil)
	}
	return Array{elems: elems}
}

// Value is the field key as encoding/json decodes it (nil when missing), unchecked.
func (o Object) Value(key string) any {
	f := o.find(key)
	if f == nil {
		return nil
	}
	return f.built().toValue()
}

// ElementString reads field key of o, element i of the array found at arrayPath, e.g.
// "queryResult.outputContexts[2].name".
func (o Object) ElementString(r *Reader, arrayPath string, i int, key string) string {
	return stringOf(take(r, o.find(key), "a string", location{parent: arrayPath, index: i, key: key}))
}

// ElementMap reads the object at field key of o, element i of the array found at arrayPath, as map[string]any.
func (o Object) ElementMap(r *Reader, arrayPath string, i int, key string) map[string]any {
	return mapFrom(take(r, o.find(key), "an object", location{parent: arrayPath, index: i, key: key}))
}

// Len is the number of elements.
func (a Array) Len() int { return len(a.elems) }

// Object reads element i, found at arrayPath, as an Object.
func (a Array) Object(r *Reader, arrayPath string, i int) Object {
	return objectFrom(take(r, &a.elems[i], "an object", location{parent: arrayPath, index: i}))
}

// toValue is f as encoding/json decodes it.
func (f *field) toValue() any {
	switch f.kind {
	case kindString:
		return f.str
	case kindNumber:
		return f.num
	case kindObject:
		return Object{fields: f.elems}.toMap()
	case kindArray:
		array := make([]any, len(f.elems))
		for i := range f.elems {
			array[i] = f.elems[i].built().toValue()
		}
		return array
	case kindText:
		return f.built().toValue()
	}
	return f.value
}

// toMap is o as encoding/json decodes it (the fields it holds).
func (o Object) toMap() map[string]any {
	m := make(map[string]any, len(o.fields))
	for i := range o.fields {
		m[o.fields[i].key] = o.fields[i].toValue()
	}
	return m
}
