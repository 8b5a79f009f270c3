package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/jsonquote"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/redact"
)

// trickyStrings are what JSON escaping can get wrong, and a secret.
var trickyStrings = []string{
	"", "plain", `quote " and \ backslash`, "new\nline\r\ttab", "\x00\x01\x1f\x7f", "\b\f",
	"<html> & </html>", "ünïcödé 日本語 🙂", "bad utf8 \xff\xfe end", "\xe2\x80", "line\u2028sep\u2029end",
	"token s3cr3t-value inside", "s3cr3t-value", "a \"quoted\tsecret\" b", "bad \xffsecret\xfe",
}

func randomString(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return trickyStrings[r.IntN(len(trickyStrings))]
	}
	b := make([]byte, r.IntN(12))
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

func randomAttr(r *rand.Rand) slog.Attr {
	key := randomString(r)
	if strings.Contains(key, "s3cr3t") || strings.Contains(key, "secret") {
		key = "k" // keys are the program's words, never redacted
	}
	switch r.IntN(12) {
	case 0:
		return slog.Int(key, r.IntN(1<<20)-1<<19)
	case 1:
		return slog.Uint64(key, r.Uint64())
	case 2:
		floats := []float64{0, 0.25, -1.5, 1e-7, 1e21, 123456.789, 5e-324, math.MaxFloat64, math.NaN(), math.Inf(1)}
		if r.IntN(2) == 0 {
			return slog.Float64(key, floats[r.IntN(len(floats))])
		}
		return slog.Float64(key, float64(r.IntN(1e6))/1000)
	case 3:
		return slog.Bool(key, r.IntN(2) == 0)
	case 4:
		return slog.Duration(key, time.Duration(r.Int64()))
	case 5:
		return slog.Any(key, []string{randomString(r), randomString(r)})
	case 6:
		return slog.Any(key, errors.New(randomString(r)))
	case 7:
		return slog.Group(key, slog.String("inner", randomString(r)))
	case 8:
		return slog.Time(key, time.Unix(r.Int64N(1<<32), r.Int64N(1e9)))
	case 9:
		return slog.Any(key, map[string]int{"n": 1})
	}
	return slog.String(key, randomString(r))
}

// secretSets are sets of secrets to redact: one that JSON strings hold as it is, one they hold escaped, and
// one that is not UTF-8 (which a line cannot be searched for).
var secretSets = [][][]byte{
	{[]byte("s3cr3t-value")},
	{[]byte("s3cr3t-value"), []byte("\"quoted\tsecret\"")},
	{[]byte("s3cr3t-value"), []byte("\xffsecret\xfe")},
}

// JSONHandler writes exactly what slog's JSON handler writes behind the redaction layer, for any mix of
// attribute kinds, keys and strings (quotes, control characters, invalid UTF-8, secrets), whether it formats
// the line itself or hands it on, at times of several locations (whose seconds it keeps or not).
func TestJSONHandlerWritesWhatSlogWrites(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 12, 3, 4, 5, 6, 789000000, time.FixedZone("X", 3600))
	locations := []*time.Location{at.Location(), time.UTC, time.Local, time.FixedZone("Y", -(9*3600 + 30*60))}
	for i := range 3000 {
		secrets := &redact.Secrets{}
		secrets.Set(secretSets[i%len(secretSets)])
		var want, got, gotAttrs bytes.Buffer
		slogs := slog.New(redact.NewHandler(slog.NewJSONHandler(&want, nil), secrets))
		ours := NewJSONHandler(&got, slog.LevelInfo, secrets)
		attrs := make([]slog.Attr, r.IntN(20))
		for j := range attrs {
			attrs[j] = randomAttr(r)
		}
		level := []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelInfo + 2}[r.IntN(4)]
		msg := randomString(r)
		when := at.Add(time.Duration(i) * time.Duration(r.IntN(2e9)))
		if r.IntN(10) == 0 {
			when = when.Truncate(time.Second)
		}
		record := slog.NewRecord(when.In(locations[r.IntN(len(locations))]), level, msg, 0)
		record.AddAttrs(attrs...)
		_ = slogs.Handler().Handle(t.Context(), record)
		if err := ours.Handle(t.Context(), record); err != nil {
			t.Fatal(err)
		}
		ours.out = &gotAttrs
		ours.fallback = redact.NewHandler(slog.NewJSONHandler(&gotAttrs, nil), secrets)
		ours.HandleAttrs(t.Context(), record.Time, level, msg, attrs)
		if got.String() != want.String() || gotAttrs.String() != want.String() {
			t.Fatalf("record %d:\nslog   %s\nHandle %s\nHandleAttrs %s", i, want.String(), got.String(), gotAttrs.String())
		}
		for _, secret := range secretSets[i%len(secretSets)] {
			if inJSON := jsonquote.Append(nil, string(secret), jsonquote.Slog); bytes.Contains(got.Bytes(), inJSON[1:len(inJSON)-1]) {
				t.Fatalf("secret %q in %s", secret, got.String())
			}
		}
	}
}

// The request line's attributes are formatted by JSONHandler itself, not handed to slog.
func TestJSONHandlerFormatsRequestLinesItself(t *testing.T) {
	var out bytes.Buffer
	h := NewJSONHandler(&out, slog.LevelInfo, &redact.Secrets{})
	h.fallback = nil // a line handed on would panic
	h.HandleAttrs(t.Context(), time.Now(), slog.LevelInfo, "request answered", []slog.Attr{
		slog.String("requestId", "r"), slog.Int("status", 200), slog.Float64("durationMs", 0.125),
		slog.Bool("replayed", true), slog.Any("match", []string{"a: matched"}),
	})
	if !strings.Contains(out.String(), `"msg":"request answered","requestId":"r","status":200,"durationMs":0.125,"replayed":true,"match":["a: matched"]}`) {
		t.Fatalf("line %s", out.String())
	}
}

// A float is written as encoding/json writes it, whether or not it is a whole number of
// thousandths (which appendFloat writes itself): every thousandth up to 100, whole and large ones, and
// neighbours of thousandths that are not one.
func TestAppendFloatWritesWhatStrconvWrites(t *testing.T) {
	check := func(f float64) {
		t.Helper()
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(appendFloat(nil, f)); got != string(want) {
			t.Fatalf("%v (%b): %s, want %s", f, math.Float64bits(f), got, want)
		}
	}
	for milli := range 100001 {
		f := float64(milli) / 1000
		check(f)
		check(math.Nextafter(f, 0))
		check(math.Nextafter(f, 1e10))
		check(-f)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		check(float64(r.Int64N(1e12)) / 1000)
		check(r.Float64() * 1e9)
	}
	for _, f := range []float64{999999999.999, 1e9, 1e9 + 0.001, 123456789.125, math.SmallestNonzeroFloat64, 0.0005} {
		check(f)
	}
}
