package generic

import (
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
	var text []byte
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
			text = append(text, token...)
		case xml.EndElement:
			trimmed := strings.TrimSpace(string(text))
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
		latin1, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		utf8Text := make([]byte, 0, len(latin1)*2)
		for _, b := range latin1 {
			utf8Text = utf8.AppendRune(utf8Text, rune(b))
		}
		return bytes.NewReader(utf8Text), nil
	}
	return nil, fmt.Errorf("unsupported XML encoding %q; send UTF-8 or ISO-8859-1", label)
}
