package generic_test

import (
	"bytes"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/generic"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// fuzzContentTypes are the formats the fuzzer picks from by index; "" with GET reads the body as a query string.
var fuzzContentTypes = []string{"application/json", "application/x-www-form-urlencoded", "application/xml", "", "text/plain"}

// FuzzDecode checks that no body, in any format, makes Decode panic or fail with anything but a
// *dialect.DecodeError or a *dialect.UnsupportedMediaTypeError, and that whatever decodes can be answered. More
// seeds are in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(0), dialecttest.Fixture(f, "generic-event-request.json"))
	f.Add(uint8(1), dialecttest.Fixture(f, "slack-body.txt"))
	f.Add(uint8(2), []byte(`<r a="1"><session><id>s</id></session><x>1</x><x>2</x></r>`))
	f.Add(uint8(3), []byte(`event=ping&session.id=s`))
	codec := generic.New()
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		in := dialect.Input{Method: http.MethodPost, Header: http.Header{}, Body: body}
		contentType := fuzzContentTypes[int(kind)%len(fuzzContentTypes)]
		if contentType == "" {
			// A GET: the body's bytes become the query string.
			query, _ := url.ParseQuery(string(body))
			in = dialect.Input{Method: http.MethodGet, Header: http.Header{}, Query: query}
		} else {
			in.Header.Set("Content-Type", contentType)
		}
		decoded, err := codec.Decode(in)
		dialecttest.CheckFuzzError(t, err)
		if err != nil {
			return
		}
		req := decoded.Request()
		if _, err := decoded.Encode(&model.Answer{Text: req.Event, Parameters: req.Parameters, Payload: req.Body()}); err != nil {
			t.Fatalf("Encode: %v", err)
		}
	})
}

// FuzzDecodeBodyWinsOverQuery checks the merge of a query string into a JSON body: it fails only with the
// decoder's own errors, and every field the body sets keeps the body's value, so that a query string can add to
// an event but never change it.
func FuzzDecodeBodyWinsOverQuery(f *testing.F) {
	f.Add([]byte(`{"event":"order.created","session":{"id":"s-1"},"data":{"a":1}}`), "event=x&session.id=y&session.parameters.t=g&data=flat")
	f.Add([]byte(`{"a":{"b":"c"}}`), "a.b.c=1&a.d=2&a=3")
	f.Add([]byte(`{}`), "event=ping&a..b=literal")
	codec := generic.New()
	f.Fuzz(func(t *testing.T, body []byte, rawQuery string) {
		query, _ := url.ParseQuery(rawQuery)
		header := http.Header{"Content-Type": {"application/json"}}
		plain, err := codec.Decode(dialect.Input{Method: http.MethodPost, Header: header, Body: body})
		dialecttest.CheckFuzzError(t, err)
		merged, mergedErr := codec.Decode(dialect.Input{Method: http.MethodPost, Header: header, Body: body, Query: query})
		dialecttest.CheckFuzzError(t, mergedErr)
		if err != nil || mergedErr != nil || len(bytes.TrimSpace(body)) == 0 {
			return
		}
		if !holds(merged.Request().Body(), plain.Request().Body()) {
			t.Fatalf("the query changed the body:\n body %v\nmerged %v", plain.Request().Body(), merged.Request().Body())
		}
		if event := plain.Request().Event; event != "" && merged.Request().Event != event {
			t.Fatalf("the query changed the event %q to %q", event, merged.Request().Event)
		}
	})
}

// holds says whether merged has every field of body with body's value; objects may have gained fields.
func holds(merged, body map[string]any) bool {
	for name, value := range body {
		inBody, bodyObject := value.(map[string]any)
		inMerged, mergedObject := merged[name].(map[string]any)
		if bodyObject && mergedObject {
			if !holds(inMerged, inBody) {
				return false
			}
			continue
		}
		if !reflect.DeepEqual(merged[name], value) {
			return false
		}
	}
	return true
}
