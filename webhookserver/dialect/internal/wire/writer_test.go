package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// writerStrings are strings that encoding/json escapes in each of its ways, at the start, middle and end.
var writerStrings = []string{
	"", "plain", `"quoted"`, `back\slash`, "<a href='x'>&amp;</a>", "\b\f\n\r\t", "\x00\x01\x1f\x7f", "\u2028\u2029",
	"é ✓ 😀", "\xff", "a\xc3", "\xed\xa0\x80", "\ufffd", "\u2027\u202a", "x\u2028y\u2029z",
}

var writerFloats = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.5, 1e-6, 9.99e-7, 1e-7, 1.5e-9, 1e20, 1e21, 9.999e20, -1e21, 123456789.125,
	math.MaxFloat64, math.SmallestNonzeroFloat64, 1e-300, 5e-324, 1.0 / 3, 100, 1e6, 12345678901234567890,
}

// randomValue is a value of a type that Writer writes, nested up to depth.
func randomValue(rng *rand.Rand, depth int) any {
	switch n := rng.IntN(10); {
	case n == 0:
		return nil
	case n == 1:
		return rng.IntN(2) == 0
	case n == 2:
		return writerFloats[rng.IntN(len(writerFloats))]
	case n == 3:
		return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(60)-30))
	case n == 4:
		return int64(rng.Uint64())
	case n == 5 && depth > 0:
		object := map[string]any{}
		for range rng.IntN(20) {
			object[randomString(rng)] = randomValue(rng, depth-1)
		}
		if rng.IntN(8) == 0 {
			object = nil
		}
		return object
	case n == 6 && depth > 0:
		array := make([]any, rng.IntN(5))
		for i := range array {
			array[i] = randomValue(rng, depth-1)
		}
		if rng.IntN(8) == 0 {
			array = nil
		}
		return array
	case n == 7:
		return rng.IntN(2000) - 1000
	}
	return randomString(rng)
}

func randomString(rng *rand.Rand) string {
	var s string
	for range rng.IntN(4) {
		s += writerStrings[rng.IntN(len(writerStrings))]
	}
	return s
}

// TestWriterMatchesEncodingJSON: the Writer writes what json.Marshal writes, for generated values of every
// type it takes.
func TestWriterMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		checkWriter(t, randomValue(rng, 4), true)
	}
	for _, f := range writerFloats {
		checkWriter(t, f, true)
	}
	for _, s := range writerStrings {
		checkWriter(t, map[string]any{s: s}, true)
	}
	for c := range 256 {
		checkWriter(t, string([]byte{byte(c), 'a', byte(c)}), true)
	}
	cycle := map[string]any{}
	cycle["self"] = cycle
	deep := any(1.0)
	for range maxWriteDepth + 1 {
		deep = []any{deep}
	}
	// Left to encoding/json: other types, values it refuses, nesting that may be a cycle.
	for _, value := range []any{
		math.NaN(), math.Inf(1), []any{math.Inf(-1)}, map[string]string{"a": "b"}, []string{"a"}, int32(1),
		json.Number("1"), float32(1.5), struct{}{}, func() {}, cycle, deep,
	} {
		checkWriter(t, value, false)
	}
}

// FuzzWriterValue checks the Writer against json.Marshal for the values encoding/json decodes from the input,
// for the input as a string and a key, and for its first 8 bytes as a float.
func FuzzWriterValue(f *testing.F) {
	for _, seed := range append(parseSeeds, writerStrings...) {
		f.Add([]byte(seed))
	}
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\xf0\x7f")) // +Inf
	f.Fuzz(func(t *testing.T, input []byte) {
		var value any
		if json.Unmarshal(input, &value) == nil {
			checkWriter(t, value, true)
		}
		checkWriter(t, map[string]any{string(input): []any{string(input)}}, true)
		if len(input) >= 8 {
			f := math.Float64frombits(uint64(input[0]) | uint64(input[1])<<8 | uint64(input[2])<<16 |
				uint64(input[3])<<24 | uint64(input[4])<<32 | uint64(input[5])<<40 | uint64(input[6])<<48 |
				uint64(input[7])<<56)
			checkWriter(t, f, !math.IsNaN(f) && !math.IsInf(f, 0))
		}
	})
}

// checkWriter checks that the Writer writes value as json.Marshal does, and whether it takes it.
func checkWriter(t *testing.T, value any, takes bool) {
	t.Helper()
	w := Writer{buf: []byte{}}
	w.Value(value)
	if w.failed != !takes {
		t.Fatalf("Writer failed = %v for %#v", w.failed, value)
	}
	if w.failed {
		return
	}
	want, err := json.Marshal(value)
	if err != nil {
		t.Fatalf("Writer wrote %#v, which json.Marshal refuses: %v", value, err)
	}
	if !bytes.Equal(w.buf, want) {
		t.Fatalf("Writer wrote %#v as\n%s\njson.Marshal:\n%s", value, w.buf, want)
	}
}

// TestWriterStringSpecialAtEveryOffset puts each byte or character String escapes or decodes at every position
// of a string's first two words and a half (the escaper reads 8 bytes at a time), and checks against
// json.Marshal.
func TestWriterStringSpecialAtEveryOffset(t *testing.T) {
	specials := []string{`"`, `\`, "<", ">", "&", "\x00", "\n", "\x1f", "\x7f", " ", "é", "\u2028", "\u2029", "😀",
		"\xff", "\xc3", "\xe2\x80"}
	for at := range 17 {
		for _, tail := range []int{0, 1, 7, 8, 9} {
			for _, special := range specials {
				s := strings.Repeat("a", at) + special + strings.Repeat("b", tail)
				checkWriter(t, s, true)
				checkWriter(t, s+special+s, true)
			}
		}
	}
}

// answerStrings are strings an answer holds: a session name, a sentence, an id, a short word, text with
// characters Marshal escapes, and text that is not ASCII.
var answerStrings = []string{
	"projects/demo-proj/agent/sessions/sess-123/contexts/last_balance", "Your demo account balance is 1234.56 EUR.",
	"8d1d2f6e-1b7a-4c1e-9a55-0000010000000001", "EUR", `<b>"Balance"</b> & more`, "Ihr Kontostand beträgt 1234,56 €.",
}

// BenchmarkWriterString writes the strings of an answer.
func BenchmarkWriterString(b *testing.B) {
	w := &Writer{buf: make([]byte, 0, 1024)}
	b.ReportAllocs()
	for b.Loop() {
		w.buf = w.buf[:0]
		for _, s := range answerStrings {
			w.String(s)
		}
	}
}
