package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
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
	if err == nil {
		values, objects := countJSON(body)
		if wantValues, wantObjects := countTokens(t, body); values != wantValues || objects != wantObjects {
			t.Fatalf("countJSON(%q) = %d values, %d objects; encoding/json reads %d, %d",
				body, values, objects, wantValues, wantObjects)
		}
	}
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

// TestStringSpecialByteAtEveryOffset puts each kind of byte the 8-byte string scan (stringWords) looks for, and
// non-ASCII ones, at every position of a string's first two words and a half, for every alignment of the
// string in the body, and checks the parser against encoding/json.
func TestStringSpecialByteAtEveryOffset(t *testing.T) {
	valid := []string{`\"`, `\\`, `\/`, `\n`, `\u00e9`, `\u0000`, "é", "\u2028", "\U0001F600", "\x7f", " "}
	invalid := []string{`"`, "\x00", "\x01", "\n", "\x1f", "\xff", "\xc3", `\x`, `\u00g`}
	for pad := range 8 {
		for at := range 17 {
			for _, tail := range []int{0, 1, 7, 8, 9} {
				for i, special := range append(valid, invalid...) {
					s := strings.Repeat("a", at) + special + strings.Repeat("b", tail)
					body := []byte(`{` + strings.Repeat(" ", pad) + `"k":"` + s + `","` + s + `":1}`)
					checkParse(t, body)
					checkFields(t, body)
					if _, ok := parseObject(body); ok != (i < len(valid)) {
						t.Errorf("parseObject(%q) ok = %v", body, ok)
					}
				}
			}
		}
	}
}

// TestStringWords checks stringWords against a byte-by-byte scan.
func TestStringWords(t *testing.T) {
	bytes := []byte{'a', '"', '\\', 0, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = 'a'
			if rng.IntN(6) == 0 {
				b[i] = bytes[rng.IntN(len(bytes))]
			}
		}
		src := string(b)
		start := rng.IntN(len(src) + 1)
		end, high := stringWords(src, start)
		nonASCII := false
		for i := start; i < end; i++ {
			if c := src[i]; c == '"' || c == '\\' || c < 0x20 {
				t.Fatalf("stringWords(%q, %d) = %d, past the byte at %d", src, start, end, i)
			}
			nonASCII = nonASCII || src[i] >= 0x80
		}
		atSpecial := end < len(src) && (src[end] == '"' || src[end] == '\\' || src[end] < 0x20)
		if !atSpecial && len(src)-end >= 8 || (end-start)%8 != 0 && !atSpecial {
			t.Fatalf("stringWords(%q, %d) = %d, stopped early", src, start, end)
		}
		if (high&highBits != 0) != nonASCII {
			t.Fatalf("stringWords(%q, %d) high = %#x, non-ASCII before %d: %v", src, start, high, end, nonASCII)
		}
	}
}

// countTokens counts the values and objects of a valid JSON body as encoding/json's tokens show them, the
// members of a repeated key included.
func countTokens(t *testing.T, body []byte) (values, objects int) {
	decoder := json.NewDecoder(bytes.NewReader(body))
	type open struct{ object, keyNext bool }
	var stack []open
	for {
		token, err := decoder.Token()
		if errors.Is(err, io.EOF) {
			return values, objects
		}
		if err != nil {
			t.Fatalf("encoding/json takes %q but not its tokens: %v", body, err)
		}
		delim, _ := token.(json.Delim)
		if delim == '}' || delim == ']' {
			stack = stack[:len(stack)-1]
			continue
		}
		if top := len(stack) - 1; top >= 0 && stack[top].object {
			isKey := stack[top].keyNext
			stack[top].keyNext = !isKey
			if isKey {
				continue
			}
		}
		values++
		switch delim {
		case '{':
			objects++
			stack = append(stack, open{object: true, keyNext: true})
		case '[':
			stack = append(stack, open{})
		}
	}
}
