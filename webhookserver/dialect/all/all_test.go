package all_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

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

// Each dialect's rules are where the dialect is, and only there.
func TestDialectRules(t *testing.T) {
	for name, want := range map[string]struct {
		noRoute, reportsFailures, checksAnswers, extraPaths bool
		timeout                                             time.Duration
	}{
		"DialogflowES": {checksAnswers: true, timeout: 4500 * time.Millisecond},
		"DialogflowCX": {checksAnswers: true, timeout: 4500 * time.Millisecond},
		"Rasa":         {noRoute: true, extraPaths: true, timeout: dialect.DefaultTimeout},
		"Generic":      {reportsFailures: true, timeout: dialect.DefaultTimeout},
	} {
		codec, err := all.ForName(name)
		if err != nil {
			t.Fatal(err)
		}
		_, noRoute := codec.(dialect.NoRouteRefuser)
		reporter, reports := codec.(dialect.FailureReporter)
		_, checks := codec.(dialect.AnswerChecker)
		_, paths := codec.(dialect.ExtraPather)
		timeout := dialect.DefaultTimeout
		if timeouter, ok := codec.(dialect.DefaultTimeouter); ok {
			timeout = timeouter.DefaultTimeout()
		}
		if noRoute != want.noRoute || (reports && reporter.ReportsFailures()) != want.reportsFailures ||
			checks != want.checksAnswers || paths != want.extraPaths || timeout != want.timeout {
			t.Errorf("%s: no-route refusal %v, reports failures %v, checks answers %v, extra paths %v, timeout %v; want %+v",
				name, noRoute, reports, checks, paths, timeout, want)
		}
	}
}

// Generic reads a sender's own headers only when the endpoint verifies that sender's signature.
func TestNewGenericFromItsSigner(t *testing.T) {
	in := dialect.Input{Method: http.MethodPost, Header: http.Header{"X-Github-Event": {"push"}}, Body: []byte(`{}`)}
	for signedBy, want := range map[string]string{"": "", "GitHub": "push", "Stripe": ""} {
		codec, err := all.New("Generic", dialect.Settings{SignedBy: signedBy})
		if err != nil {
			t.Fatal(err)
		}
		req, err := dialecttest.Decode(codec, in)
		if err != nil || req.Event != want {
			t.Errorf("signed by %q: event %q, %v; want %q", signedBy, req.Event, err, want)
		}
	}
}
