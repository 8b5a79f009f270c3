package wireformat

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

// xmlToObject turns an XML document into the object a JSON sender would send. The root element's name does not
// matter; its children become fields. An element with only text is a string (trimmed); one with children or
// attributes is an object, attributes as "@name" and text beside children as "#text"; a repeated element is an
// array. Every value is a string: XML has no types. Namespaces are dropped from names.
func xmlToObject(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &dialect.DecodeError{Message: "empty body; expected an XML document"}
	}
	// Counted before decoding, which allocates a token for each: every tag starts with <, every attribute has
	// an =, and every text lies between two tags.
	if markup := bytes.Count(body, []byte("<")) + bytes.Count(body, []byte("=")); markup > dialect.MaxXMLMarkup {
		return nil, &dialect.DecodeError{Message: fmt.Sprintf(
			"the XML body has %d tags and attributes (< and =), over the limit of %d", markup, dialect.MaxXMLMarkup)}
	}
	decoder := xml.NewDecoder(bytes.NewReader(body))
	decoder.CharsetReader = charsetReader
	root, err := nextRootElement(decoder)
	if err != nil {
		return nil, err
	}
	value, err := readElement(decoder, root, 1)
	if err != nil {
		return nil, err
	}
	if err := checkNothingAfterRoot(decoder); err != nil {
		return nil, err
	}
	switch value := value.(type) {
	case map[string]any:
		return value, nil
	case string:
		if value == "" {
			return map[string]any{}, nil
		}
	}
	return nil, &dialect.DecodeError{Message: fmt.Sprintf(
		"expected the root element <%s> to hold fields as child elements, found only text", root.Name.Local)}
}

func nextRootElement(decoder *xml.Decoder) (xml.StartElement, error) {
	for {
		token, err := decoder.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return xml.StartElement{}, &dialect.DecodeError{Message: "malformed XML: no root element"}
			}
			return xml.StartElement{}, xmlError(err)
		}
		switch token := token.(type) {
		case xml.StartElement:
			return token, nil
		case xml.CharData:
			if len(bytes.TrimSpace(token)) > 0 {
				return xml.StartElement{}, &dialect.DecodeError{Message: "malformed XML: text before the root element"}
			}
		}
	}
}

func readElement(decoder *xml.Decoder, start xml.StartElement, depth int) (any, error) {
	if depth > dialect.MaxXMLDepth {
		return nil, &dialect.DecodeError{Message: fmt.Sprintf("XML nests deeper than %d elements, the limit", dialect.MaxXMLDepth)}
	}
	var fields map[string]any
	for _, attr := range start.Attr {
		if attr.Name.Space == "xmlns" || attr.Name.Local == "xmlns" {
			continue // a namespace declaration, not data
		}
		if fields == nil {
			fields = map[string]any{}
		}
		fields["@"+attr.Name.Local] = attr.Value
	}
	var text strings.Builder // its String is not a copy
	for {
		token, err := decoder.Token()
		if err != nil {
			return nil, xmlError(err)
		}
		switch token := token.(type) {
		case xml.StartElement:
			child, err := readElement(decoder, token, depth+1)
			if err != nil {
				return nil, err
			}
			if fields == nil {
				fields = map[string]any{}
			}
			addField(fields, token.Name.Local, child)
		case xml.CharData:
			text.Grow(len(token)) // doubled when full: Write alone grows a large text by a quarter at a time
			text.Write(token)
		case xml.EndElement:
			trimmed := strings.TrimSpace(text.String())
			if fields == nil {
				return trimmed, nil
			}
			if trimmed != "" {
				fields["#text"] = trimmed
			}
			return fields, nil
		}
	}
}

// addField adds a child element's value; a name seen before turns into an array. Element values are strings or
// objects, never arrays, so an array here always comes from repetition.
func addField(fields map[string]any, name string, value any) {
	switch existing := fields[name].(type) {
	case nil:
		fields[name] = value
	case []any:
		if len(existing) == cap(existing) {
			existing = slices.Grow(existing, len(existing)) // doubled: growing by a quarter copies it over and over
		}
		fields[name] = append(existing, value)
	default:
		fields[name] = []any{existing, value}
	}
}

func checkNothingAfterRoot(decoder *xml.Decoder) error {
	for {
		token, err := decoder.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return xmlError(err)
		}
		switch token := token.(type) {
		case xml.StartElement:
			return &dialect.DecodeError{Message: "malformed XML: more than one root element"}
		case xml.CharData:
			if len(bytes.TrimSpace(token)) > 0 {
				return &dialect.DecodeError{Message: "malformed XML: text after the root element"}
			}
		}
	}
}

func xmlError(err error) error {
	var syntaxErr *xml.SyntaxError
	if errors.As(err, &syntaxErr) {
		return &dialect.DecodeError{Message: fmt.Sprintf("malformed XML on line %d: %s", syntaxErr.Line, syntaxErr.Msg)}
	}
	if errors.Is(err, io.EOF) {
		return &dialect.DecodeError{Message: "malformed XML: unexpected end of the document"}
	}
	return &dialect.DecodeError{Message: "malformed XML: " + err.Error()}
}

// charsetReader reads the non-UTF-8 encodings legacy senders declare. ISO-8859-1 maps each byte to the code
// point of the same number, and US-ASCII is a subset of it.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii":
		byteReader, ok := input.(io.ByteReader)
		if !ok {
			byteReader = bufio.NewReader(input)
		}
		return &latin1Reader{in: byteReader}, nil
	}
	return nil, fmt.Errorf("unsupported XML encoding %q; send UTF-8 or ISO-8859-1", label)
}

// latin1Reader reads ISO-8859-1 as UTF-8, a byte at a time as encoding/xml reads, so that the document is not
// held a second time, converted.
type latin1Reader struct {
	in io.ByteReader
	// next is the second byte of the UTF-8 encoding of a byte over 0x7f, still to be read, or 0.
	next byte
}

func (r *latin1Reader) ReadByte() (byte, error) {
	if next := r.next; next != 0 {
		r.next = 0
		return next, nil
	}
	b, err := r.in.ReadByte()
	if err != nil || b < utf8.RuneSelf {
		return b, err
	}
	r.next = 0x80 | b&0x3f
	return 0xc0 | b>>6, nil
}

// Read is there because encoding/xml wants an io.Reader; it reads with ReadByte.
func (r *latin1Reader) Read(p []byte) (int, error) {
	for i := range p {
		b, err := r.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = b
	}
	return len(p), nil
}
