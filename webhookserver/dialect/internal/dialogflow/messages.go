// Package dialogflow holds what the ES and CX dialects share: the size limit and deadline of an answer, and the
// text message, whose JSON is the same in google.cloud.dialogflow.v2.Intent.Message and
// google.cloud.dialogflow.cx.v3.ResponseMessage.
package dialogflow

import (
	"fmt"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
)

// MaxResponseBytes is the largest answer Dialogflow (ES and CX) accepts.
const MaxResponseBytes = 64 * 1024

// Timeout is the deadline of a Dialogflow endpoint that sets none: Dialogflow waits 5s for the answer, and the
// half second left is for the answer to reach it.
const Timeout = 4500 * time.Millisecond

// Rules are the dialect rules ES and CX share; their codecs embed it.
type Rules struct{}

// DefaultTimeout implements dialect.DefaultTimeouter.
func (Rules) DefaultTimeout() time.Duration { return Timeout }

// CheckAnswer implements dialect.AnswerChecker: a backend's answer goes to Dialogflow unchanged, and one over
// its size limit would be dropped, so the fallback is answered instead.
func (Rules) CheckAnswer(body []byte) error { return CheckSize(body) }

// CheckSize refuses a response body Dialogflow would refuse for its size, so that the server can answer its
// fallback instead of an answer the agent would drop.
func CheckSize(body []byte) error {
	if len(body) > MaxResponseBytes {
		return &dialect.EncodeError{Message: fmt.Sprintf(
			"response is %d bytes, over Dialogflow's limit of %d bytes (64 KiB)", len(body), MaxResponseBytes)}
	}
	return nil
}

// MarshalResponse encodes a WebhookResponse (ES or CX) and refuses one Dialogflow would drop for its size.
func MarshalResponse(response any) ([]byte, error) {
	body, err := wire.Marshal(response)
	if err != nil {
		return nil, err
	}
	if err := CheckSize(body); err != nil {
		return nil, err
	}
	return body, nil
}

// Text is a text message. Dialogflow takes a list of variants and picks one; we always send one, and a fixed-size
// array spares an allocation per message.
type Text struct {
	Text [1]string `json:"text"`
}
