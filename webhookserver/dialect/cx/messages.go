package cx

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// responseMessage is google.cloud.dialogflow.cx.v3.ResponseMessage. Its content is a oneof: exactly one field
// is set.
//
// mixedAudio and endInteraction are not here: both are output-only, Dialogflow writes them for its own clients.
// A webhook asks for audio with playAudio (Dialogflow mixes it with synthesized speech into mixedAudio) and ends
// the session by moving to the flow's END_SESSION page (endSessionPage).
type responseMessage struct {
	Text                  dialogflow.Text        `json:"text,omitzero"`
	Payload               map[string]any         `json:"payload,omitempty"`
	ConversationSuccess   *metadataMessage       `json:"conversationSuccess,omitempty"`
	OutputAudioText       *outputAudioText       `json:"outputAudioText,omitempty"`
	LiveAgentHandoff      *metadataMessage       `json:"liveAgentHandoff,omitempty"`
	PlayAudio             *playAudio             `json:"playAudio,omitempty"`
	TelephonyTransferCall *telephonyTransferCall `json:"telephonyTransferCall,omitempty"`
}

// metadataMessage is ResponseMessage.ConversationSuccess or ResponseMessage.LiveAgentHandoff: metadata that
// Dialogflow passes to the integration as it is.
type metadataMessage struct {
	Metadata map[string]any `json:"metadata,omitempty"`
}

// outputAudioText is ResponseMessage.OutputAudioText: a oneof of text and ssml.
type outputAudioText struct {
	Text string `json:"text,omitempty"`
	SSML string `json:"ssml,omitempty"`
}

// playAudio is ResponseMessage.PlayAudio.
type playAudio struct {
	AudioURI string `json:"audioUri"`
}

// telephonyTransferCall is ResponseMessage.TelephonyTransferCall. Its endpoint oneof has a phone number only:
// API v3 has no SIP URI (v2beta1's Dialogflow ES messages have one).
type telephonyTransferCall struct {
	PhoneNumber string `json:"phoneNumber"`
}

// errNoTransferNumber refuses a transfer whose phoneNumber template rendered empty: Dialogflow CX refuses a
// transfer without a number, and dropping the transfer would leave the caller on a line that goes nowhere.
var errNoTransferNumber = &dialect.EncodeError{Message: "telephonyTransferCall.phoneNumber rendered empty: " +
	"give the template a value in E.164 format for every request, for example +15551234567"}

// responseMessages turns the answer into CX messages: its Messages in order or, when it has none, its Text as
// the one message; then a live agent handoff when the answer asks for one. A model message with several kinds
// becomes one CX message per kind (text first), since one CX message holds one; an empty one is left out, and so
// are kinds CX has no message for (images, cards, quick replies, Rasa responses), which the operator refuses for
// this dialect anyway. A transfer without a number is errNoTransferNumber.
func responseMessages(answer *model.Answer) ([]responseMessage, error) {
	var messages []responseMessage
	if len(answer.Messages) == 0 && answer.Text != "" {
		messages = append(messages, responseMessage{Text: dialogflow.Text{Text: [1]string{answer.Text}}})
	}
	for i := range answer.Messages {
		var err error
		if messages, err = appendMessage(messages, &answer.Messages[i]); err != nil {
			return nil, err
		}
	}
	if answer.LiveAgentHandoff {
		messages = append(messages, responseMessage{LiveAgentHandoff: &metadataMessage{}})
	}
	return messages, nil
}

// appendMessage appends the CX messages of one model message, one per kind it sets.
func appendMessage(messages []responseMessage, m *model.Message) ([]responseMessage, error) {
	if m.Text != "" {
		messages = append(messages, responseMessage{Text: dialogflow.Text{Text: [1]string{m.Text}}})
	}
	if len(m.Payload) > 0 {
		messages = append(messages, responseMessage{Payload: m.Payload})
	}
	if audio := audioText(m.OutputAudioText); audio != nil {
		messages = append(messages, responseMessage{OutputAudioText: audio})
	}
	if m.PlayAudio != nil && m.PlayAudio.AudioURI != "" {
		messages = append(messages, responseMessage{PlayAudio: &playAudio{AudioURI: m.PlayAudio.AudioURI}})
	}
	if transfer := m.TelephonyTransferCall; transfer != nil {
		if transfer.PhoneNumber == "" {
			return nil, errNoTransferNumber
		}
		messages = append(messages, responseMessage{TelephonyTransferCall: &telephonyTransferCall{transfer.PhoneNumber}})
	}
	if m.ConversationSuccess != nil {
		messages = append(messages, responseMessage{ConversationSuccess: &metadataMessage{m.ConversationSuccess.Metadata}})
	}
	if m.LiveAgentHandoff != nil {
		messages = append(messages, responseMessage{LiveAgentHandoff: &metadataMessage{m.LiveAgentHandoff.Metadata}})
	}
	return messages, nil
}

// audioText is the outputAudioText of a, nil when it says nothing. The API takes text or SSML; should both be
// set, SSML wins, as two members of one oneof would make Dialogflow refuse the whole answer.
func audioText(a *model.AudioText) *outputAudioText {
	switch {
	case a == nil:
		return nil
	case a.SSML != "":
		return &outputAudioText{SSML: a.SSML}
	case a.Text != "":
		return &outputAudioText{Text: a.Text}
	}
	return nil
}
