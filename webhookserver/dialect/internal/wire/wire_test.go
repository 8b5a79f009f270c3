package wire_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
)

func TestDecodeObjectErrors(t *testing.T) {
	tests := map[string]struct {
		body        string
		wantMessage string
	}{
		"empty":        {"", "empty body; expected a JSON object"},
		"blank":        {"\r\n ", "empty body; expected a JSON object"},
		"syntax":       {`{"a" 1}`, "malformed JSON at byte 6: invalid character '1' after object key"},
		"truncated":    {`{"a":`, "malformed JSON at byte 5: unexpected end of JSON input"},
		"out of range": {`{"a":[1e400]}`, "malformed JSON at byte 12: number 1e400 does not fit a 64-bit float"},
		"array":        {`[]`, "expected a JSON object as the body, found an array"},
		"number":       {`7`, "expected a JSON object as the body, found a number"},
		"null":         {`null`, "expected a JSON object as the body, found null"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := wire.DecodeObject([]byte(tt.body))
			var decodeErr *dialect.DecodeError
			if !errors.As(err, &decodeErr) || decodeErr.Field != "" || decodeErr.Message != tt.wantMessage {
				t.Fatalf("DecodeObject(%q) = %#v, want the body error %q", tt.body, err, tt.wantMessage)
			}
		})
	}
}

func TestReaderPaths(t *testing.T) {
	object := map[string]any{"s": "x", "n": 1.0, "list": []any{map[string]any{"name": 3.0}, "y"}, "params": map[string]any{"a.b": 1.0}}
	tests := map[string]struct {
		read      func(r *wire.Reader)
		wantField string
		wantMsg   string
	}{
		"static path": {
			read:      func(r *wire.Reader) { r.Number(object, "outer.s") },
			wantField: "outer.s", wantMsg: "expected a number, found a string",
		},
		"element": {
			read:      func(r *wire.Reader) { wire.Element[map[string]any](r, object["list"].([]any), "outer.list", 1) },
			wantField: "outer.list[1]", wantMsg: "expected an object, found a string",
		},
		"field of an element": {
			read: func(r *wire.Reader) {
				wire.ElementField[string](r, object["list"].([]any)[0].(map[string]any), "outer.list", 0, "name")
			},
			wantField: "outer.list[0].name", wantMsg: "expected a string, found a number",
		},
		"entry keyed by data": {
			read:      func(r *wire.Reader) { wire.Entry[bool](r, object["params"].(map[string]any), "outer.params", "a.b") },
			wantField: "outer.params.a.b", wantMsg: "expected a boolean, found a number",
		},
		"first error is kept": {
			read: func(r *wire.Reader) {
				r.Object(object, "s")
				r.Array(object, "n")
				r.Fail("later", "ignored")
			},
			wantField: "s", wantMsg: "expected an object, found a string",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var r wire.Reader
			tt.read(&r)
			var decodeErr *dialect.DecodeError
			if !errors.As(r.Err(), &decodeErr) || decodeErr.Field != tt.wantField || decodeErr.Message != tt.wantMsg {
				t.Fatalf("Err() = %#v, want field %q: %q", r.Err(), tt.wantField, tt.wantMsg)
			}
		})
	}
}

func TestReaderMissingAndNullAreZero(t *testing.T) {
	var r wire.Reader
	object := map[string]any{"null": nil}
	if r.String(object, "null") != "" || r.Object(object, "missing") != nil || r.Array(nil, "a.b") != nil || r.Number(object, "x") != 0 {
		t.Error("missing or null fields do not read as zero values")
	}
	if r.Err() != nil {
		t.Errorf("Err() = %v, want nil", r.Err())
	}
}

func TestHeadersAndQuery(t *testing.T) {
	header := http.Header{}
	header.Set("Content-Type", "application/json")
	header.Add("X-Forwarded-For", "10.0.0.1")
	header.Add("X-Forwarded-For", "10.0.0.2")
	header.Set("Authorization", "Bearer secret")
	header.Set("Proxy-Authorization", "Basic secret")
	header.Set("Cookie", "session=secret")
	want := map[string]string{"content-type": "application/json", "x-forwarded-for": "10.0.0.1, 10.0.0.2"}
	if got := wire.Headers(header); !reflect.DeepEqual(got, want) {
		t.Errorf("Headers = %v, want %v", got, want)
	}
	var r wire.Reader
	if got := wire.Query(&r, url.Values{"a": {"1", "2"}, "b": {}}); !reflect.DeepEqual(got, map[string]string{"a": "1"}) {
		t.Errorf("Query = %v", got)
	}
	if wire.Headers(nil) != nil || wire.Query(&r, nil) != nil || r.Err() != nil {
		t.Error("empty headers or query do not give nil")
	}
}

// A query string of more fields than dialect.MaxFormFields is the Reader's error, which says the limit.
func TestQueryFieldCountIsBounded(t *testing.T) {
	query := url.Values{}
	for i := range dialect.MaxFormFields {
		query.Set(strconv.Itoa(i), "x")
	}
	var r wire.Reader
	if got := wire.Query(&r, query); len(got) != dialect.MaxFormFields || r.Err() != nil {
		t.Fatalf("%d fields: %d read, error %v", dialect.MaxFormFields, len(got), r.Err())
	}
	query.Set("one-more", "x")
	if got := wire.Query(&r, query); got != nil || r.Err() == nil ||
		!strings.Contains(r.Err().Error(), fmt.Sprintf("the query string has %d fields, over the limit of %d", dialect.MaxFormFields+1, dialect.MaxFormFields)) {
		t.Errorf("%d fields: %d read, error %v", dialect.MaxFormFields+1, len(got), r.Err())
	}
}

// A JSON body is bounded in values and in objects, whichever way it is decoded (the fast parser, or
// encoding/json for a body with a surrogate escape), and the error says which bound and its value.
func TestDecodeBounds(t *testing.T) {
	// body is a body of n values in all, objects of them objects; slow makes the parser leave it to
	// encoding/json.
	body := func(n, objects int, slow bool) string {
		head := `{"s":0,"a":[`
		if slow {
			head = `{"s":"\ud83d\ude00","a":[`
		}
		elements := slices.Repeat([]string{"{}"}, objects-1) // the body is the first object, and it holds s and a
		elements = append(elements, slices.Repeat([]string{"0"}, n-3-len(elements))...)
		return head + strings.Join(elements, ",") + "]}"
	}
	tests := map[string]struct {
		body    string
		wantErr string
	}{
		"at the value bound":     {body: body(dialect.MaxJSONValues, 1, false)},
		"over the value bound":   {body: body(dialect.MaxJSONValues+1, 1, false), wantErr: "the JSON body has 50001 values, over the limit of 50000"},
		"at the object bound":    {body: body(dialect.MaxJSONObjects+2, dialect.MaxJSONObjects, false)},
		"over the object bound":  {body: body(dialect.MaxJSONObjects+3, dialect.MaxJSONObjects+1, false), wantErr: "the JSON body has 10001 objects, over the limit of 10000"},
		"at both, slowly":        {body: body(dialect.MaxJSONValues, dialect.MaxJSONObjects, true)},
		"over the values slowly": {body: body(dialect.MaxJSONValues+1, 1, true), wantErr: "the JSON body has 50001 values, over the limit of 50000"},
		"over the objects slowly": {body: body(dialect.MaxJSONObjects+3, dialect.MaxJSONObjects+1, true),
			wantErr: "the JSON body has 10001 objects, over the limit of 10000"},
		"a 1 MiB array of digits": {body: `{"a":[` + strings.Repeat("1,", 1<<19) + `1]}`, wantErr: "the JSON body has 524291 values, over the limit of 50000"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, objectErr := wire.DecodeObject([]byte(tt.body))
			_, _, envelopeErr := wire.DecodeEnvelope([]byte(tt.body), wire.Fields{"a": nil})
			for _, err := range []error{objectErr, envelopeErr} {
				var decodeErr *dialect.DecodeError
				if tt.wantErr == "" && err != nil || tt.wantErr != "" && (!errors.As(err, &decodeErr) || decodeErr.Message != tt.wantErr) {
					t.Errorf("decoding %d bytes: %v, want error %q", len(tt.body), err, tt.wantErr)
				}
			}
		})
	}
}
