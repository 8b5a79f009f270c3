package dialect_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

func TestCheckDialogflowSize(t *testing.T) {
	if err := dialect.CheckDialogflowSize(make([]byte, dialect.MaxDialogflowResponseBytes)); err != nil {
		t.Errorf("a body of exactly 64 KiB is refused: %v", err)
	}
	err := dialect.CheckDialogflowSize(make([]byte, dialect.MaxDialogflowResponseBytes+1))
	var encodeErr *dialect.EncodeError
	if !errors.As(err, &encodeErr) || encodeErr.Message != "response is 65537 bytes, over Dialogflow's limit of 65536 bytes (64 KiB)" {
		t.Errorf("CheckDialogflowSize over the limit = %v", err)
	}
}

func TestUnsupportedMediaTypeError(t *testing.T) {
	err := &dialect.UnsupportedMediaTypeError{MediaType: "text/plain", Supported: []string{"application/json", "text/xml"}}
	if got := err.Error(); got != `unsupported content type "text/plain"; send one of application/json, text/xml` {
		t.Errorf("Error() = %q", got)
	}
	if strings.Contains((&dialect.UnsupportedMediaTypeError{}).Error(), "%!") {
		t.Error("an empty error does not format")
	}
}
