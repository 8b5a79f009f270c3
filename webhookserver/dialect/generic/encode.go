package generic

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// response is the Generic answer; empty parts are left out.
type response struct {
	FulfillmentText string         `json:"fulfillmentText,omitempty"`
	Parameters      map[string]any `json:"parameters,omitempty"`
	Payload         map[string]any `json:"payload,omitempty"`
	Messages        []message      `json:"messages,omitempty"`
}

// message is one rich message; unlike Dialogflow's, it may hold text and payload together.
type message struct {
	Text    string         `json:"text,omitempty"`
	Payload map[string]any `json:"payload,omitempty"`
}

// EncodeAnswer writes the answer as it is: Text as fulfillmentText, the session parameters (a nil value as null, for
// the sender to delete), the payload and the messages.
func (answers) EncodeAnswer(answer *model.Answer) ([]byte, error) {
	if answer == nil {
		answer = &model.Answer{}
	}
	return wire.Marshal(response{
		FulfillmentText: answer.Text,
		Parameters:      answer.Parameters,
		Payload:         answer.Payload,
		Messages:        messages(answer.Messages),
	})
}

func messages(from []model.Message) []message {
	to := make([]message, 0, len(from))
	for _, m := range from {
		if m.Text != "" || len(m.Payload) > 0 {
			to = append(to, message{Text: m.Text, Payload: m.Payload})
		}
	}
	return to
}
