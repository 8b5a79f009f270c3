package idempotency

import (
	"strings"
	"testing"
)

func TestAnswerRecordRoundTrip(t *testing.T) {
	for name, a := range map[string]*Answer{
		"minimal":        {Status: 204},
		"headers":        {Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}, "Vary": {"A", "B"}, "X-None": {}}},
		"binary body":    {Status: 502, Body: []byte("\x00\x01\xff" + strings.Repeat("é", 70_000))},
		"long values":    {Status: 999, Header: map[string][]string{strings.Repeat("N", 300): {strings.Repeat("v", 20_000)}}},
		"everything set": {Status: 100, Header: map[string][]string{"A": {"", "1"}}, Body: []byte("{}")},
	} {
		t.Run(name, func(t *testing.T) {
			rec, err := encodeAnswer(a)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := encodeAnswer(a)
			if rec != again {
				t.Fatal("encoding is not deterministic")
			}
			got, err := decodeAnswer(rec)
			if err != nil {
				t.Fatal(err)
			}
			assertAnswer(t, got, a)
			owned, err := decodeOwnedAnswer([]byte(rec))
			if err != nil {
				t.Fatal(err)
			}
			assertAnswer(t, owned, a)
			// The owned answer's body is its own: writing and appending to it changes none of its headers.
			if len(owned.Body) > 0 {
				owned.Body[0]++
				owned.Body = append(owned.Body, "appended"...)
				owned.Body[0]--
				assertAnswer(t, &Answer{Status: owned.Status, Header: owned.Header, Body: owned.Body[:len(a.Body)]}, a)
			}
			// Appending to one name's values must not overwrite the next name's.
			for name := range got.Header {
				got.Header[name] = append(got.Header[name], "appended")
			}
			for name, values := range got.Header {
				if values[len(values)-1] != "appended" || len(values) != len(a.Header[name])+1 {
					t.Fatalf("%s: %q", name, values)
				}
			}
		})
	}
}

func TestAnswerRecordIsCompact(t *testing.T) {
	rec, err := encodeAnswer(&Answer{Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"fulfillmentText":"hi"}`)})
	if err != nil {
		t.Fatal(err)
	}
	// Tag, status (2), one name, name (1+12), one value, value (1+16), body (24).
	if want := 1 + 2 + 1 + 13 + 1 + 17 + 24; len(rec) != want {
		t.Fatalf("record is %d bytes, want %d", len(rec), want)
	}
}

func TestAnswerRecordCorrupt(t *testing.T) {
	rec, err := encodeAnswer(&Answer{Status: 200, Header: map[string][]string{"A": {"1", "2"}, "Bb": {"3"}}, Body: []byte("body")})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "P0123", "A", "A\x80", "A\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "A\x01", "A\xc8\x01\xff\x7f"} {
		if _, err := decodeAnswer(bad); err == nil {
			t.Errorf("decodeAnswer(%q) succeeded", bad)
		}
	}
	// Every truncation inside the header section fails; cutting the body is undetectable by design (the body
	// is the rest), so stop before it.
	for n := range len(rec) - len("body") {
		if _, err := decodeAnswer(rec[:n]); err == nil {
			t.Errorf("decodeAnswer(%q) succeeded", rec[:n])
		}
	}
}

func FuzzDecodeAnswer(f *testing.F) {
	rec, _ := encodeAnswer(&Answer{Status: 200, Header: map[string][]string{"A": {"1"}}, Body: []byte("b")})
	f.Add(rec)
	f.Add("A\xc8\x01\x00")
	f.Fuzz(func(t *testing.T, rec string) {
		a, err := decodeAnswer(rec)
		if err != nil {
			return
		}
		again, err := encodeAnswer(a)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := decodeAnswer(again); err != nil || b.Status != a.Status || string(b.Body) != string(a.Body) || len(b.Header) != len(a.Header) {
			t.Fatalf("re-decoding %q: %v", again, err)
		}
	})
}
