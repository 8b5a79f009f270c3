// Package dialecttest holds what the dialect codec tests share: the wire-format fixtures and assertions on the
// errors codecs must return. Only tests import it.
package dialecttest

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Fixture returns the content of a file in webhookserver/dialect/testdata, wherever the calling test runs from.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	_, thisFile, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the testdata directory")
	}
	body, err := os.ReadFile(filepath.Join(filepath.Dir(thisFile), "..", "..", "testdata", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return body
}

// WantDecodeError fails the test unless err is a *dialect.DecodeError naming field with a message.
func WantDecodeError(t testing.TB, err error, field string) {
	t.Helper()
	var decodeErr *dialect.DecodeError
	if !errors.As(err, &decodeErr) {
		t.Fatalf("want a *dialect.DecodeError for field %q, got %T: %v", field, err, err)
	}
	if decodeErr.Field != field {
		t.Fatalf("want the error on field %q, got %q (%v)", field, decodeErr.Field, decodeErr)
	}
	if decodeErr.Message == "" {
		t.Fatalf("decode error on %q has no message", field)
	}
}

// CheckFuzzError fails the test unless err is nil or one of the errors a codec may return for a bad request.
func CheckFuzzError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var decodeErr *dialect.DecodeError
	var mediaTypeErr *dialect.UnsupportedMediaTypeError
	if !errors.As(err, &decodeErr) && !errors.As(err, &mediaTypeErr) {
		t.Fatalf("want a *dialect.DecodeError or *dialect.UnsupportedMediaTypeError, got %T: %v", err, err)
	}
}

// Decode decodes in with codec and returns the request in the dialects' common form.
func Decode(codec dialect.Codec, in dialect.Input) (*model.Request, error) {
	decoded, err := codec.Decode(in)
	if err != nil {
		return nil, err
	}
	return decoded.Request(), nil
}

// Request is a model.Request's fields as plain values, to compare decoded requests whole: the headers as
// Headers returns them, the body left out (tests compare it on its own).
type Request struct {
	Dialect, Intent, Action, Tag, Event, Text, LanguageCode, Session string
	Parameters                                                       map[string]any
	Headers, Query                                                   map[string]string
	DeliveryID                                                       string
}

// Fields are req's fields as plain values.
func Fields(req *model.Request) Request {
	return Request{Dialect: req.Dialect, Intent: req.Intent, Action: req.Action, Tag: req.Tag, Event: req.Event,
		Text: req.Text, LanguageCode: req.LanguageCode, Session: req.Session, Parameters: req.Parameters,
		Headers: req.Headers(), Query: req.Query, DeliveryID: req.DeliveryID}
}
