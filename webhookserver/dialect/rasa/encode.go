package rasa

import (
	"maps"
	"slices"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// actionResult is what the Rasa SDK answers for an action run. Both lists are always written, as the SDK does.
// Events are slotEvent, plainEvent, namedEvent, reminderEvent or cancelReminderEvent (events.go); responses are
// botResponse or templateResponse.
type actionResult struct {
	Events    []any `json:"events"`
	Responses []any `json:"responses"`
}

// botResponse is one message Rasa utters, with the keys rasa-sdk's dispatcher.utter_message writes for it: text,
// an image URL, buttons, a custom (channel-specific) payload, or several of them.
type botResponse struct {
	Text    string         `json:"text,omitempty"`
	Image   string         `json:"image,omitempty"`
	Buttons []button       `json:"buttons,omitempty"`
	Custom  map[string]any `json:"custom,omitempty"`
}

// button is a Rasa button: payload is what Rasa handles as the user's message when it is tapped (a text, or an
// intent as /intent{"entity": "value"}).
type button struct {
	Title   string `json:"title"`
	Payload string `json:"payload"`
}

// templateResponse utters a response of the domain by name: {"response": name} with the variables as keys
// beside it, as utter_message(response=name, **variables) writes them; Rasa fills the response's {variable}
// from them.
type templateResponse map[string]any

// responseKeys are the keys of a Rasa response a template variable may not take: it would change the message
// rather than fill it. The API refuses them; an answer made another way loses them here.
var responseKeys = []string{"text", "buttons", "image", "custom", "attachment", "elements", "quick_replies",
	"response", "template"}

// encodeAnswer writes the answer as the Rasa SDK would: its slots and events (events.go), and its messages as
// responses: the answer's Messages or, when it has none, its Text; then its Payload as one custom response.
// req is the request answered, whose slots to validate the form parameters answer for.
func encodeAnswer(req *model.Request, answer *model.Answer) ([]byte, error) {
	if answer == nil {
		answer = &model.Answer{}
	}
	return wire.Marshal(actionResult{Events: events(req, answer), Responses: botResponses(answer)})
}

func botResponses(answer *model.Answer) []any {
	responses := make([]any, 0, len(answer.Messages)+2)
	if len(answer.Messages) == 0 && answer.Text != "" {
		responses = append(responses, botResponse{Text: answer.Text})
	}
	for i := range answer.Messages {
		if response := responseOf(&answer.Messages[i]); response != nil {
			responses = append(responses, response)
		}
	}
	if len(answer.Payload) > 0 {
		responses = append(responses, botResponse{Custom: answer.Payload})
	}
	return responses
}

// responseOf is the response of one message, or nil for a message of a kind Rasa has no response for.
func responseOf(message *model.Message) any {
	switch {
	case message.Image != nil:
		return botResponse{Image: message.Image.URL}
	case message.Card != nil:
		return cardResponse(message.Card)
	case message.QuickReplies != nil:
		return quickRepliesResponse(message.QuickReplies)
	case message.Response != nil:
		return responseTemplate(message.Response)
	case message.Text != "" || len(message.Payload) > 0:
		return botResponse{Text: message.Text, Custom: message.Payload}
	}
	return nil
}

// cardResponse is a card as one Rasa response: the title and subtitle on two lines of text, the picture and
// the buttons, each sending its postback.
func cardResponse(card *model.Card) botResponse {
	text := card.Title
	if card.Subtitle != "" {
		text += "\n" + card.Subtitle
	}
	buttons := make([]button, len(card.Buttons))
	for i, b := range card.Buttons {
		buttons[i] = button{Title: b.Text, Payload: b.Postback}
	}
	return botResponse{Text: text, Image: card.ImageURL, Buttons: buttons}
}

// quickRepliesResponse is the title with a button per reply, each sending its own text.
func quickRepliesResponse(replies *model.QuickReplies) botResponse {
	buttons := make([]button, len(replies.Replies))
	for i, reply := range replies.Replies {
		buttons[i] = button{Title: reply, Payload: reply}
	}
	return botResponse{Text: replies.Title, Buttons: buttons}
}

func responseTemplate(template *model.ResponseTemplate) templateResponse {
	response := make(templateResponse, len(template.Variables)+1)
	for name, value := range template.Variables {
		if !slices.Contains(responseKeys, name) {
			response[name] = value
		}
	}
	response["response"] = template.Name
	return response
}

// slotValues are the slots the answer sets: the form parameters' verdicts on the slots the request validates,
// then the answer's parameters. A parameter wins over a form parameter of the same slot: it names the slot's
// value outright, whatever the candidate was.
func slotValues(req *model.Request, answer *model.Answer) map[string]any {
	if len(answer.FormParameters) == 0 {
		return answer.Parameters
	}
	validating := req.Views().SlotsToValidate
	values := make(map[string]any, len(answer.FormParameters)+len(answer.Parameters))
	for _, parameter := range answer.FormParameters {
		if candidate, ok := validating[parameter.Name]; ok {
			values[parameter.Name] = verdict(parameter, candidate)
		}
	}
	maps.Copy(values, answer.Parameters)
	return values
}

// verdict is the value a validated slot takes, as rasa-sdk's FormValidationAction sets it: null when rejected
// (the form asks for it again), the new value when there is one, else the candidate itself.
func verdict(parameter model.FormParameter, candidate any) any {
	switch {
	case parameter.Invalid:
		return nil
	case parameter.HasValue:
		return parameter.Value
	}
	return candidate
}

func slotEvents(values map[string]any) []slotEvent {
	events := make([]slotEvent, 0, len(values))
	for name, value := range values {
		events = append(events, slotEvent{eventHead: eventHead{Event: "slot"}, Name: name, Value: value})
	}
	// Sorted so that the same answer gives the same bytes, and Rasa applies the slots in a known order.
	slices.SortFunc(events, func(a, b slotEvent) int { return strings.Compare(a.Name, b.Name) })
	return events
}
