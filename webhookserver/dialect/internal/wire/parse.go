package wire

import (
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

// parseObject is the fast path of DecodeObject: one pass over the body that builds the same values as
// encoding/json.Unmarshal into an interface (map[string]any, []any, string, float64, bool, nil).
//
// encoding/json first validates the whole body (checkValid), then decodes it with reflection, growing each map
// and slice as it goes and copying each string; on a Dialogflow request that was the largest part of the
// server's CPU time, with the garbage it leaves. Here the body is copied into one string that every unescaped string and
// key slices into, and each object and array is collected on a shared stack first so that it is allocated once
// at its final size.
//
// It handles valid JSON only, and only what it can build exactly as encoding/json does. On anything else
// (a syntax error, a number out of range, invalid UTF-8, a surrogate \u escape, deep nesting) it reports
// ok == false and DecodeObject asks encoding/json, which decides and words the error: the result is the same
// for every body, which FuzzDecodeObject checks against encoding/json. A body of more values or objects than
// dialect.MaxJSONValues or dialect.MaxJSONObjects is left the same way, as soon as the parser counts one too
// many; countJSON then refuses it before encoding/json builds anything.
func parseObject(body []byte) (object map[string]any, ok bool) {
	return parseObjectString(string(body))
}

func parseObjectString(src string) (object map[string]any, ok bool) {
	p := parser{src: src, values: 1} // the top-level value
	p.acquire()
	defer p.release()
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '{' {
		return nil, false
	}
	if object, ok = p.object(0); !ok || !p.atEnd() {
		return nil, false
	}
	return object, true
}

// parseEnvelope parses src as parseObject does, but builds only the given fields of the object, as an Object
// (see Fields): every other value is checked exactly as parseObject checks it, and not built. It takes the
// same bodies as parseObject, which FuzzDecodeEnvelope checks.
func parseEnvelope(src string, fields Fields) (Object, bool) {
	p := parser{src: src, values: 1} // the top-level value
	p.acquire()
	defer p.release()
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '{' {
		return Object{}, false
	}
	members, ok := p.envelopeObject(0, fields)
	if !ok || !p.atEnd() {
		return Object{}, false
	}
	return Object{fields: members}, true
}

// parseValue parses src, one JSON value, as parseObject parses a member's value.
func parseValue(src string) (value any, ok bool) {
	p := parser{src: src, values: 1} // the top-level value
	p.acquire()
	defer p.release()
	if value, ok = p.value(0); !ok || !p.atEnd() {
		return nil, false
	}
	return value, true
}

// atEnd says whether only space is left (no trailing data).
func (p *parser) atEnd() bool {
	p.skipSpace()
	return p.pos == len(p.src)
}

// stacks are a parser's stacks, kept in stackPool: growing them from nothing took 5 or 6 allocations per body.
type stacks struct {
	members []member
	fields  []field
	// popped is how many fields the last envelope parse with this stacks popped (popFields): the size of the
	// next one's slab.
	popped int
}

var stackPool = sync.Pool{New: func() any {
	return &stacks{members: make([]member, 0, 64), fields: make([]field, 0, 32)}
}}

// maxPooledStack is the most members or fields a stack put back in stackPool holds, so that one huge body does
// not keep its stack's memory for good.
const maxPooledStack = 1024

// acquire takes the stacks from stackPool.
func (p *parser) acquire() {
	p.pooled = stackPool.Get().(*stacks)
	p.stack, p.fields = p.pooled.members, p.pooled.fields
}

// release returns the stacks to stackPool, emptied: a failed parse leaves values on them.
func (p *parser) release() {
	if p.popped > 0 {
		p.pooled.popped = min(p.popped, maxPooledStack)
	}
	if cap(p.stack) <= maxPooledStack && cap(p.fields) <= maxPooledStack {
		clear(p.stack)
		clear(p.fields)
		p.pooled.members, p.pooled.fields = p.stack[:0], p.fields[:0]
		stackPool.Put(p.pooled)
	}
}

// maxParseDepth is far below encoding/json's limit (10000): deeper bodies go to encoding/json, which decides.
const maxParseDepth = 500

type parser struct {
	src string
	pos int
	// stack holds the members of the objects and arrays being parsed, innermost last; fields those of an
	// envelope's objects and arrays.
	stack  []member
	fields []field
	pooled *stacks // where the stacks came from
	// slab is where popFields puts the fields it pops, and popped how many it has popped.
	slab   []field
	popped int
	// values and objects are how many of each the parser has met, as countJSON counts them.
	values, objects int
}

type member struct {
	key   string
	value any
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value parses the value at p.pos, after any space.
func (p *parser) value(depth int) (any, bool) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, false
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		object, ok := p.object(depth + 1)
		return object, ok
	case c == '[':
		array, ok := p.array(depth + 1)
		return array, ok
	case c == '"':
		s, ok := p.string()
		return s, ok
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	}
	return nil, false
}

func (p *parser) literal(word string) bool {
	if len(p.src)-p.pos < len(word) || p.src[p.pos:p.pos+len(word)] != word {
		return false
	}
	p.pos += len(word)
	return true
}

// composite walks the object (keyed) or array at p.pos ('{' or '[', closed by end) at depth: it checks the
// punctuation, reads each member's key (an array's members have none) and calls each, which must parse the
// member's value. Every way of reading a composite (building it, building part of it, skipping it) goes
// through here, so all of them take exactly the same texts.
func (p *parser) composite(depth int, end byte, keyed bool, each func(key string) bool) bool {
	if depth > maxParseDepth {
		return false
	}
	if keyed {
		if p.objects++; p.objects > dialect.MaxJSONObjects {
			return false
		}
	}
	p.pos++ // '{' or '['
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == end {
		p.pos++
		return true
	}
	for {
		if p.values++; p.values > dialect.MaxJSONValues {
			return false
		}
		var key string
		if keyed {
			p.skipSpace()
			if p.pos >= len(p.src) || p.src[p.pos] != '"' {
				return false
			}
			var ok bool
			if key, ok = p.string(); !ok {
				return false
			}
			p.skipSpace()
			if p.pos >= len(p.src) || p.src[p.pos] != ':' {
				return false
			}
			p.pos++
		}
		if !each(key) {
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

// object parses the object at p.pos ('{').
func (p *parser) object(depth int) (map[string]any, bool) {
	base := len(p.stack)
	ok := p.composite(depth, '}', true, func(key string) bool {
		value, ok := p.value(depth)
		if ok {
			p.stack = append(doubling(p.stack), member{key: key, value: value})
		}
		return ok
	})
	if !ok {
		return nil, false
	}
	members := p.stack[base:]
	object := make(map[string]any, len(members))
	for _, m := range members {
		object[m.key] = m.value // a repeated key keeps its last value, as with encoding/json
	}
	clear(members) // let the values go with the object
	p.stack = p.stack[:base]
	return object, true
}

// array parses the array at p.pos ('[').
func (p *parser) array(depth int) ([]any, bool) {
	base := len(p.stack)
	ok := p.composite(depth, ']', false, func(string) bool {
		value, ok := p.value(depth)
		if ok {
			p.stack = append(doubling(p.stack), member{value: value})
		}
		return ok
	})
	if !ok {
		return nil, false
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

// doubling makes room in stack for one more element, doubling it when it is full. append grows a large slice by
// a quarter at a time, and the copies then add up to about five times the stack's final size: a body of small
// values in one array, which a stack holds whole, would allocate many times its own size.
func doubling[T any](stack []T) []T {
	if len(stack) < cap(stack) {
		return stack
	}
	return slices.Grow(stack, max(len(stack), 1))
}

// string parses the string at p.pos ('"'). Without escapes it is a slice of src.
//
// Scanning byte by byte was a large part of a Dialogflow ES decode, so it first goes 8 bytes at a time
// (stringWords) up to the first byte that needs a look, then byte by byte from there.
func (p *parser) string() (string, bool) {
	start := p.pos + 1
	i, high := stringWords(p.src, start)
	ascii := high&highBits == 0
	for ; i < len(p.src); i++ {
		switch c := p.src[i]; {
		case c == '"':
			s := p.src[start:i]
			if !ascii && !utf8.ValidString(s) {
				return "", false // encoding/json replaces invalid UTF-8: left to it
			}
			p.pos = i + 1
			return s, true
		case c == '\\':
			return p.escapedString(start)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// stringWords scans src from i, 8 bytes at a time, for the first '"', '\\' or control byte (< 0x20) of a string.
// It returns where that byte is, or where fewer than 8 bytes are left, and the OR of the bytes before it,
// whose high bits say whether any of them is not ASCII.
func stringWords(src string, i int) (int, uint64) {
	var high uint64
	for i+8 <= len(src) {
		w := word(src, i)
		// A byte's high bit in special says it is one of the three: x^'"' or x^'\\' is zero, or x - 0x20 borrows
		// (x < 0x20; ^w keeps bytes >= 0x80 out). The borrow of a byte that is one can mark bytes above it
		// wrongly, never below, so the lowest marked byte is always one of the three.
		special := (hasZero(w^('"'*lowBits)) | hasZero(w^('\\'*lowBits)) | (w-0x20*lowBits)&^w) & highBits
		if special != 0 {
			n := bits.TrailingZeros64(special) / 8
			return i + n, high | w&(1<<(8*n)-1)
		}
		high |= w
		i += 8
	}
	return i, high
}

// word is the 8 bytes of s at i, little-endian (one load, once compiled).
func word(s string, i int) uint64 {
	b := s[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// hasZero, masked with highBits, marks the lowest zero byte of w with its high bit (and maybe bytes above it,
// never below).
func hasZero(w uint64) uint64 {
	return (w - lowBits) &^ w
}

// escapedString parses a string with escapes that starts at start (after its quote).
func (p *parser) escapedString(start int) (string, bool) {
	out := make([]byte, 0, 32)
	i := start
	for i < len(p.src) {
		c := p.src[i]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return "", false
			}
			p.pos = i + 1
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(p.src) {
			return "", false
		}
		switch p.src[i+1] {
		case '"', '\\', '/':
			out = append(out, p.src[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+6 > len(p.src) {
				return "", false
			}
			r, err := strconv.ParseUint(p.src[i+2:i+6], 16, 16)
			if err != nil || !isHex4(p.src[i+2:i+6]) {
				return "", false
			}
			if 0xd800 <= r && r < 0xe000 {
				return "", false // surrogates (pairs or not): left to encoding/json
			}
			out = utf8.AppendRune(out, rune(r))
			i += 6
			continue
		default:
			return "", false
		}
		i += 2
	}
	return "", false
}

// isHex4 says whether s is 4 hex digits (ParseUint would also take a sign or an underscore prefix).
func isHex4(s string) bool {
	for i := range len(s) {
		switch c := s[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// number parses the number at p.pos, as JSON writes numbers: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() (any, bool) {
	f, ok := p.float()
	if !ok {
		return nil, false
	}
	return f, true
}

// float is number without the interface value (which allocates).
func (p *parser) float() (float64, bool) {
	start := p.pos
	i := p.pos
	if p.src[i] == '-' {
		i++
	}
	switch {
	case i < len(p.src) && p.src[i] == '0':
		i++
	case i < len(p.src) && '1' <= p.src[i] && p.src[i] <= '9':
		i = digits(p.src, i)
	default:
		return 0, false
	}
	if i < len(p.src) && p.src[i] == '.' {
		j := digits(p.src, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(p.src) && (p.src[i] == 'e' || p.src[i] == 'E') {
		i++
		if i < len(p.src) && (p.src[i] == '+' || p.src[i] == '-') {
			i++
		}
		j := digits(p.src, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	f, err := strconv.ParseFloat(p.src[start:i], 64)
	if err != nil {
		return 0, false // out of range: encoding/json's error
	}
	p.pos = i
	return f, true
}

func digits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}
