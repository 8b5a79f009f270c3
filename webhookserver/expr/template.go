package expr

import (
	"context"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// Template is a compiled string template: literal text with ${expr} parts. It is safe for concurrent use.
type Template struct {
	src string
	// parts are the literal texts (unescaped) and expressions in order; empty for a template without
	// expressions, which renders to literal.
	parts   []templatePart
	literal string
	// size is the length of the literal parts, the least a rendering writes.
	size int
}

type templatePart struct {
	text   string   // literal text when prog is nil
	prog   *Program // the ${...} expression
	offset int      // of the "${" in the source
	// url is where the value stands in a URL template (CompileURLTemplate); nil in a text template.
	url *urlSlot
	// xml marks a value of an XML template (CompileXMLTemplate), written XML-escaped.
	xml bool
}

// CompileTemplate compiles a template: text in which each ${expr} is replaced by the value of the CEL
// expression expr, and "$${" stands for a literal "${". The expression ends at the first "}" that closes no
// brace of its own, outside string literals and comments, so ${ {"a": 1}.a } and ${"}"} work. An
// unterminated or empty "${" and an invalid expression are a *CompileError giving the byte offset of the
// "${". WithBoolResult does not apply to templates.
func (e *Env) CompileTemplate(src string, opts ...CompileOption) (*Template, error) {
	o := newCompileOptions(opts)
	o.boolResult = false
	t, err := e.compileTemplate(src, o)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (e *Env) compileTemplate(src string, o compileOptions) (*Template, *CompileError) {
	raw, err := splitTemplate(src)
	if err != nil {
		return nil, err
	}
	t := &Template{src: src}
	if len(raw) == 0 || (len(raw) == 1 && raw[0].expr == "") {
		if len(raw) == 1 {
			t.literal = raw[0].text
		}
		return t, nil
	}
	t.parts = make([]templatePart, len(raw))
	for i, r := range raw {
		if r.expr == "" {
			t.parts[i].text = r.text
			t.size += len(r.text)
			continue
		}
		p, err := e.compile(r.expr, o)
		if err != nil {
			err.Offset = r.offset
			return nil, err
		}
		t.parts[i].prog, t.parts[i].offset = p, r.offset
	}
	return t, nil
}

// CompileXMLTemplate compiles a template whose literal text is XML, such as SSML, and whose values are text in
// it: each value is written XML-escaped, so that no value adds an element, an attribute or an entity.
func (e *Env) CompileXMLTemplate(src string, opts ...CompileOption) (*Template, error) {
	t, err := e.CompileTemplate(src, opts...)
	if err != nil {
		return nil, err
	}
	for i := range t.parts {
		t.parts[i].xml = t.parts[i].prog != nil
	}
	return t, nil
}

// Source returns the template as written.
func (t *Template) Source() string { return t.src }

// IsLiteral tells whether the template has no expression: it renders to the same text for every request.
func (t *Template) IsLiteral() bool { return len(t.parts) == 0 }

// single returns the template's only part when it is one expression and nothing else, written as text.
func (t *Template) single() *Program {
	if len(t.parts) == 1 && t.parts[0].url == nil && !t.parts[0].xml {
		return t.parts[0].prog
	}
	return nil
}

// Render evaluates the template's expressions and returns the text. A value is written as follows: a string
// as it is; an integer in decimal; a double in its shortest decimal form, without an exponent from 1e-6 to
// 1e21 (1234.56, 2.0 -> "2"); a bool as true or false; null and an empty optional as nothing; a list, map
// or object as compact JSON; bytes in base64; a timestamp or duration as CEL's string() writes it. A URL
// template (CompileURLTemplate) then encodes that text for where it stands. An evaluation error, and a value
// that cannot stand where it is in a URL, is an *EvalError.
func (t *Template) Render(ctx context.Context, vars *Vars) (string, error) {
	if len(t.parts) == 0 {
		return t.literal, nil
	}
	if p := t.single(); p != nil {
		v, err := p.eval(ctx, vars)
		if err != nil {
			return "", err
		}
		if s, ok := v.(types.String); ok {
			return string(s), nil
		}
		var b strings.Builder
		if err := writeText(&b, v); err != nil {
			return "", p.evalError(err.Error(), nil)
		}
		return b.String(), nil
	}
	var b strings.Builder
	b.Grow(t.size + 32*len(t.parts))
	for i := range t.parts {
		part := &t.parts[i]
		if part.prog == nil {
			b.WriteString(part.text)
			continue
		}
		v, err := part.prog.eval(ctx, vars)
		if err != nil {
			return "", err
		}
		if err := part.write(&b, v); err != nil {
			return "", part.prog.evalError(err.Error(), nil)
		}
	}
	return b.String(), nil
}

// write writes v, the value of the part's expression: as text, or as its place in a URL requires.
func (part *templatePart) write(b *strings.Builder, v ref.Val) error {
	if part.url == nil && !part.xml {
		return writeText(b, v)
	}
	var text strings.Builder
	if err := writeText(&text, v); err != nil {
		return err
	}
	if part.xml {
		return xml.EscapeText(b, []byte(text.String()))
	}
	return part.url.write(b, text.String())
}

// writeText writes v as Render documents it.
func writeText(b *strings.Builder, v ref.Val) error {
	var scratch [32]byte
	switch v := v.(type) {
	case types.String:
		b.WriteString(string(v))
		return nil
	case types.Int:
		b.Write(strconv.AppendInt(scratch[:0], int64(v), 10))
		return nil
	case types.Uint:
		b.Write(strconv.AppendUint(scratch[:0], uint64(v), 10))
		return nil
	case types.Double:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return errNotFinite
		}
		b.Write(appendFloat(scratch[:0], f))
		return nil
	case types.Bool:
		b.WriteString(strconv.FormatBool(bool(v)))
		return nil
	case types.Null:
		return nil
	case *types.Optional:
		if !v.HasValue() {
			return nil
		}
		return writeText(b, v.GetValue())
	}
	j, err := toJSON(v)
	if err != nil {
		return err
	}
	if s, ok := j.(string); ok {
		b.WriteString(s)
		return nil
	}
	out, err := appendJSON(nil, j)
	if err != nil {
		return err
	}
	b.Write(out)
	return nil
}

// rawPart is a piece of a template: literal text (unescaped) or the source of an expression.
type rawPart struct {
	text   string
	expr   string
	offset int // of the "${" that starts expr
}

// splitTemplate cuts a template into literal text and expressions.
func splitTemplate(src string) ([]rawPart, *CompileError) {
	var (
		parts   []rawPart
		lit     []byte // literal text waiting to become a part
		pending = 0    // start of the source not yet copied to lit
		i       = 0
	)
	for {
		j := strings.IndexByte(src[i:], '$')
		if j < 0 {
			break
		}
		j += i
		switch {
		case strings.HasPrefix(src[j:], "$${"):
			lit = append(lit, src[pending:j]...)
			lit = append(lit, "${"...)
			i = j + 3
			pending = i
		case strings.HasPrefix(src[j:], "${"):
			lit = append(lit, src[pending:j]...)
			end := scanExpr(src, j+2)
			if end < 0 {
				return nil, &CompileError{Offset: j, Message: fmt.Sprintf(
					`unterminated "${" at offset %d: no "}" closes it (write "$${" for a literal "${")`, j)}
			}
			expr := src[j+2 : end]
			if strings.TrimSpace(expr) == "" {
				return nil, &CompileError{Offset: j, Message: fmt.Sprintf(`empty "${}" at offset %d`, j)}
			}
			if len(lit) > 0 {
				parts = append(parts, rawPart{text: string(lit)})
				lit = lit[:0]
			}
			parts = append(parts, rawPart{expr: expr, offset: j})
			i = end + 1
			pending = i
		default:
			i = j + 1
		}
	}
	lit = append(lit, src[pending:]...)
	if len(lit) > 0 {
		parts = append(parts, rawPart{text: string(lit)})
	}
	return parts, nil
}

// scanExpr returns the index of the "}" that ends the expression starting at i, or -1. It follows CEL's
// lexical structure as far as braces can hide in it: string and bytes literals (quoted with ' or ", tripled
// or not, raw with an r prefix), comments up to the end of the line, and nested braces of map and message
// literals.
func scanExpr(s string, i int) int {
	depth := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '}':
			if depth == 0 {
				return i
			}
			depth--
			i++
		case c == '{':
			depth++
			i++
		case c == '"' || c == '\'':
			if i = skipString(s, i, false); i < 0 {
				return -1
			}
		case c == '`':
			end := strings.IndexByte(s[i+1:], '`')
			if end < 0 {
				return -1
			}
			i += end + 2
		case c == '/' && strings.HasPrefix(s[i:], "//"):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				return -1
			}
			i += end + 1
		case isIdentStart(c):
			start := i
			for i < len(s) && isIdentPart(s[i]) {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') && isStringPrefix(s[start:i]) {
				if i = skipString(s, i, strings.ContainsAny(s[start:i], "rR")); i < 0 {
					return -1
				}
			}
		default:
			i++
		}
	}
	return -1
}

// skipString returns the index just after the string literal whose opening quote is at i, or -1.
func skipString(s string, i int, raw bool) int {
	closing := s[i : i+1]
	if triple := strings.Repeat(closing, 3); strings.HasPrefix(s[i:], triple) {
		closing = triple
	}
	i += len(closing)
	for i < len(s) {
		if !raw && s[i] == '\\' {
			i += 2
			continue
		}
		if strings.HasPrefix(s[i:], closing) {
			return i + len(closing)
		}
		i++
	}
	return -1
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9')
}

// isStringPrefix tells whether p prefixes a string literal: r (raw), b (bytes) or both, in any case.
func isStringPrefix(p string) bool {
	switch strings.ToLower(p) {
	case "r", "b", "rb", "br":
		return true
	}
	return false
}
