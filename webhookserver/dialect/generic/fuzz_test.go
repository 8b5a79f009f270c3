package generic_test

import (
	"net/http"
	"net/url"
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
