package dialect_test

import (
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

func TestUnsupportedMediaTypeError(t *testing.T) {
	err := &dialect.UnsupportedMediaTypeError{MediaType: "text/plain", Supported: []string{"application/json", "text/xml"}}
	if got := err.Error(); got != `unsupported content type "text/plain"; send one of application/json, text/xml` {
		t.Errorf("Error() = %q", got)
	}
	if strings.Contains((&dialect.UnsupportedMediaTypeError{}).Error(), "%!") {
		t.Error("an empty error does not format")
	}
}
