package wire

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// parseSeeds cover each branch of the parser, valid and not.
var parseSeeds = []string{
	`{}`, ` {"a":1} `, `{"a":{},"b":[],"c":[{}],"d":null,"e":true,"f":false}`,
	`{"s":"plain","u":"h\u00e9llo \u20ac","e":"\"\\\/\b\f\n\r\t","utf8":"héllo ✓"}`,
	`{"n":[0,-0,1,-1,1.5,1e3,1E-3,-2.5e+10,123456789012345678901234567890]}`,
	`{"dup":1,"dup":2}`, `{"nested":{"a":[1,[2,[3,{"b":"c"}]]]}}`,
	`{"surrogate":"\ud83d\ude00"}`, `{"lone":"\ud800"}`, `{"bad utf8":"` + "\xff" + `"}`,
	`{"big":1e400}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":+1}`,
	`{"a":tru}`, `{"a":nul}`, `{"a" 1}`, `{"a":1,}`, `{"a":1`, `{"a":[1,]}`, `{"a":[1 2]}`, `{"a":"x` + "\n" + `"}`,
	`{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u+123"}`, `{"a":"\u_123"}`, `{} {}`, `{}x`, `[]`, `"s"`, ``, `{`,
	`{"a":1}` + "\t\r\n",
}

func TestParseObjectMatchesEncodingJSON(t *testing.T) {
	for _, seed := range parseSeeds {
		checkParse(t, []byte(seed))
	}
	// The fast path must take the ordinary bodies, or it would only cost time.
	for _, seed := range parseSeeds[:7] {
		if _, ok := parseObject([]byte(seed)); !ok {
			t.Errorf("parseObject left %q to encoding/json", seed)
		}
	}
	deep := strings.Repeat(`{"a":`, maxParseDepth+5) + "1" + strings.Repeat("}", maxParseDepth+5)
	if _, ok := parseObject([]byte(deep)); ok {
		t.Error("parseObject took a body nested deeper than maxParseDepth")
	}
	checkParse(t, []byte(deep))
}

// FuzzDecodeObject checks the parser against encoding/json: whatever the parser takes, encoding/json takes too
// and decodes to the same value.
func FuzzDecodeObject(f *testing.F) {
	for _, seed := range parseSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(checkParse)
}

func checkParse(t *testing.T, body []byte) {
	got, ok := parseObject(body)
	var want any
	err := json.Unmarshal(body, &want)
	if !ok {
		return // encoding/json decides
	}
	if err != nil {
		t.Fatalf("parseObject took %q, which encoding/json refuses: %v", body, err)
	}
	if !reflect.DeepEqual(any(got), want) {
		t.Fatalf("parseObject(%q) = %#v, encoding/json gives %#v", body, got, want)
	}
}
