package all_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/all"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
)

func TestForName(t *testing.T) {
	tests := map[string]struct {
		wantErrorEncoder bool
	}{
		"DialogflowES": {},
		"DialogflowCX": {},
		"Rasa":         {wantErrorEncoder: true},
		"Generic":      {},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			codec, err := all.ForName(name)
			if err != nil || codec == nil {
				t.Fatalf("ForName(%q) = %v, %v", name, codec, err)
			}
			if _, ok := codec.(dialect.ErrorEncoder); ok != tt.wantErrorEncoder {
				t.Errorf("implements dialect.ErrorEncoder: %v, want %v", ok, tt.wantErrorEncoder)
			}
			// Each codec decodes into its own dialect.
			req, err := dialecttest.Decode(codec, dialect.Input{Body: []byte(`{"next_action":"a"}`)})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if req.Dialect != name {
				t.Errorf("Dialect = %q, want %q", req.Dialect, name)
			}
		})
	}
	if got := len(all.Names()); got != len(tests) {
		t.Errorf("Names() has %d dialects, the test %d", got, len(tests))
	}
}

func TestForNameUnknown(t *testing.T) {
	for _, name := range []string{"", "dialogflowES", "Lex"} {
		if _, err := all.ForName(name); err == nil || !strings.Contains(err.Error(), "DialogflowES, DialogflowCX, Rasa, Generic") {
			t.Errorf("ForName(%q) error = %v, want one listing the dialects", name, err)
		}
	}
}

// TestContentTypes: every dialect refuses a body declared in a format it does not read with an
// UnsupportedMediaTypeError (the server's 415), and reads JSON declared as JSON, with parameters, or undeclared.
func TestContentTypes(t *testing.T) {
	refused := []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/octet-stream"}
	read := []string{"", "application/json", "application/json; charset=utf-8", "Application/JSON", "application/cloudevents+json"}
	for _, name := range all.Names() {
		codec, err := all.ForName(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, contentType := range refused {
			if name == "Generic" && contentType == "application/x-www-form-urlencoded" {
				continue // Generic reads forms
			}
			_, err := dialecttest.Decode(codec, withContentType(contentType))
			var unsupported *dialect.UnsupportedMediaTypeError
			if !errors.As(err, &unsupported) || !strings.Contains(err.Error(), "application/json") {
				t.Errorf("%s, Content-Type %q: got %T %v, want an UnsupportedMediaTypeError offering application/json", name, contentType, err, err)
			}
		}
		for _, contentType := range read {
			if _, err := dialecttest.Decode(codec, withContentType(contentType)); err != nil {
				t.Errorf("%s, Content-Type %q: %v", name, contentType, err)
			}
		}
	}
}

func withContentType(contentType string) dialect.Input {
	header := http.Header{}
	if contentType != "" {
		header.Set("Content-Type", contentType)
	}
	return dialect.Input{Method: http.MethodPost, Header: header, Body: []byte(`{"next_action":"a"}`)}
}
