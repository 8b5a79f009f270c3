package jsonquote

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// marshalQuote is s as encoding/json.Marshal writes it.
func marshalQuote(t testing.TB, s string) string {
	quoted, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(quoted)
}

// slogQuote is s as log/slog's JSON handler writes it, as the value of an attribute.
func slogQuote(t testing.TB, s string) string {
	var out bytes.Buffer
	onlyAttrs := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
			return slog.Attr{}
		}
		return a
	}}
	slog.New(slog.NewJSONHandler(&out, onlyAttrs)).Info("", "k", s)
	line := out.String()
	if !strings.HasPrefix(line, `{"k":`) || !strings.HasSuffix(line, "}\n") {
		t.Fatalf("slog wrote %q", line)
	}
	return line[len(`{"k":`) : len(line)-len("}\n")]
}

func check(t testing.TB, s string) {
	t.Helper()
	if got, want := string(Append(nil, s, Marshal)), marshalQuote(t, s); got != want {
		t.Fatalf("Marshal style: %q is\n%s\njson.Marshal writes\n%s", s, got, want)
	}
	if got, want := string(Append([]byte("prefix"), s, Slog)), "prefix"+slogQuote(t, s); got != want {
		t.Fatalf("Slog style: %q is\n%s\nslog writes\n%s", s, got, want)
	}
}

// specials are the bytes and characters one style or the other escapes or decodes, and neighbours of them
// that neither escapes.
var specials = []string{`"`, `\`, "<", ">", "&", "\x00", "\b", "\f", "\n", "\r", "\t", "\x1f", "\x7f", " ", "=",
	"é", "\u2028", "\u2029", "\u2027", "\u202a", "😀", "\ufffd", "\xff", "\xc3", "\xe2\x80", "\xed\xa0\x80"}

// TestAppendSpecialAtEveryOffset puts each special at every position of a string's first two words and a
// half (Append reads 8 bytes at a time), alone and twice, and checks both styles against the standard
// library.
func TestAppendSpecialAtEveryOffset(t *testing.T) {
	for at := range 17 {
		for _, tail := range []int{0, 1, 7, 8, 9} {
			for _, special := range specials {
				s := strings.Repeat("a", at) + special + strings.Repeat("b", tail)
				check(t, s)
				check(t, s+special+s)
			}
		}
	}
}

// TestAppendEveryByte checks every byte value, alone and in a word of others, in both styles.
func TestAppendEveryByte(t *testing.T) {
	for c := range 256 {
		check(t, string(rune(c)))
		check(t, string([]byte{byte(c)}))
		check(t, "abc"+string([]byte{byte(c)})+"defghijk"+string([]byte{byte(c), byte(c)}))
	}
}

// TestAppendEveryByteAfterASpecial puts each byte value after each special, where a word's scan could mark it
// wrongly (by a borrow from the special), at the positions around a word's edges.
func TestAppendEveryByteAfterASpecial(t *testing.T) {
	for _, at := range []int{0, 1, 6, 7, 8, 9, 15} {
		for _, tail := range []int{0, 1, 8} {
			for _, special := range specials {
				for c := range 256 {
					check(t, strings.Repeat("a", at)+special+string([]byte{byte(c)})+strings.Repeat("b", tail))
				}
			}
		}
	}
}

// FuzzAppend checks any string against encoding/json and log/slog.
func FuzzAppend(f *testing.F) {
	for _, special := range specials {
		f.Add("session/" + special + "/contexts/é" + special)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check(t, s)
	})
}

// logStrings are the strings of a request's log line.
var logStrings = []string{
	"request answered", "requestId", "0b1e2c3d4e5f6a7b8c9d0e1f", "method", "POST", "path", "/bank-bot", "endpoint",
	"bank-bot", "dialect", "DialogflowES", "intent", "GetAccountBalance", "action", "account.balance",
	"deliveryId", "8d1d2f6e-1b7a-4c1e-9a55-0000010000000001", "session", "projects/demo-proj/agent/sessions/sess-123",
	"outcome", "answered", "route", "bank-bot-balance-demo",
}

// BenchmarkAppend writes the strings of a request's log line in each style.
func BenchmarkAppend(b *testing.B) {
	for _, style := range []struct {
		name  string
		style Style
	}{{"Marshal", Marshal}, {"Slog", Slog}} {
		b.Run(style.name, func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				buf = buf[:0]
				for _, s := range logStrings {
					buf = Append(buf, s, style.style)
				}
			}
		})
	}
}
