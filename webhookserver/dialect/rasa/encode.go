package rasa

import (
	"slices"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// actionResult is what the Rasa SDK answers for an action run. Both lists are always written, as the SDK does.
type actionResult struct {
	Events    []slotEvent   `json:"events"`
	Responses []botResponse `json:"responses"`
}

// slotEvent is Rasa's SlotSet event; a null value resets the slot.
type slotEvent struct {
	Event string `json:"event"`
	// Timestamp is always null: Rasa stamps the event when it applies it.
	Timestamp *float64 `json:"timestamp"`
	Name      string   `json:"name"`
	Value     any      `json:"value"`
}

// botResponse is one message Rasa utters: text, a custom (channel-specific) payload, or both.
type botResponse struct {
	Text   string         `json:"text,omitempty"`
	Custom map[string]any `json:"custom,omitempty"`
}

// EncodeAnswer writes the session parameters as slot events, sorted by name, and the messages as responses: the
// answer's Messages or, when it has none, its Text; then its Payload as one custom response.
func (answers) EncodeAnswer(answer *model.Answer) ([]byte, error) {
	if answer == nil {
		answer = &model.Answer{}
	}
	return wire.Marshal(actionResult{Events: slotEvents(answer.Parameters), Responses: botResponses(answer)})
}

func slotEvents(parameters map[string]any) []slotEvent {
	events := make([]slotEvent, 0, len(parameters))
	for name, value := range parameters {
		events = append(events, slotEvent{Event: "slot", Name: name, Value: value})
	}
	// Sorted so that the same answer gives the same bytes, and Rasa applies the slots in a known order.
	slices.SortFunc(events, func(a, b slotEvent) int { return strings.Compare(a.Name, b.Name) })
	return events
}

func botResponses(answer *model.Answer) []botResponse {
	responses := make([]botResponse, 0, len(answer.Messages)+2)
	if len(answer.Messages) == 0 && answer.Text != "" {
		responses = append(responses, botResponse{Text: answer.Text})
	}
	for _, message := range answer.Messages {
		if message.Text != "" || len(message.Payload) > 0 {
			responses = append(responses, botResponse{Text: message.Text, Custom: message.Payload})
		}
	}
	if len(answer.Payload) > 0 {
		responses = append(responses, botResponse{Custom: answer.Payload})
	}
	return responses
}
