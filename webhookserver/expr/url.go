package expr

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types/ref"
)

// The functions that insert a value into a URL template as it is, for a route that builds part of a URL
// from data it trusts (a path in the body of an event its sender signs, say).
const (
	rawPathFunction  = "url.rawPath"
	rawQueryFunction = "url.rawQuery"
)

// rawKind says whether an expression is a call of url.rawPath or url.rawQuery, which a URL template writes as
// it is rather than percent-encoded.
type rawKind uint8

const (
	notRaw rawKind = iota
	rawPath
	rawQuery
)

// rawURLFunction declares url.rawPath or url.rawQuery, which return their argument: what makes them raw is
// that a URL template finds one as the whole of a ${...} (rawKindOf).
func rawURLFunction(name string) cel.EnvOption {
	return cel.Function(name, cel.Overload(strings.ReplaceAll(name, ".", "_")+"_string",
		[]*cel.Type{cel.StringType}, cel.StringType, cel.UnaryBinding(func(v ref.Val) ref.Val { return v })))
}

// errMisplacedRaw refuses a raw function anywhere but as the whole expression, where its value could be
// mixed with other text and escape the check of what it may hold.
var errMisplacedRaw = errors.New(rawPathFunction + " and " + rawQueryFunction +
	" must be the whole of a ${...}, as in ${" + rawPathFunction + "(request.body.path)}")

// rawKindOf tells whether root is a call of a raw function, and refuses one anywhere else in the expression.
func rawKindOf(root celast.Expr) (rawKind, error) {
	calls := 0
	celast.PreOrderVisit(root, celast.NewExprVisitor(func(e celast.Expr) {
		if rawFunctionKind(e) != notRaw {
			calls++
		}
	}))
	kind := rawFunctionKind(root)
	switch {
	case calls == 0:
		return notRaw, nil
	case kind == notRaw || calls > 1:
		return notRaw, errMisplacedRaw
	}
	return kind, nil
}

func rawFunctionKind(e celast.Expr) rawKind {
	if e.Kind() != celast.CallKind {
		return notRaw
	}
	switch e.AsCall().FunctionName() {
	case rawPathFunction:
		return rawPath
	case rawQueryFunction:
		return rawQuery
	}
	return notRaw
}

// CompileURLTemplate compiles the template of a URL, such as call.url. Its values are data: each ${expr} is
// percent-encoded for where it stands, so that no value can change the URL's shape.
//
//	scheme, host        the value must be a host name, with or without a port (letters, digits, '-', '.',
//	                    and ':' followed by digits); anything else fails the rendering
//	port                digits
//	path                one path segment (url.PathEscape): '/', '?', '#' and '%' are encoded; a value made
//	                    of dots only ("." or "..") is written %2E; an empty value between two '/' fails
//	query               a query key or value (url.QueryEscape): '&', '=', '#' are encoded
//	fragment            encoded as a path segment
//
// ${url.rawPath(expr)} in the path and ${url.rawQuery(expr)} in the query write their value as it is, once
// checked to be an encoded path (no '?', '#', "." or ".." segment) or query (no '#'): letters, digits,
// "-._~!$&'()*+,;=:@/" (and '?' in a query), and %XX escapes. Elsewhere, and in any other expression, they
// are compile errors. The literal text must be a URL as it is sent: a character that needs percent-encoding
// (a space, a quote, a brace, a non-ASCII letter...) is a compile error, since Go would otherwise encode the
// whole path again and decode the values' escapes (%2F) on the way.
func (e *Env) CompileURLTemplate(src string, opts ...CompileOption) (*Template, error) {
	o := newCompileOptions(opts)
	o.boolResult = false
	o.url = true
	t, err := e.compileTemplate(src, o)
	if err != nil {
		return nil, err
	}
	if err := placeURLParts(t); err != nil {
		return nil, err
	}
	return t, nil
}

// urlPosition is the part of a URL a template value stands in.
type urlPosition uint8

const (
	inOrigin urlPosition = iota // scheme and host, with or without the port
	inPort                      // after the host's ':'
	inPath
	inQuery
	inFragment
)

// urlSlot is where a value stands in a URL template, and so how it is written.
type urlSlot struct {
	position urlPosition
	raw      rawKind
	// betweenSlashes marks a path value with '/' right before and after it: empty, it would make "//",
	// which servers and proxies may merge into another path.
	betweenSlashes bool
}

// placeURLParts gives every expression of a URL template its slot, from the literal text before it, and
// checks the literal text.
func placeURLParts(t *Template) *CompileError {
	if t.IsLiteral() {
		return checkURLLiteral(t.literal)
	}
	var before strings.Builder // the template so far, each expression standing as one letter
	for i := range t.parts {
		part := &t.parts[i]
		if part.prog == nil {
			if err := checkURLLiteral(part.text); err != nil {
				return err
			}
			before.WriteString(part.text)
			continue
		}
		slot := &urlSlot{position: positionAfter(before.String()), raw: part.prog.raw}
		if msg := slot.misplacedRaw(); msg != "" {
			return &CompileError{Expression: part.prog.src, Offset: part.offset, Message: msg}
		}
		slot.betweenSlashes = slot.position == inPath && strings.HasSuffix(before.String(), "/") &&
			i+1 < len(t.parts) && strings.HasPrefix(t.parts[i+1].text, "/")
		part.url = slot
		before.WriteString("x")
	}
	return nil
}

// positionAfter is the position of a value that follows the URL text before.
func positionAfter(before string) urlPosition {
	_, rest, found := strings.Cut(before, "://")
	switch {
	case !found:
		return inOrigin
	case strings.Contains(rest, "#"):
		return inFragment
	case strings.Contains(rest, "?"):
		return inQuery
	case strings.Contains(rest, "/"):
		return inPath
	case strings.Contains(rest, ":"):
		return inPort
	}
	return inOrigin
}

// misplacedRaw says why a raw function cannot stand in the slot, or "".
func (s *urlSlot) misplacedRaw() string {
	switch {
	case s.raw == rawPath && s.position != inPath:
		return rawPathFunction + " is for the path of the URL (after the host, before '?')"
	case s.raw == rawQuery && s.position != inQuery:
		return rawQueryFunction + " is for the query of the URL (after '?')"
	}
	return ""
}

// write writes text, a value of the template, as the slot requires. Its errors never quote the value.
func (s *urlSlot) write(b *strings.Builder, text string) error {
	switch s.raw {
	case rawPath:
		return writeRawPath(b, text)
	case rawQuery:
		return writeRawQuery(b, text)
	}
	switch s.position {
	case inOrigin:
		if !isHostOrPort(text) {
			return errors.New("a value in the scheme, host or port of a URL must be a host name or port " +
				"(letters, digits, '-', '.', and ':' followed by digits)")
		}
		b.WriteString(text)
	case inPort:
		if !isPort(text) {
			return errors.New("a value in the port of a URL must be digits")
		}
		b.WriteString(text)
	case inPath:
		return s.writeSegment(b, text)
	case inQuery:
		b.WriteString(url.QueryEscape(text))
	case inFragment:
		b.WriteString(url.PathEscape(text))
	}
	return nil
}

// writeSegment writes a value as (part of) one path segment. Dots are unreserved, so url.PathEscape leaves
// ".." as it is; a value of dots alone is encoded so that it cannot become a dot-segment that climbs the path.
func (s *urlSlot) writeSegment(b *strings.Builder, text string) error {
	switch {
	case text == "" && s.betweenSlashes:
		return errors.New("a value between two '/' of a URL path is empty: the path would hold \"//\"")
	case text != "" && strings.Trim(text, ".") == "":
		b.WriteString(strings.Repeat("%2E", len(text)))
	default:
		b.WriteString(url.PathEscape(text))
	}
	return nil
}

func writeRawPath(b *strings.Builder, text string) error {
	if !isEncodedURLText(text, false) || hasDotSegment(text) {
		return errors.New(rawPathFunction + "'s value must be an encoded path: letters, digits, " +
			"-._~!$&'()*+,;=:@/ and %XX escapes, with no '.' or '..' segment")
	}
	b.WriteString(text)
	return nil
}

func writeRawQuery(b *strings.Builder, text string) error {
	if !isEncodedURLText(text, true) {
		return errors.New(rawQueryFunction + "'s value must be an encoded query: letters, digits, " +
			"-._~!$&'()*+,;=:@/? and %XX escapes")
	}
	b.WriteString(text)
	return nil
}

// isHostOrPort tells whether text is a host name, a port, or host:port, in the characters those allow.
func isHostOrPort(text string) bool {
	host, port, hasPort := strings.Cut(text, ":")
	if text == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !isAlphanumeric(c) && c != '-' && c != '.' {
			return false
		}
	}
	return !hasPort || isPort(port)
}

func isPort(text string) bool {
	for i := 0; i < len(text); i++ {
		if c := text[i]; c < '0' || c > '9' {
			return false
		}
	}
	return text != ""
}

// isEncodedURLText tells whether text is a path (or, with query, a query) as it is sent: RFC 3986's pchar
// and '/', '?' in a query, and well-formed %XX escapes. Go's client sends such text as it is.
func isEncodedURLText(text string, query bool) bool {
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '%':
			if i+2 >= len(text) || !isHex(text[i+1]) || !isHex(text[i+2]) {
				return false
			}
			i += 2
		case c == '?':
			if !query {
				return false
			}
		case !isPathChar(c):
			return false
		}
	}
	return true
}

func hasDotSegment(path string) bool {
	for segment := range strings.SplitSeq(path, "/") {
		if segment == "." || segment == ".." {
			return true
		}
	}
	return false
}

// checkURLLiteral refuses a character that a URL must carry percent-encoded: when one is in the path, Go's
// client encodes the whole path again from its decoded form, which would turn a value's %2F back into '/'.
func checkURLLiteral(text string) *CompileError {
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '%':
			if i+2 >= len(text) || !isHex(text[i+1]) || !isHex(text[i+2]) {
				return &CompileError{Offset: -1, Message: "'%' in a URL starts an escape of two hex digits: write a literal '%' as %25"}
			}
			i += 2
		case !isPathChar(c) && !strings.ContainsRune("?#[]", rune(c)):
			return &CompileError{Offset: -1, Message: fmt.Sprintf("%q must be percent-encoded in a URL: write %%%02X", c, c)}
		}
	}
	return nil
}

// isPathChar tells whether c may stand unencoded in a path segment or '/' (RFC 3986 pchar: unreserved,
// sub-delims, ':' and '@').
func isPathChar(c byte) bool {
	return isAlphanumeric(c) || strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

func isAlphanumeric(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
