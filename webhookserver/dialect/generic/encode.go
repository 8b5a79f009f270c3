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

// message is one rich message: text and payload (unlike Dialogflow's, together if need be), or an image, a card
// or quick replies.
type message struct {
	Text         string         `json:"text,omitempty"`
	Payload      map[string]any `json:"payload,omitempty"`
	Image        *image         `json:"image,omitempty"`
	Card         *card          `json:"card,omitempty"`
	QuickReplies *quickReplies  `json:"quickReplies,omitempty"`
}

type image struct {
	URL               string `json:"url"`
	AccessibilityText string `json:"accessibilityText,omitempty"`
}

type card struct {
	Title    string   `json:"title"`
	Subtitle string   `json:"subtitle,omitempty"`
	ImageURL string   `json:"imageURL,omitempty"`
	Buttons  []button `json:"buttons,omitempty"`
}

// button is a card's button; postback is what tapping it sends (its text when the route set none).
type button struct {
	Text     string `json:"text"`
	Postback string `json:"postback"`
}

type quickReplies struct {
	Title   string   `json:"title,omitempty"`
	Replies []string `json:"replies"`
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
			list[i] = m.object()
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
	for i := range from {
		if m, ok := messageOf(&from[i]); ok {
			to = append(to, m)
		}
	}
	return to
}

// messageOf is the Generic message of m, and false for a message of a kind Generic has not (Dialogflow CX's,
// Rasa's response templates).
func messageOf(m *model.Message) (message, bool) {
	switch {
	case m.Image != nil:
		return message{Image: &image{URL: m.Image.URL, AccessibilityText: m.Image.AccessibilityText}}, true
	case m.Card != nil:
		buttons := make([]button, len(m.Card.Buttons))
		for i, b := range m.Card.Buttons {
			buttons[i] = button{Text: b.Text, Postback: b.Postback}
		}
		return message{Card: &card{Title: m.Card.Title, Subtitle: m.Card.Subtitle, ImageURL: m.Card.ImageURL,
			Buttons: buttons}}, true
	case m.QuickReplies != nil:
		return message{QuickReplies: &quickReplies{Title: m.QuickReplies.Title, Replies: m.QuickReplies.Replies}}, true
	case m.Text != "" || len(m.Payload) > 0:
		return message{Text: m.Text, Payload: m.Payload}, true
	}
	return message{}, false
}

// object is the message as its JSON encoding reads back, for the XML and form answers.
func (m *message) object() map[string]any {
	item := map[string]any{}
	if m.Text != "" {
		item["text"] = m.Text
	}
	if len(m.Payload) > 0 {
		item["payload"] = m.Payload
	}
	if m.Image != nil {
		item["image"] = omitEmpty(map[string]any{"url": m.Image.URL, "accessibilityText": m.Image.AccessibilityText})
	}
	if c := m.Card; c != nil {
		buttons := make([]any, len(c.Buttons))
		for i, b := range c.Buttons {
			buttons[i] = map[string]any{"text": b.Text, "postback": b.Postback}
		}
		item["card"] = omitEmpty(map[string]any{"title": c.Title, "subtitle": c.Subtitle, "imageURL": c.ImageURL,
			"buttons": buttons})
	}
	if q := m.QuickReplies; q != nil {
		replies := make([]any, len(q.Replies))
		for i, reply := range q.Replies {
			replies[i] = reply
		}
		item["quickReplies"] = omitEmpty(map[string]any{"title": q.Title, "replies": replies})
	}
	return item
}

// omitEmpty leaves out the empty strings and lists of fields, as the JSON encoding does.
func omitEmpty(fields map[string]any) map[string]any {
	for name, value := range fields {
		switch v := value.(type) {
		case string:
			if v == "" {
				delete(fields, name)
			}
		case []any:
			if len(v) == 0 {
				delete(fields, name)
			}
		}
	}
	return fields
}
