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
// it: decodeMultiple times n, plus decodeConstant for the decoders' own buffers and for what is bounded by
// count rather than by size (the objects of dotted form names, deep JSON).
const (
	decodeMultiple = 100
	decodeConstant = 1 << 20
)

// decodeFormats are the formats the fuzzer picks from by index; "query" sends the bytes as a GET's query string.
var decodeFormats = []string{"application/json", "application/x-www-form-urlencoded", "application/xml", "query"}

// FuzzDecodeAllocation checks the memory guarantee: whatever the body, in whatever format, decoding it with any
// dialect, the whole body included (a route may read request.body), allocates at most decodeMultiple times its
// length plus decodeConstant. The seeds are the known worst cases, 4 KiB each so that the fuzzer stays fast;
// TestDecodeAllocationOfPathologicalBodies checks them at the default body limit.
func FuzzDecodeAllocation(f *testing.F) {
	for _, b := range pathologicalBodies(4 << 10) {
		f.Add(uint8(b.format), []byte(b.body))
	}
	f.Fuzz(func(t *testing.T, format uint8, body []byte) {
		checkDecodeAllocation(t, decodeFormats[int(format)%len(decodeFormats)], body)
	})
}

func TestDecodeAllocationOfPathologicalBodies(t *testing.T) {
	for _, b := range pathologicalBodies(1 << 20) {
		checkDecodeAllocation(t, decodeFormats[b.format], []byte(b.body))
	}
}

// checkDecodeAllocation decodes body, of contentType, with every dialect, and fails when one allocates over the
// bound.
func checkDecodeAllocation(t *testing.T, contentType string, body []byte) {
	t.Helper()
	for _, name := range all.Names() {
		codec, _ := all.ForName(name)
		allocated := allocatedBy(func() { decodeWhole(codec, contentType, body) })
		if limit := uint64(decodeMultiple*len(body) + decodeConstant); allocated > limit {
			t.Errorf("%s, %s body of %d bytes: decoding allocated %d bytes, over %d×%d+%d = %d",
				name, contentType, len(body), allocated, decodeMultiple, len(body), decodeConstant, limit)
		}
	}
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

// pathologicalBody is a body that costs decoding the most per byte, in decodeFormats[format].
type pathologicalBody struct {
	format int
	body   string
}

// pathologicalBodies are the pathological bodies of about size bytes.
func pathologicalBodies(size int) []pathologicalBody {
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
	return []pathologicalBody{
		{jsonFormat, repeat(`{"a":[`, "1,", "1]}")},
		{jsonFormat, repeat(`{"a":[`, "{},", "{}]}")},
		{jsonFormat, repeat(`{"a":[`, "[],", "[]]}")},
		{jsonFormat, repeat(`{"a":[`, `{"a":{}},`, "{}]}")},
		{jsonFormat, numbered(`{"x":0`, `,"%x":0`, "}")},
		{jsonFormat, `{"a":` + strings.Repeat("[", min(9999, size/2-4)) + strings.Repeat("]", min(9999, size/2-4)) + "}"},
		{jsonFormat, repeat(`{"a":[`, `{"a":{"a":{"a":{"a":{"a":{}}}}}},`, "{}]}")},
		{formFormat, "event=x&" + strings.Repeat("a.", size/2-8) + "b=1"},
		{formFormat, strings.Repeat("a=&", size/3)},
		{formFormat, numbered("event=x", "&%x.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a=", "")},
		{xmlFormat, repeat("<r>", "<a/>", "</r>")},
		{xmlFormat, repeat("<r ", `a="" `, "/>")},
		{xmlFormat, numbered("<r>", "<a%x/>", "</r>")},
		{xmlFormat, repeat("<r>", "<a><a><a><a></a></a></a></a>", "</r>")},
		{xmlFormat, strings.Repeat("<a>", 64) + strings.Repeat("</a>", 64)},
		// A query string is part of the request's headers: at most 64 KiB.
		{queryFormat, headerSized(repeat("", "a=&", ""))},
		{queryFormat, headerSized(numbered("event=x", "&%x.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a=", ""))},
	}
}

// headerSized is query cut to what fits in the request headers.
func headerSized(query string) string {
	return query[:min(len(query), 64<<10)]
}
