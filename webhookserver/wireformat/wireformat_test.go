package wireformat

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEncodeXML(t *testing.T) {
	tests := map[string]struct {
		value any
		want  string
	}{
		"scalars": {value: map[string]any{"s": "a", "n": 2.5, "i": int64(7), "b": true},
			want: `<r><b>true</b><i>7</i><n>2.5</n><s>a</s></r>`},
		"nested and lists": {value: map[string]any{"m": map[string]any{"k": "v"}, "l": []any{"x", "y"}, "ll": []any{[]any{"1", "2"}}},
			want: `<r><l>x</l><l>y</l><ll><item>1</item><item>2</item></ll><m><k>v</k></m></r>`},
		"null": {value: map[string]any{"gone": nil}, want: `<r><gone nil="true"/></r>`},
		"hostile names become entries": {value: map[string]any{`a"><x y="`: "1", "1st": "2", "xmlns": "3", "ns:el": "4"},
			want: `<r><entry name="1st">2</entry><entry name="a&#34;&gt;&lt;x y=&#34;">1</entry><entry name="ns:el">4</entry><entry name="xmlns">3</entry></r>`},
		"hostile text is escaped": {value: map[string]any{"t": "</t><evil/>&amp;\x00"},
			want: "<r><t>&lt;/t&gt;&lt;evil/&gt;&amp;amp;\uFFFD</t></r>"},
		"not an object": {value: "text", want: `<r>text</r>`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body, err := EncodeXML("r", tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimPrefix(string(body), xml.Header); got != tt.want {
				t.Errorf("EncodeXML = %s\nwant          %s", got, tt.want)
			}
			if err := xml.Unmarshal(body, new(any)); err != nil {
				t.Errorf("not well-formed XML: %v", err)
			}
		})
	}
}

// TestXMLRoundTrip: what EncodeXML writes, DecodeXML reads as the same object, values as strings.
func TestXMLRoundTrip(t *testing.T) {
	value := map[string]any{"a": "1", "b": map[string]any{"c": []any{"x", "y"}, "d": "<&>"}, "odd name": "v"}
	body, err := EncodeXML("request", value)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeXML(body)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": "1", "b": map[string]any{"c": []any{"x", "y"}, "d": "<&>"},
		"entry": map[string]any{"@name": "odd name", "#text": "v"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back %v, want %v", got, want)
	}
}

func TestEncodeXMLBoundsDepth(t *testing.T) {
	var value any = "deep"
	for range maxEncodeDepth + 1 {
		value = map[string]any{"a": value}
	}
	if _, err := EncodeXML("r", value); err == nil {
		t.Error("a value deeper than the limit was written")
	}
	if _, err := EncodeForm(map[string]any{"a": value}); err == nil {
		t.Error("a value deeper than the limit was written as a form")
	}
}

func TestEncodeFormRoundTrip(t *testing.T) {
	body, err := EncodeForm(map[string]any{"a": "1&b=2", "m": map[string]any{"k": 3.0}, "l": []any{"x", "y"},
		"o": []any{map[string]any{"t": "z"}}, "n": nil})
	if err != nil {
		t.Fatal(err)
	}
	if want := "a=1%26b%3D2&l=x&l=y&m.k=3&n=&o.0.t=z"; string(body) != want {
		t.Errorf("EncodeForm = %s, want %s", body, want)
	}
	got, err := DecodeForm(body)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": "1&b=2", "m": map[string]any{"k": "3"}, "l": []any{"x", "y"}, "n": "",
		"o": map[string]any{"0": map[string]any{"t": "z"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back %v, want %v", got, want)
	}
}

// FuzzEncodeXML: whatever names and text a request brings, the document is well-formed XML with one element
// for the key, which reads back the key and the text as they were when XML can hold them.
func FuzzEncodeXML(f *testing.F) {
	f.Add("name", "value")
	f.Add(`a"><evil x="1`, "</t><evil/>&amp;]]>")
	f.Add("xml:lang", "\x00\x01\uFFFE\xff")
	f.Add("", "")
	f.Add("tab\there", "line\r\nbreak")
	f.Fuzz(func(t *testing.T, key, text string) {
		body, err := EncodeXML("r", map[string]any{key: text})
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Fields []struct {
				XMLName xml.Name
				Name    string `xml:"name,attr"`
				Text    string `xml:",chardata"`
			} `xml:",any"`
		}
		if err := xml.Unmarshal(body, &doc); err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, body)
		}
		if len(doc.Fields) != 1 {
			t.Fatalf("%d elements for one key: %s", len(doc.Fields), body)
		}
		got := doc.Fields[0]
		if validXMLName(key) {
			if got.XMLName.Local != key || got.Name != "" {
				t.Errorf("key %q read back as <%s name=%q>", key, got.XMLName.Local, got.Name)
			}
		} else if got.XMLName.Local != "entry" || (xmlHolds(key) && got.Name != key) {
			t.Errorf("key %q read back as <%s name=%q>", key, got.XMLName.Local, got.Name)
		}
		if xmlHolds(text) && got.Text != text {
			t.Errorf("text %q read back as %q", text, got.Text)
		}
	})
}

// xmlHolds says whether XML holds s as it is: valid UTF-8 of characters XML allows.
func xmlHolds(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		allowed := r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
		if !allowed {
			return false
		}
	}
	return true
}
