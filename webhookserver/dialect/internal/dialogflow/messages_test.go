package dialogflow_test

import (
	"errors"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
)

func TestCheckSize(t *testing.T) {
	if err := dialogflow.CheckSize(make([]byte, dialogflow.MaxResponseBytes)); err != nil {
		t.Errorf("a body of exactly 64 KiB is refused: %v", err)
	}
	err := dialogflow.CheckSize(make([]byte, dialogflow.MaxResponseBytes+1))
	var encodeErr *dialect.EncodeError
	if !errors.As(err, &encodeErr) || encodeErr.Message != "response is 65537 bytes, over Dialogflow's limit of 65536 bytes (64 KiB)" {
		t.Errorf("CheckSize over the limit = %v", err)
	}
}
