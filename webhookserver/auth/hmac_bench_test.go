package auth_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
)

// BenchmarkHMAC verifies a valid request per scheme, with a 1 KiB body and two keys (a rotation, the signature
// made with the previous key: both MACs are computed either way).
func BenchmarkHMAC(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	body := bytes.Repeat([]byte(`{"k":"v"},`), 103)[:1024]
	for name, spec := range allSchemes {
		b.Run(name, func(b *testing.B) {
			current, err1 := hmackey.Generate(spec.Scheme)
			previous, err2 := hmackey.Generate(spec.Scheme)
			if err1 != nil || err2 != nil {
				b.Fatal(err1, err2)
			}
			checker, err := auth.NewHMAC(&spec, [][]byte{current, previous}, auth.WithHMACClock(fixedClock(now)))
			if err != nil {
				b.Fatal(err)
			}
			r := &auth.Request{Header: hmacSign(b, spec, string(previous), "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now.Unix(), body), Body: body}
			if failure := checker.Check(r); failure != nil {
				b.Fatal(failure)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if failure := checker.Check(r); failure != nil {
					b.Fatal(failure)
				}
			}
		})
	}
}
