package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestHandlerRedactsEverywhere(t *testing.T) {
	var out bytes.Buffer
	secrets := &Secrets{}
	secrets.Set([][]byte{[]byte("hunter2-password\n"), []byte("tok"), []byte("whsec_abc123"), []byte("whsec_abc123xyz")})
	log := slog.New(NewHandler(slog.NewJSONHandler(&out, nil), secrets))

	log.With("fixed", "Bearer whsec_abc123").Info("login with hunter2-password failed",
		"error", errors.New("upstream said: whsec_abc123xyz is wrong"),
		"list", []string{"a", "hunter2-password"},
		slog.Group("request", "header", "hunter2-password"),
		"short", "tok")
	text := out.String()
	for _, secret := range []string{"hunter2-password", "whsec_abc123", "abc123xyz"} {
		if strings.Contains(text, secret) {
			t.Errorf("log contains %q: %s", secret, text)
		}
	}
	if strings.Count(text, Placeholder) != 5 {
		t.Errorf("want 5 redactions: %s", text)
	}
	if !strings.Contains(text, `"short":"tok"`) {
		t.Errorf("a value too short to be a secret was redacted: %s", text)
	}
}

// A record passes unchanged only when nothing in it is a secret: the secret alone in any one place, however
// many attributes come before it, is still redacted.
func TestHandlerFindsASecretAnywhereInALongRecord(t *testing.T) {
	secrets := &Secrets{}
	secrets.Set([][]byte{[]byte("s3cr3t-value")})
	places := map[string]slog.Attr{
		"string":   slog.String("last", "x s3cr3t-value y"),
		"list":     slog.Any("last", []string{"ok", "s3cr3t-value"}),
		"error":    slog.Any("last", errors.New("failed: s3cr3t-value")),
		"group":    slog.Group("last", "inner", "s3cr3t-value"),
		"stringer": slog.Any("last", bytes.NewBufferString("s3cr3t-value")),
	}
	for name, last := range places {
		var out bytes.Buffer
		log := slog.New(NewHandler(slog.NewJSONHandler(&out, nil), secrets))
		attrs := []slog.Attr{slog.String("a", "1"), slog.Int("b", 2), slog.Bool("c", true), slog.Float64("d", 4),
			slog.String("e", "5"), slog.String("f", "6"), last}
		log.LogAttrs(t.Context(), slog.LevelInfo, "request answered", attrs...)
		if strings.Contains(out.String(), "s3cr3t") || !strings.Contains(out.String(), Placeholder) {
			t.Errorf("%s: %s", name, out.String())
		}
	}
}

// A record with nothing to redact is written exactly as the handler underneath writes it.
func TestHandlerPassesACleanRecordUnchanged(t *testing.T) {
	secrets := &Secrets{}
	secrets.Set([][]byte{[]byte("s3cr3t-value")})
	var plain, redacted bytes.Buffer
	noTime := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	attrs := []slog.Attr{slog.String("requestId", "r-1"), slog.Int("status", 200), slog.Float64("durationMs", 0.25),
		slog.Bool("replayed", true), slog.Any("match", []string{"a: matched"}), slog.Duration("d", 3)}
	slog.New(slog.NewJSONHandler(&plain, noTime)).LogAttrs(t.Context(), slog.LevelInfo, "request answered", attrs...)
	slog.New(NewHandler(slog.NewJSONHandler(&redacted, noTime), secrets)).LogAttrs(t.Context(), slog.LevelInfo, "request answered", attrs...)
	if plain.String() != redacted.String() {
		t.Errorf("redacted %s\nplain    %s", redacted.String(), plain.String())
	}
}

func TestSecretsContains(t *testing.T) {
	secrets := &Secrets{}
	if secrets.Contains("anything") {
		t.Error("an empty set contains a secret")
	}
	secrets.Set([][]byte{[]byte("longer-secret"), []byte("abcd")})
	for text, want := range map[string]bool{"xabcdx": true, "abcd": true, "abc": false, "a longer-secret!": true, "": false, "longer-secre": false} {
		if got := secrets.Contains(text); got != want {
			t.Errorf("Contains(%q) = %v, want %v", text, got, want)
		}
	}
}

// A line may hold a secret when it holds one as a JSON string holds it (escaped); a secret that is not UTF-8
// cannot be searched for, so a line always may.
func TestSecretsMayBeInJSON(t *testing.T) {
	secrets := &Secrets{}
	if secrets.MayBeInJSON([]byte(`{"a":"anything"}`)) {
		t.Error("an empty set may be in a line")
	}
	secrets.Set([][]byte{[]byte("example-bank-api-token"), []byte(`pass"word`), []byte("tab\there")})
	for line, want := range map[string]bool{
		`{"msg":"x","a":"example-bank-api-token"}`: true,
		`example-bank-api-token`:                   true,
		`{"a":"example-bank-api-toke"}`:            false,
		`{"a":"xample-bank-api-token"}`:            false,
		`{"a":"pass\"word"}`:                       true,
		`{"a":"pass"word"}`:                        false,
		`{"a":"tab\there"}`:                        true,
		`{"a":"tab	here"}`:                         false,
		`{"a":"exampl","b":"e-bank-api-token"}`:    false,
		"":                                         false,
	} {
		if got := secrets.MayBeInJSON([]byte(line)); got != want {
			t.Errorf("MayBeInJSON(%s) = %v, want %v", line, got, want)
		}
	}
	if !secrets.SearchableInJSON() {
		t.Error("UTF-8 secrets are not searchable")
	}
	secrets.Set([][]byte{[]byte("s3cr3t"), []byte("bad\xffsecret")})
	if secrets.SearchableInJSON() || !secrets.MayBeInJSON([]byte(`{"a":"b"}`)) {
		t.Error("a secret that is not UTF-8 cannot be searched for, yet a line was found without one")
	}
}

// A needle is found where bytes.Contains finds it, in lines of few letters (many near misses), wherever its
// rarest byte is.
func TestNeedleFindsWhatContainsFinds(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	text := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abxk\""[r.IntN(5)]
		}
		return string(b)
	}
	for range 20000 {
		n, line := newNeedle(text(1+r.IntN(6))), []byte(text(r.IntN(40)))
		if got, want := n.in(line), bytes.Contains(line, []byte(n.text)); got != want {
			t.Fatalf("%q in %q: %v, want %v", n.text, line, got, want)
		}
	}
}

// Many needles are found in one pass where bytes.Contains finds one of them, in lines of few letters (many near
// misses and shared first bytes).
func TestNeedleIndexFindsWhatContainsFinds(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	text := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abxk\""[r.IntN(5)]
		}
		return string(b)
	}
	for range 2000 {
		var needles []needle
		for range indexAbove + 1 + r.IntN(20) {
			needles = append(needles, newNeedle(text(4+r.IntN(5))))
		}
		index, line := newNeedleIndex(needles), []byte(text(r.IntN(80)))
		want := false
		for _, n := range needles {
			want = want || bytes.Contains(line, []byte(n.text))
		}
		if got := index.in(line); got != want {
			t.Fatalf("%d needles in %q: %v, want %v", len(needles), line, got, want)
		}
	}
}

// With the secrets of many endpoints, as on a gateway's pod, a line is still searched for every one of them.
func TestSecretsMayBeInJSONWithManySecrets(t *testing.T) {
	var values [][]byte
	for i := range 3000 {
		values = append(values, fmt.Appendf(nil, "bot-%04d-password-%x", i, i*7919))
	}
	secrets := &Secrets{}
	secrets.Set(values)
	for _, i := range []int{0, 1234, 2999} {
		line := fmt.Appendf(nil, `{"msg":"request answered","session":"x bot-%04d-password-%x y"}`, i, i*7919)
		if !secrets.MayBeInJSON(line) {
			t.Errorf("secret %d not found in %s", i, line)
		}
	}
	if secrets.MayBeInJSON([]byte(`{"msg":"request answered","session":"bot-0001-password-"}`)) {
		t.Error("a line holding no whole secret may hold one")
	}
}

// BenchmarkMayBeInJSON searches a request line without secrets for the secrets of one endpoint and of a
// thousand (a gateway's pod).
func BenchmarkMayBeInJSON(b *testing.B) {
	line := []byte(`{"time":"2026-12-03T09:30:00.123456Z","level":"INFO","msg":"request answered","endpoint":"bots/bot-0042",` +
		`"dialect":"DialogflowES","intent":"GetAccountBalance","responseId":"0b6c6c1e-5f1f-4b1e-9a7e-2f1d3c4b5a69",` +
		`"session":"projects/bank/agent/sessions/5f1f4b1e","route":"bot-0042-balance","outcome":"answered","status":200,"durationMs":0.412}`)
	for _, n := range []int{3, 3000} {
		var values [][]byte
		for i := range n {
			values = append(values, fmt.Appendf(nil, "bot-%04d-password-%x", i, i*7919))
		}
		secrets := &Secrets{}
		secrets.Set(values)
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			for b.Loop() {
				if secrets.MayBeInJSON(line) {
					b.Fatal("found a secret in a line without one")
				}
			}
		})
	}
}
