package generic

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/wireformat"
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

// encodeAnswer writes the answer as it is: Text as fulfillmentText, the session parameters (a nil value as null,
// for the sender to delete), the payload and the messages; in JSON, or in the same shape as XML (a <response>
// document) or form fields (the wireformat package says how values map).
func encodeAnswer(answer *model.Answer, format answerFormat) ([]byte, error) {
	if answer == nil {
		answer = &model.Answer{}
	}
	r := response{
		FulfillmentText: answer.Text,
		Parameters:      answer.Parameters,
		Payload:         answer.Payload,
		Messages:        messages(answer.Messages),
	}
	switch format {
	case xmlAnswer, textXMLAnswer:
		return wireformat.EncodeXML("response", r.object())
	case formAnswer:
		return wireformat.EncodeForm(r.object())
	}
	return wire.Marshal(r)
}

// object is the response as the JSON encoding would read back: empty parts left out.
func (r *response) object() map[string]any {
	object := map[string]any{}
	if r.FulfillmentText != "" {
		object["fulfillmentText"] = r.FulfillmentText
	}
	if len(r.Parameters) > 0 {
		object["parameters"] = r.Parameters
	}
	if len(r.Payload) > 0 {
		object["payload"] = r.Payload
	}
	if len(r.Messages) > 0 {
		list := make([]any, len(r.Messages))
		for i, m := range r.Messages {
			item := map[string]any{}
			if m.Text != "" {
				item["text"] = m.Text
			}
			if len(m.Payload) > 0 {
				item["payload"] = m.Payload
			}
			list[i] = item
		}
		// One <messages> holding a <message> each, so that a reader finds the list under one name.
		object["messages"] = map[string]any{"message": list}
	}
	return object
}

// encodeError is the server's error {"error":{"code":...,"message":...}} in format: <error><code>..</code>
// <message>..</message></error> in XML, error.code and error.message as form fields.
func encodeError(code, message string, format answerFormat) []byte {
	fields := map[string]any{"code": code, "message": message}
	var body []byte
	switch format {
	case xmlAnswer, textXMLAnswer:
		body, _ = wireformat.EncodeXML("error", fields) // strings only: it cannot fail
	case formAnswer:
		body, _ = wireformat.EncodeForm(map[string]any{"error": fields})
	default:
		body, _ = wire.Marshal(map[string]any{"error": fields})
	}
	return body
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
