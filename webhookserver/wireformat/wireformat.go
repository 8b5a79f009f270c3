// Package wireformat maps the legacy formats both ways: a JSON-like value (maps, lists, strings, numbers,
// booleans, null) as XML or as form fields, and back. The Generic dialect reads and answers its callers so, and a
// call action sends and reads them for upstreams that speak them (call.bodyFormat): one package, so that both
// sides of the server map values the same way.
//
// XML: a map's keys are child elements in key order, named by the key when it is a valid XML name (letters,
// digits, -, _ and ., starting with a letter or _, not with "xml"), else <entry name="key">, so that a hostile
// key never makes markup. A list is its element repeated; a list in a list is <item> elements. null is an empty
// element with nil="true". Text and attribute values are escaped, and characters XML cannot hold become U+FFFD.
// Read back (DecodeXML), every value is a string, a repeated element a list.
//
// Form: a nested map's keys are joined with dots (parameters.user=ann), a list repeats its name, a map in a list
// is numbered (messages.0.text), and null is an empty value. Read back (DecodeForm), dotted names nest again.
package wireformat

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

// maxEncodeDepth bounds how deep a value is written: as deep as a body may nest when it is read.
const maxEncodeDepth = dialect.MaxXMLDepth

// EncodeXML writes value as an XML document whose root element is root: a map's keys become the root's children,
// any other value its text.
func EncodeXML(root string, value any) ([]byte, error) {
	w := xmlWriter{}
	w.buf.WriteString(xml.Header)
	if err := w.field(root, value, 0); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

type xmlWriter struct{ buf bytes.Buffer }

// field writes one element named name holding value; a list writes one element per item.
func (w *xmlWriter) field(name string, value any, depth int) error {
	if depth > maxEncodeDepth {
		return &dialect.EncodeError{Message: fmt.Sprintf("the answer nests deeper than %d levels, the limit", maxEncodeDepth)}
	}
	if list, ok := value.([]any); ok {
		for _, item := range list {
			if inner, nested := item.([]any); nested {
				w.open(name, false)
				for _, v := range inner {
					if err := w.field("item", v, depth+2); err != nil {
						return err
					}
				}
				w.close(name)
				continue
			}
			if err := w.field(name, item, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	switch value := value.(type) {
	case nil:
		w.open(name, true)
		return nil
	case map[string]any:
		w.open(name, false)
		for _, key := range slices.Sorted(maps.Keys(value)) {
			if err := w.field(key, value[key], depth+1); err != nil {
				return err
			}
		}
		w.close(name)
		return nil
	}
	text, err := scalarText(value)
	if err != nil {
		return err
	}
	w.open(name, false)
	_ = xml.EscapeText(&w.buf, []byte(text)) // a bytes.Buffer does not fail
	w.close(name)
	return nil
}

// open writes the start tag of name, an empty element with nil="true" for null.
func (w *xmlWriter) open(name string, null bool) {
	w.buf.WriteByte('<')
	if validXMLName(name) {
		w.buf.WriteString(name)
	} else {
		w.buf.WriteString(`entry name="`)
		_ = xml.EscapeText(&w.buf, []byte(name))
		w.buf.WriteByte('"')
	}
	if null {
		w.buf.WriteString(` nil="true"/>`)
		return
	}
	w.buf.WriteByte('>')
}

func (w *xmlWriter) close(name string) {
	w.buf.WriteString("</")
	if validXMLName(name) {
		w.buf.WriteString(name)
	} else {
		w.buf.WriteString("entry")
	}
	w.buf.WriteByte('>')
}

// validXMLName says whether name can be an element's name as it is. Only ASCII names are taken, and no colon
// (a namespace prefix) nor the reserved xml prefix, so that a name means the same to every XML reader.
func validXMLName(name string) bool {
	if name == "" || len(name) > 255 || strings.HasPrefix(strings.ToLower(name), "xml") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// scalarText is a string, number or boolean as text, numbers as JSON writes them.
func scalarText(value any) (string, error) {
	switch value := value.(type) {
	case string:
		return value, nil
	case bool:
		return strconv.FormatBool(value), nil
	case int64:
		return strconv.FormatInt(value, 10), nil
	case int:
		return strconv.Itoa(value), nil
	case uint64:
		return strconv.FormatUint(value, 10), nil
	}
	text, err := json.Marshal(value)
	if err != nil {
		return "", &dialect.EncodeError{Message: "cannot write the value as text: " + err.Error()}
	}
	if len(text) > 0 && (text[0] == '{' || text[0] == '[') {
		return "", &dialect.EncodeError{Message: fmt.Sprintf("cannot write a %T as text", value)}
	}
	return strings.Trim(string(text), `"`), nil
}

// EncodeForm writes fields as a form (application/x-www-form-urlencoded), names sorted.
func EncodeForm(fields map[string]any) ([]byte, error) {
	values := url.Values{}
	for key, value := range fields {
		if err := formField(values, key, value, 0); err != nil {
			return nil, err
		}
	}
	return []byte(values.Encode()), nil
}

func formField(values url.Values, name string, value any, depth int) error {
	if depth > maxEncodeDepth {
		return &dialect.EncodeError{Message: fmt.Sprintf("the value nests deeper than %d levels, the limit", maxEncodeDepth)}
	}
	switch value := value.(type) {
	case nil:
		values.Add(name, "")
	case map[string]any:
		for key, v := range value {
			if err := formField(values, name+"."+key, v, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for i, item := range value {
			switch item.(type) {
			case map[string]any, []any:
				if err := formField(values, name+"."+strconv.Itoa(i), item, depth+1); err != nil {
					return err
				}
			default:
				if err := formField(values, name, item, depth+1); err != nil {
					return err
				}
			}
		}
	default:
		text, err := scalarText(value)
		if err != nil {
			return err
		}
		values.Add(name, text)
	}
	return nil
}

// DecodeXML reads an XML document into the object a JSON sender would send, within the bounds of a request
// body (dialect.MaxXMLDepth, dialect.MaxXMLMarkup): see xmlToObject.
func DecodeXML(body []byte) (map[string]any, error) { return xmlToObject(body) }

// DecodeForm reads a form body into the object a JSON sender would send, within the bounds of a request body
// (dialect.MaxFormFields, MaxFormDepth, MaxFormObjects): dotted names nest.
func DecodeForm(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &dialect.DecodeError{Message: "empty body; expected form fields"}
	}
	// Counted before parsing, which builds every field.
	if err := dialect.CheckFieldCount(bytes.Count(body, []byte("&"))+1, "the form body"); err != nil {
		return nil, err
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &dialect.DecodeError{Message: "malformed form body: " + err.Error()}
	}
	return FieldsToObject(values, "the form body")
}
