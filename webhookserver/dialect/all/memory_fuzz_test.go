package all_test

import (
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/all"
)

// The memory decoding may allocate for a body or query string of n bytes, as docs/webhookserver.md documents
// it: decodeMultiple times n, plus decodeConstant for the decoders' own buffers and what nesting bounded by
// depth (not by size) costs.
const (
	decodeMultiple = 100
	decodeConstant = 1 << 20
)

// decodeFormats are the formats the fuzzer picks from by index; "query" sends the bytes as a GET's query string.
var decodeFormats = []string{"application/json", "application/x-www-form-urlencoded", "application/xml", "query"}

// FuzzDecodeAllocation checks the memory guarantee: whatever the body, in whatever format, decoding it with any
// dialect, the whole body included (a route may read request.body), allocates at most decodeMultiple times its
// length plus decodeConstant. The seeds are the known worst cases, a mebibyte each.
func FuzzDecodeAllocation(f *testing.F) {
	const size = 1 << 20
	for format, body := range pathologicalBodies(size) {
		f.Add(uint8(format), []byte(body))
	}
	codecs := map[string]dialect.Codec{}
	for _, name := range all.Names() {
		codecs[name], _ = all.ForName(name)
	}
	f.Fuzz(func(t *testing.T, format uint8, body []byte) {
		contentType := decodeFormats[int(format)%len(decodeFormats)]
		for name, codec := range codecs {
			allocated := allocatedBy(func() { decodeWhole(codec, contentType, body) })
			if limit := uint64(decodeMultiple*len(body) + decodeConstant); allocated > limit {
				t.Errorf("%s, %s body of %d bytes: decoding allocated %d bytes, over %d×%d+%d = %d",
					name, contentType, len(body), allocated, decodeMultiple, len(body), decodeConstant, limit)
			}
		}
	})
}

// decodeWhole decodes body as the server does, its whole body included.
func decodeWhole(codec dialect.Codec, contentType string, body []byte) {
	in := dialect.Input{Method: http.MethodPost, Header: http.Header{"Content-Type": {contentType}}, Body: body}
	if contentType == "query" {
		query, err := url.ParseQuery(string(body))
		if err != nil {
			return // the server answers 400 before decoding
		}
		in = dialect.Input{Method: http.MethodGet, Header: http.Header{}, Query: query}
	}
	if req, err := codec.Decode(in); err == nil {
		req.DecodedBody()
	}
}

// allocatedBy is the bytes allocated on the heap while decode runs.
func allocatedBy(decode func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	decode()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// pathologicalBodies are bodies of about size bytes that cost decoding the most per byte, by format index.
func pathologicalBodies(size int) map[int]string {
	const jsonFormat, formFormat, xmlFormat, queryFormat = 0, 1, 2, 3
	repeat := func(prefix, unit, suffix string) string {
		return prefix + strings.Repeat(unit, (size-len(prefix)-len(suffix))/len(unit)) + suffix
	}
	numbered := func(prefix, format, suffix string) string {
		var b strings.Builder
		b.WriteString(prefix)
		for i := 0; b.Len() < size-len(suffix)-16; i++ {
			fmt.Fprintf(&b, format, i)
		}
		return b.String() + suffix
	}
	bodies := []struct {
		format int
		body   string
	}{
		{jsonFormat, repeat(`{"a":[`, "1,", "1]}")},
		{jsonFormat, repeat(`{"a":[`, "{},", "{}]}")},
		{jsonFormat, repeat(`{"a":[`, "[],", "[]]}")},
		{jsonFormat, repeat(`{"a":[`, `{"a":{}},`, "{}]}")},
		{jsonFormat, numbered(`{"x":0`, `,"%x":0`, "}")},
		{jsonFormat, `{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + "}"},
		{jsonFormat, repeat(`{"a":[`, `{"a":{"a":{"a":{"a":{"a":{}}}}}},`, "{}]}")},
		{formFormat, "event=x&" + strings.Repeat("a.", size/2-8) + "b=1"},
		{formFormat, strings.Repeat("a=&", size/3)},
		{formFormat, numbered("event=x", "&%x.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a=", "")},
		{xmlFormat, repeat("<r>", "<a/>", "</r>")},
		{xmlFormat, repeat("<r ", `a="" `, "/>")},
		{xmlFormat, numbered("<r>", "<a%x/>", "</r>")},
		{xmlFormat, repeat("<r>", "<a><a><a><a></a></a></a></a>", "</r>")},
		{xmlFormat, strings.Repeat("<a>", 64) + strings.Repeat("</a>", 64)},
		{queryFormat, repeat("", "a=&", "")[:64<<10]},
		{queryFormat, numbered("event=x", "&%x.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a=", "")[:64<<10]},
	}
	byFormat := map[int]string{}
	for i, b := range bodies {
		// One seed per body: the map key is the seed's index, whose format is b.format modulo the formats.
		byFormat[b.format+i*len(decodeFormats)] = b.body
	}
	return byFormat
}
