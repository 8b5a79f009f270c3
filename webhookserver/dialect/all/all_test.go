package all_test

import (
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/all"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

func TestForName(t *testing.T) {
	tests := map[string]struct {
		wantErrorEncoder bool
	}{
		model.DialogflowES: {},
		model.DialogflowCX: {},
		model.Rasa:         {wantErrorEncoder: true},
		model.Generic:      {},
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
			req, err := codec.Decode(dialect.Input{Body: []byte(`{"next_action":"a"}`)})
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
