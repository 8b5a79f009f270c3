package all_test

import (
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/all"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
)

// The memory decoding may allocate for a body or query string of n bytes, as docs/webhookserver.md documents
// it: decodeMultiple times n, plus decodeConstant for the decoders' own buffers and for what is bounded by
// count rather than by size (the values and objects of JSON, the markup of XML, the fields and objects of forms,
// deep JSON).
const (
	decodeMultiple = 8
	decodeConstant = 10 << 20
)

// fuzzBodyBytes is the size of the bodies FuzzDecodeAllocation decodes: big enough to reach every bound on
// counts, small enough to keep the fuzzer fast.
const fuzzBodyBytes = 256 << 10

// decodeFormats are the formats the fuzzer picks from by index; "query" sends the bytes as a GET's query string.
var decodeFormats = []string{"application/json", "application/x-www-form-urlencoded", "application/xml", "query"}

// FuzzDecodeAllocation checks the memory guarantee: whatever the body, in whatever format, decoding it with any
// dialect, the whole body included (a route may read request.body), allocates at most decodeMultiple times its
// length plus decodeConstant. What makes a body cost much is a short piece of it repeated, so the fuzzer picks
// a shape (see shape.body) of up to fuzzBodyBytes; the seeds are the known worst cases, which
// TestDecodeAllocationOfPathologicalBodies checks at the default body limit.
func FuzzDecodeAllocation(f *testing.F) {
	for _, s := range pathologicalShapes() {
		f.Add(uint8(s.format), s.head, s.unit, s.tail, uint16(s.times))
	}
	f.Fuzz(func(t *testing.T, format uint8, head, unit, tail string, times uint16) {
		s := shape{format: int(format) % len(decodeFormats), head: head, unit: unit, tail: tail, times: int(times)}
		checkDecodeAllocation(t, decodeFormats[s.format], s.body(fuzzBodyBytes))
	})
}

func TestDecodeAllocationOfPathologicalBodies(t *testing.T) {
	for _, s := range pathologicalShapes() {
		checkDecodeAllocation(t, decodeFormats[s.format], s.body(1<<20))
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
	if req, err := dialecttest.Decode(codec, in); err == nil {
		req.Body()
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

// shape is a body in decodeFormats[format]: head, then unit repeated times times (0: as often as fits), then
// tail.
type shape struct {
	format           int
	head, unit, tail string
	times            int
}

// body is the shape's body of at most about size bytes (64 KiB, the request headers' limit, for a query
// string). The first # in unit is replaced by the repetition's number in hex, so that repeated names can differ.
func (s shape) body(size int) []byte {
	if decodeFormats[s.format] == "query" {
		size = min(size, 64<<10)
	}
	var b strings.Builder
	b.WriteString(s.head)
	before, after, numbered := strings.Cut(s.unit, "#")
	for i := 0; s.unit != "" && (s.times == 0 || i < s.times) && b.Len()+len(s.unit)+16 <= size-len(s.tail); i++ {
		b.WriteString(before)
		if numbered {
			b.WriteString(strconv.FormatInt(int64(i), 16))
			b.WriteString(after)
		}
	}
	b.WriteString(s.tail)
	return []byte(b.String())
}

// pathologicalShapes are the shapes of the bodies that cost decoding the most per byte, or in all.
func pathologicalShapes() []shape {
	const jsonFormat, formFormat, xmlFormat, queryFormat = 0, 1, 2, 3
	dots := strings.Repeat(".a", 32)
	deep := strings.Repeat("<a>", 64)
	return []shape{
		{jsonFormat, `{"a":[`, "1,", "1]}", 0},
		{jsonFormat, `{"s":"\ud800","a":[`, "1,", "1]}", 0}, // left to encoding/json
		{jsonFormat, `{"a":[`, "{},", "{}]}", 0},
		{jsonFormat, `{"a":[`, "[],", "[]]}", 0},
		{jsonFormat, `{"a":[`, `"a",`, `""]}`, 0},
		{jsonFormat, `{"a":[`, `"\n",`, `""]}`, 0},
		{jsonFormat, `{"a":[`, `{"a":{}},`, "{}]}", 0},
		{jsonFormat, `{"a":[`, `{"a":{"a":{"a":{"a":{"a":{}}}}}},`, "{}]}", 0},
		{jsonFormat, `{"a":[`, `{"a":{"a":[]}},[],[],[],[],[],[],`, "{}]}", 0}, // at both bounds at once
		{jsonFormat, `{"s":"\ud800","a":[`, `{"a":{"a":[]}},[],[],[],[],[],[],`, "{}]}", 0},
		{jsonFormat, `{"x":0`, `,"#":0`, "}", 0},
		{jsonFormat, `{"a":` + strings.Repeat("[", 9999), "", strings.Repeat("]", 9999) + "}", 0},
		{jsonFormat, `{"a":"`, `\n`, `"}`, 0},
		{formFormat, "event=x&", "a.", "b=1", 0},
		{formFormat, "", "a=&", "", 0},
		{formFormat, "event=x", "&#" + dots + "=", "", 0},
		{xmlFormat, "<r>", "<a/>", "</r>", 0},
		{xmlFormat, "<r ", `a="" `, "/>", 0},
		{xmlFormat, "<r ", `a#="" `, "/>", 0},
		{xmlFormat, "<r>", `<a b=""/>`, "</r>", 0},
		{xmlFormat, "<r>", "<a#/>", "</r>", 0},
		{xmlFormat, "<r>", "<a><a><a><a></a></a></a></a>", "</r>", 0},
		{xmlFormat, "<r>", "a<!---->", "</r>", 0},
		{xmlFormat, deep, "", strings.ReplaceAll(deep, "<", "</"), 0},
		{xmlFormat, `<?xml version="1.0" encoding="ISO-8859-1"?><r><a>`, "\xe9", "</a></r>", 0},
		{queryFormat, "", "a=&", "", 0},
		{queryFormat, "event=x", "&#" + dots + "=", "", 0},
		// Just within the bounds on counts, which refuse the ones above before decoding the rest.
		{jsonFormat, `{"a":[`, `{"a":{"a":[]}},[],[],[],[],[],[],`, "{}]}", dialect.MaxJSONObjects/2 - 1},
		{jsonFormat, `{"s":"\ud800","a":[`, `{"a":{"a":[]}},[],[],[],[],[],[],`, "{}]}", dialect.MaxJSONObjects/2 - 1},
		{jsonFormat, `{"a":[`, "1,", "1]}", dialect.MaxJSONValues - 3},
		{xmlFormat, "<r>", "<a/>", "</r>", dialect.MaxXMLMarkup - 2},
		{xmlFormat, "<r>", `<a b=""/>`, "</r>", dialect.MaxXMLMarkup/2 - 1},
		{xmlFormat, "<r ", `a#="" `, "/>", dialect.MaxXMLMarkup - 1},
	}
}
