package es

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// platformActionsOnGoogle is the integration that renders only the Actions on Google kinds of Intent.Message.
const platformActionsOnGoogle = "ACTIONS_ON_GOOGLE"

// intentMessage is google.cloud.dialogflow.v2.Intent.Message: exactly one of its kinds is set, and Platform
// names the integration it is for ("" for all of them: PLATFORM_UNSPECIFIED).
type intentMessage struct {
	Text         dialogflow.Text `json:"text,omitzero"`
	Image        *image          `json:"image,omitempty"`
	QuickReplies *quickReplies   `json:"quickReplies,omitempty"`
	Card         *card           `json:"card,omitempty"`
	Payload      map[string]any  `json:"payload,omitempty"`
	// The Actions on Google kinds.
	SimpleResponses *simpleResponses `json:"simpleResponses,omitempty"`
	BasicCard       *basicCard       `json:"basicCard,omitempty"`
	Suggestions     *suggestions     `json:"suggestions,omitempty"`
	Platform        string           `json:"platform,omitempty"`
}

// image is Intent.Message.Image, also the image of a basic card.
type image struct {
	ImageURI          string `json:"imageUri,omitempty"`
	AccessibilityText string `json:"accessibilityText,omitempty"`
}

// quickReplies is Intent.Message.QuickReplies.
type quickReplies struct {
	Title        string   `json:"title,omitempty"`
	QuickReplies []string `json:"quickReplies,omitempty"`
}

// card is Intent.Message.Card.
type card struct {
	Title    string       `json:"title,omitempty"`
	Subtitle string       `json:"subtitle,omitempty"`
	ImageURI string       `json:"imageUri,omitempty"`
	Buttons  []cardButton `json:"buttons,omitempty"`
}

// cardButton is Intent.Message.Card.Button.
type cardButton struct {
	Text     string `json:"text,omitempty"`
	Postback string `json:"postback,omitempty"`
}

// simpleResponses is Intent.Message.SimpleResponses, with the one response a text message makes.
type simpleResponses struct {
	SimpleResponses []simpleResponse `json:"simpleResponses"`
}

// simpleResponse is Intent.Message.SimpleResponse: Actions on Google speaks TextToSpeech and shows it too.
type simpleResponse struct {
	TextToSpeech string `json:"textToSpeech"`
}

// basicCard is Intent.Message.BasicCard.
type basicCard struct {
	Title    string            `json:"title,omitempty"`
	Subtitle string            `json:"subtitle,omitempty"`
	Image    *image            `json:"image,omitempty"`
	Buttons  []basicCardButton `json:"buttons,omitempty"`
}

// basicCardButton is Intent.Message.BasicCard.Button: a link, the only kind of button a basic card has.
type basicCardButton struct {
	Title         string        `json:"title"`
	OpenURIAction openURIAction `json:"openUriAction"`
}

// openURIAction is Intent.Message.BasicCard.Button.OpenUriAction.
type openURIAction struct {
	URI string `json:"uri"`
}

// suggestions is Intent.Message.Suggestions: Actions on Google's suggestion chips.
type suggestions struct {
	Suggestions []suggestion `json:"suggestions"`
}

// suggestion is Intent.Message.Suggestion.
type suggestion struct {
	Title string `json:"title"`
}

// intentMessages turns the answer into fulfillment messages: its messages in order or, when it has none, its Text
// as the one message. A model message of several kinds becomes one message per kind (text, image, card, quick
// replies, payload), since one Intent.Message holds one; the kinds ES has no place for (CX's, Rasa's) are left out.
// A message for Actions on Google becomes the Actions on Google kinds, the only ones that integration renders.
func intentMessages(answer *model.Answer) ([]intentMessage, error) {
	if len(answer.Messages) == 0 {
		if answer.Text == "" {
			return nil, nil
		}
		return []intentMessage{{Text: textOf(answer.Text)}}, nil
	}
	messages := make([]intentMessage, 0, len(answer.Messages))
	for i := range answer.Messages {
		var err error
		if answer.Messages[i].Platform == platformActionsOnGoogle {
			messages, err = appendActionsOnGoogle(messages, &answer.Messages[i], i)
		} else {
			messages = appendGeneric(messages, &answer.Messages[i])
		}
		if err != nil {
			return nil, err
		}
	}
	if len(messages) == 0 {
		return nil, nil
	}
	return messages, nil
}

func textOf(text string) dialogflow.Text { return dialogflow.Text{Text: [1]string{text}} }

// appendGeneric appends the generic kinds of m, which every integration but Actions on Google renders.
func appendGeneric(messages []intentMessage, m *model.Message) []intentMessage {
	if m.Text != "" {
		messages = append(messages, intentMessage{Text: textOf(m.Text), Platform: m.Platform})
	}
	if m.Image != nil {
		messages = append(messages, intentMessage{Image: imageOf(m.Image), Platform: m.Platform})
	}
	if c := m.Card; c != nil {
		buttons := make([]cardButton, len(c.Buttons))
		for i, b := range c.Buttons {
			buttons[i] = cardButton{Text: b.Text, Postback: b.Postback}
		}
		messages = append(messages, intentMessage{Platform: m.Platform, Card: &card{
			Title: c.Title, Subtitle: c.Subtitle, ImageURI: c.ImageURL, Buttons: buttons}})
	}
	if q := m.QuickReplies; q != nil {
		messages = append(messages, intentMessage{Platform: m.Platform,
			QuickReplies: &quickReplies{Title: q.Title, QuickReplies: q.Replies}})
	}
	if len(m.Payload) > 0 {
		messages = append(messages, intentMessage{Payload: m.Payload, Platform: m.Platform})
	}
	return messages
}

func imageOf(i *model.Image) *image {
	return &image{ImageURI: i.URL, AccessibilityText: i.AccessibilityText}
}

// appendActionsOnGoogle appends m (the index-th message) as the Dialogflow console's Google Assistant tab writes
// it: text as a simple response, an image or a card as a basic card, quick replies as suggestion chips. A basic
// card's buttons can only open a URL, so a card button whose postback is not an http(s) URL is an EncodeError:
// dropping it would show a card without the button the route asked for, and the fallback says what went wrong.
func appendActionsOnGoogle(messages []intentMessage, m *model.Message, index int) ([]intentMessage, error) {
	if m.Text != "" {
		messages = append(messages, intentMessage{Platform: m.Platform,
			SimpleResponses: &simpleResponses{SimpleResponses: []simpleResponse{{TextToSpeech: m.Text}}}})
	}
	if m.Image != nil {
		messages = append(messages, intentMessage{Platform: m.Platform, BasicCard: &basicCard{Image: imageOf(m.Image)}})
	}
	if c := m.Card; c != nil {
		bc := &basicCard{Title: c.Title, Subtitle: c.Subtitle}
		if c.ImageURL != "" {
			bc.Image = &image{ImageURI: c.ImageURL}
		}
		for j, b := range c.Buttons {
			if !isWebURL(b.Postback) {
				return nil, &dialect.EncodeError{Message: fmt.Sprintf("messages[%d].card.buttons[%d] (%q) is for "+
					"ACTIONS_ON_GOOGLE, whose card buttons can only open an http(s) URL, but its postback is %q; "+
					"offer replies to tap as quickReplies", index, j, b.Text, b.Postback)}
			}
			bc.Buttons = append(bc.Buttons, basicCardButton{Title: b.Text, OpenURIAction: openURIAction{URI: b.Postback}})
		}
		messages = append(messages, intentMessage{Platform: m.Platform, BasicCard: bc})
	}
	if q := m.QuickReplies; q != nil {
		chips := make([]suggestion, len(q.Replies))
		for i, reply := range q.Replies {
			chips[i] = suggestion{Title: reply}
		}
		messages = append(messages, intentMessage{Platform: m.Platform, Suggestions: &suggestions{Suggestions: chips}})
	}
	if len(m.Payload) > 0 {
		messages = append(messages, intentMessage{Payload: m.Payload, Platform: m.Platform})
	}
	return messages, nil
}

// isWebURL says whether s is an absolute http or https URL with a host.
func isWebURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme == "http" || scheme == "https"
}

// WriteJSON writes m as encoding/json would (see wire.JSONWriter).
func (m intentMessage) WriteJSON(w *wire.Writer) {
	w.Open('{')
	if m.Text != (dialogflow.Text{}) { // omitzero
		w.Key("text")
		w.Open('{')
		w.Key("text")
		w.Open('[')
		w.String(m.Text.Text[0])
		w.Close(']')
		w.Close('}')
	}
	if m.Image != nil {
		w.Key("image")
		m.Image.WriteJSON(w)
	}
	if q := m.QuickReplies; q != nil {
		w.Key("quickReplies")
		w.Open('{')
		writeString(w, "title", q.Title)
		writeStringList(w, "quickReplies", q.QuickReplies)
		w.Close('}')
	}
	if c := m.Card; c != nil {
		w.Key("card")
		c.WriteJSON(w)
	}
	if len(m.Payload) > 0 {
		w.Key("payload")
		w.Value(m.Payload)
	}
	m.writeActionsOnGoogle(w)
	writeString(w, "platform", m.Platform)
	w.Close('}')
}

// writeActionsOnGoogle writes the Actions on Google kinds that are set.
func (m intentMessage) writeActionsOnGoogle(w *wire.Writer) {
	if s := m.SimpleResponses; s != nil {
		writeWrappedList(w, "simpleResponses", "textToSpeech", s.SimpleResponses,
			func(r simpleResponse) string { return r.TextToSpeech })
	}
	if c := m.BasicCard; c != nil {
		w.Key("basicCard")
		c.WriteJSON(w)
	}
	if s := m.Suggestions; s != nil {
		writeWrappedList(w, "suggestions", "title", s.Suggestions, func(s suggestion) string { return s.Title })
	}
}

// writeWrappedList writes `"key": {"key": [{"field": value}, ...]}`, the shape of the Actions on Google lists.
func writeWrappedList[T any](w *wire.Writer, key, field string, items []T, value func(T) string) {
	w.Key(key)
	w.Open('{')
	w.Key(key)
	writeList(w, items, func(item T) {
		w.Open('{')
		w.Key(field)
		w.String(value(item))
		w.Close('}')
	})
	w.Close('}')
}

// WriteJSON writes i as encoding/json would.
func (i *image) WriteJSON(w *wire.Writer) {
	w.Open('{')
	writeString(w, "imageUri", i.ImageURI)
	writeString(w, "accessibilityText", i.AccessibilityText)
	w.Close('}')
}

// WriteJSON writes c as encoding/json would.
func (c *card) WriteJSON(w *wire.Writer) {
	w.Open('{')
	writeString(w, "title", c.Title)
	writeString(w, "subtitle", c.Subtitle)
	writeString(w, "imageUri", c.ImageURI)
	if len(c.Buttons) > 0 {
		w.Key("buttons")
		writeList(w, c.Buttons, func(b cardButton) {
			w.Open('{')
			writeString(w, "text", b.Text)
			writeString(w, "postback", b.Postback)
			w.Close('}')
		})
	}
	w.Close('}')
}

// WriteJSON writes c as encoding/json would.
func (c *basicCard) WriteJSON(w *wire.Writer) {
	w.Open('{')
	writeString(w, "title", c.Title)
	writeString(w, "subtitle", c.Subtitle)
	if c.Image != nil {
		w.Key("image")
		c.Image.WriteJSON(w)
	}
	if len(c.Buttons) > 0 {
		w.Key("buttons")
		writeList(w, c.Buttons, func(b basicCardButton) {
			w.Open('{')
			w.Key("title")
			w.String(b.Title)
			w.Key("openUriAction")
			w.Open('{')
			w.Key("uri")
			w.String(b.OpenURIAction.URI)
			w.Close('}')
			w.Close('}')
		})
	}
	w.Close('}')
}

// writeString writes a string field tagged omitempty.
func writeString(w *wire.Writer, key, s string) {
	if s != "" {
		w.Key(key)
		w.String(s)
	}
}

// writeStringList writes a []string field tagged omitempty.
func writeStringList(w *wire.Writer, key string, strings []string) {
	if len(strings) > 0 {
		w.Key(key)
		writeList(w, strings, w.String)
	}
}

// writeList writes items as a JSON array (null for a nil slice, as encoding/json does), each with write.
func writeList[T any](w *wire.Writer, items []T, write func(T)) {
	if items == nil {
		w.Value(nil)
		return
	}
	w.Open('[')
	for _, item := range items {
		w.Next()
		write(item)
	}
	w.Close(']')
}
