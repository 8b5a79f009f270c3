// Package dialogflow holds what the ES and CX dialects write alike: rich messages, whose text and payload forms
// have the same JSON in google.cloud.dialogflow.v2.Intent.Message and google.cloud.dialogflow.cx.v3.ResponseMessage.
package dialogflow

import (
	"fmt"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
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

// Message is one Dialogflow rich message. The schema makes its content a oneof, so exactly one of Text, Payload
// and LiveAgentHandoff is set.
type Message struct {
	Text    Text           `json:"text,omitzero"`
	Payload map[string]any `json:"payload,omitempty"`
	// LiveAgentHandoff is a CX message only: ES's Intent.Message has no such kind.
	LiveAgentHandoff *LiveAgentHandoff `json:"liveAgentHandoff,omitempty"`
}

// LiveAgentHandoff is google.cloud.dialogflow.cx.v3.ResponseMessage.LiveAgentHandoff, without metadata.
type LiveAgentHandoff struct{}

// Text is a text message. Dialogflow takes a list of variants and picks one; we always send one, and a fixed-size
// array spares an allocation per message.
type Text struct {
	Text [1]string `json:"text"`
}

// Messages turns the answer into Dialogflow messages: its Messages in order or, when it has none, its Text as
// the one message. A model message with both text and payload becomes two messages (text first), since one
// Dialogflow message cannot hold both; an empty one is left out.
func Messages(answer *model.Answer) []Message {
	if len(answer.Messages) == 0 {
		if answer.Text == "" {
			return nil
		}
		return []Message{textMessage(answer.Text)}
	}
	messages := make([]Message, 0, len(answer.Messages))
	for _, message := range answer.Messages {
		if message.Text != "" {
			messages = append(messages, textMessage(message.Text))
		}
		if len(message.Payload) > 0 {
			messages = append(messages, Message{Payload: message.Payload})
		}
	}
	if len(messages) == 0 {
		return nil
	}
	return messages
}

func textMessage(text string) Message {
	return Message{Text: Text{Text: [1]string{text}}}
}

// WriteJSON writes m as encoding/json would (see wire.JSONWriter).
func (m Message) WriteJSON(w *wire.Writer) {
	w.Open('{')
	if m.Text != (Text{}) { // omitzero
		w.Key("text")
		w.Open('{')
		w.Key("text")
		w.Open('[')
		w.String(m.Text.Text[0])
		w.Close(']')
		w.Close('}')
	}
	if len(m.Payload) > 0 { // omitempty
		w.Key("payload")
		w.Value(m.Payload)
	}
	if m.LiveAgentHandoff != nil {
		w.Key("liveAgentHandoff")
		w.Open('{')
		w.Close('}')
	}
	w.Close('}')
}
