package wire

import "encoding/json"

// Fields names the fields of a JSON object that a codec reads, for DecodeEnvelope. A field's value is built
// whole when its *Field is nil; otherwise as the Field says when the value is of the kind it expects, and whole
// when it is not (a value of the wrong kind is the Reader's error to report, from the same value).
type Fields map[string]*Field

// Field says which part of a field's value to build.
type Field struct {
	// Fields, for an object: build only these of its fields, as an Object.
	Fields Fields
	// Each, for an array: build each element as Each says, as an Array.
	Each *Field
	// Later: check the value but keep its text, to be built when it is read (or Object.Build is called): for
	// values read only sometimes, like the parameters of a Dialogflow ES context other than the session's.
	Later bool
}

// text is a value kept as its JSON text (Field.Later). It was checked as parser.value parses it.
type text string

// value builds the value.
func (t text) value() any {
	if value, ok := parseValue(string(t)); ok {
		return value
	}
	var value any // not reached: the text was checked, at a greater depth
	_ = json.Unmarshal([]byte(t), &value)
	return value
}

// envelopeValue parses the value at p.pos as spec says, after any space, and pushes it on p.fields under key.
// It pushes the field itself rather than return it: copying the large field out and back showed in the
// profile of a Dialogflow ES decode.
func (p *parser) envelopeValue(depth int, spec *Field, key string) bool {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return false
	}
	f := field{key: key}
	ok := false
	switch c := p.src[p.pos]; {
	case spec != nil && spec.Later:
		start := p.pos
		ok = p.skip(depth)
		f.kind, f.str = kindText, p.src[start:p.pos]
	case c == '{' && spec != nil && spec.Fields != nil:
		f.kind = kindObject
		f.elems, ok = p.envelopeObject(depth+1, spec.Fields)
	case c == '[' && spec != nil && spec.Each != nil:
		f.kind = kindArray
		f.elems, ok = p.envelopeArray(depth+1, spec.Each)
	case c == '"':
		f.kind = kindString
		f.str, ok = p.string()
	case c == '-' || ('0' <= c && c <= '9'):
		f.kind = kindNumber
		f.num, ok = p.float()
	default:
		f.kind = kindValue
		f.value, ok = p.value(depth)
	}
	if ok {
		p.fields = append(doubling(p.fields), f)
	}
	return ok
}

// envelopeObject is object building only the members named in fields, as fields of an Object; the others are
// checked by skip.
func (p *parser) envelopeObject(depth int, fields Fields) ([]field, bool) {
	base := len(p.fields)
	ok := p.composite(depth, '}', true, func(key string) bool {
		if spec, wanted := fields[key]; wanted {
			return p.envelopeValue(depth, spec, key)
		}
		return p.skip(depth)
	})
	if !ok {
		return nil, false
	}
	return p.popFields(base), true
}

// envelopeArray is array building each element as each says.
func (p *parser) envelopeArray(depth int, each *Field) ([]field, bool) {
	base := len(p.fields)
	ok := p.composite(depth, ']', false, func(string) bool { return p.envelopeValue(depth, each, "") })
	if !ok {
		return nil, false
	}
	return p.popFields(base), true
}

// popFields takes the fields above base off the stack, into a slice of their own.
//
// The slices are cut from one slab, as big as the last envelope parse needed in all (the bodies a server gets
// are alike): one allocation per body instead of one per object and array, which were 5 of the 16 of a
// Dialogflow ES decode. A slice has no room to grow into its neighbour's fields.
func (p *parser) popFields(base int) []field {
	n := len(p.fields) - base
	if n > cap(p.slab)-len(p.slab) {
		p.slab = make([]field, 0, max(n, p.pooled.popped-p.popped))
	}
	fields := p.slab[len(p.slab) : len(p.slab)+n : len(p.slab)+n]
	p.slab = p.slab[:len(p.slab)+n]
	p.popped += n
	copy(fields, p.fields[base:])
	clear(p.fields[base:])
	p.fields = p.fields[:base]
	return fields
}

// skip checks the value at p.pos, after any space, as value would parse it, without building it: it takes
// exactly what value takes.
func (p *parser) skip(depth int) bool {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return false
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.skipComposite(depth+1, '}', true)
	case c == '[':
		return p.skipComposite(depth+1, ']', false)
	case c == '"':
		_, ok := p.string() // a slice of src unless the string has escapes
		return ok
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		_, ok := p.float()
		return ok
	}
	return false
}

// skipComposite checks the object (keyed) or array at p.pos as object and array parse them.
func (p *parser) skipComposite(depth int, end byte, keyed bool) bool {
	return p.composite(depth, end, keyed, func(string) bool { return p.skip(depth) })
}
