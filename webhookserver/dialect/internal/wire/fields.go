package wire

import "encoding/json"

// Fields names the fields of a JSON object that a codec reads, for DecodeEnvelope. A field's value is built
// whole when its *Field is nil; otherwise as the Field says when the value is of the kind it expects, and whole
// when it is not (a value of the wrong kind is the Reader's error to report, from the same value).
type Fields map[string]*Field

// Field says which part of a field's value to build.
type Field struct {
	// Fields, for an object: build only these of its fields.
	Fields Fields
	// Each, for an array: build each element as Each says.
	Each *Field
	// Later: check the value but keep its text, to be built when a Reader reads it (or Build is called): for
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

// Build replaces obj[key] by its value when it is kept as text (Field.Later), so that later reads find it built.
// It changes obj: call it while obj is not shared.
func Build(obj map[string]any, key string) {
	if t, ok := obj[key].(text); ok {
		obj[key] = t.value()
	}
}

// fieldsValue parses the value at p.pos as field says, after any space.
func (p *parser) fieldsValue(depth int, field *Field) (any, bool) {
	p.skipSpace()
	if field != nil && field.Later {
		start := p.pos
		if !p.skip(depth) {
			return nil, false
		}
		return text(p.src[start:p.pos]), true
	}
	if field != nil && p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '{':
			if field.Fields != nil {
				object, ok := p.fieldsObject(depth+1, field.Fields)
				return object, ok
			}
		case '[':
			if field.Each != nil {
				array, ok := p.fieldsArray(depth+1, field.Each)
				return array, ok
			}
		}
	}
	return p.value(depth)
}

// fieldsObject is object building only the members named in fields; the others are checked by skip.
func (p *parser) fieldsObject(depth int, fields Fields) (map[string]any, bool) {
	if depth > maxParseDepth {
		return nil, false
	}
	p.pos++ // '{'
	base := len(p.stack)
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return map[string]any{}, true
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return nil, false
		}
		key, ok := p.string()
		if !ok {
			return nil, false
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, false
		}
		p.pos++
		if field, wanted := fields[key]; wanted {
			value, ok := p.fieldsValue(depth, field)
			if !ok {
				return nil, false
			}
			p.stack = append(p.stack, member{key: key, value: value})
		} else if !p.skip(depth) {
			return nil, false
		}
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, false
		}
		if p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.src[p.pos] != '}' {
			return nil, false
		}
		p.pos++
		break
	}
	members := p.stack[base:]
	object := make(map[string]any, len(members))
	for _, m := range members {
		object[m.key] = m.value // a repeated key keeps its last value, as with encoding/json
	}
	clear(members)
	p.stack = p.stack[:base]
	return object, true
}

// fieldsArray is array building each element as each says.
func (p *parser) fieldsArray(depth int, each *Field) ([]any, bool) {
	if depth > maxParseDepth {
		return nil, false
	}
	p.pos++ // '['
	base := len(p.stack)
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return []any{}, true
	}
	for {
		value, ok := p.fieldsValue(depth, each)
		if !ok {
			return nil, false
		}
		p.stack = append(p.stack, member{value: value})
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, false
		}
		if p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.src[p.pos] != ']' {
			return nil, false
		}
		p.pos++
		break
	}
	members := p.stack[base:]
	array := make([]any, len(members))
	for i, m := range members {
		array[i] = m.value
	}
	clear(members)
	p.stack = p.stack[:base]
	return array, true
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
	if depth > maxParseDepth {
		return false
	}
	p.pos++ // '{' or '['
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == end {
		p.pos++
		return true
	}
	for {
		if keyed {
			p.skipSpace()
			if p.pos >= len(p.src) || p.src[p.pos] != '"' {
				return false
			}
			if _, ok := p.string(); !ok {
				return false
			}
			p.skipSpace()
			if p.pos >= len(p.src) || p.src[p.pos] != ':' {
				return false
			}
			p.pos++
		}
		if !p.skip(depth) {
			return false
		}
		p.skipSpace()
		if p.pos >= len(p.src) {
			return false
		}
		if p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.src[p.pos] != end {
			return false
		}
		p.pos++
		return true
	}
}
