package cx_test

import (
	"testing"

	"cloud.google.com/go/dialogflow/cx/apiv3/cxpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// TestEncodeEveryMessageKind writes each ResponseMessage kind a webhook may send and decodes the answer strictly
// with Dialogflow CX's own types.
func TestEncodeEveryMessageKind(t *testing.T) {
	req := decodeFixture(t)
	metadata := map[string]any{"queue": "billing", "priority": 2.0}
	tests := map[string]struct {
		message model.Message
		want    *cxpb.ResponseMessage
	}{
		"text": {model.Message{Text: "Hello"}, textMessage("Hello")},
		"payload": {model.Message{Payload: map[string]any{"richContent": []any{}}},
			payloadMessage(t, map[string]any{"richContent": []any{}})},
		"conversationSuccess with metadata": {model.Message{ConversationSuccess: &model.Metadata{Metadata: metadata}},
			&cxpb.ResponseMessage{Message: &cxpb.ResponseMessage_ConversationSuccess_{
				ConversationSuccess: &cxpb.ResponseMessage_ConversationSuccess{Metadata: mustStruct(t, metadata)}}}},
		"conversationSuccess without metadata": {model.Message{ConversationSuccess: &model.Metadata{}},
			&cxpb.ResponseMessage{Message: &cxpb.ResponseMessage_ConversationSuccess_{
				ConversationSuccess: &cxpb.ResponseMessage_ConversationSuccess{}}}},
		"liveAgentHandoff with metadata": {model.Message{LiveAgentHandoff: &model.Metadata{Metadata: metadata}},
			&cxpb.ResponseMessage{Message: &cxpb.ResponseMessage_LiveAgentHandoff_{
				LiveAgentHandoff: &cxpb.ResponseMessage_LiveAgentHandoff{Metadata: mustStruct(t, metadata)}}}},
		"outputAudioText text": {model.Message{OutputAudioText: &model.AudioText{Text: "Your order shipped."}},
			audioMessage(&cxpb.ResponseMessage_OutputAudioText{Source: &cxpb.ResponseMessage_OutputAudioText_Text{
				Text: "Your order shipped."}})},
		"outputAudioText ssml": {model.Message{OutputAudioText: &model.AudioText{SSML: "<speak>Tom &amp; Jerry</speak>"}},
			audioMessage(&cxpb.ResponseMessage_OutputAudioText{Source: &cxpb.ResponseMessage_OutputAudioText_Ssml{
				Ssml: "<speak>Tom &amp; Jerry</speak>"}})},
		"outputAudioText with both: ssml wins": {model.Message{OutputAudioText: &model.AudioText{Text: "t", SSML: "<speak>s</speak>"}},
			audioMessage(&cxpb.ResponseMessage_OutputAudioText{Source: &cxpb.ResponseMessage_OutputAudioText_Ssml{
				Ssml: "<speak>s</speak>"}})},
		"playAudio": {model.Message{PlayAudio: &model.PlayAudio{AudioURI: "gs://bucket/chime.wav"}},
			&cxpb.ResponseMessage{Message: &cxpb.ResponseMessage_PlayAudio_{
				PlayAudio: &cxpb.ResponseMessage_PlayAudio{AudioUri: "gs://bucket/chime.wav"}}}},
		"telephonyTransferCall phone": {model.Message{TelephonyTransferCall: &model.TransferCall{PhoneNumber: "+15551234567"}},
			&cxpb.ResponseMessage{Message: &cxpb.ResponseMessage_TelephonyTransferCall_{
				TelephonyTransferCall: &cxpb.ResponseMessage_TelephonyTransferCall{
					Endpoint: &cxpb.ResponseMessage_TelephonyTransferCall_PhoneNumber{PhoneNumber: "+15551234567"}}}}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body, err := req.Encode(&model.Answer{Text: "not sent: there are messages", Messages: []model.Message{tt.message}})
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			want := fulfillment(0, tt.want)
			if got := decodeStrict(t, body); !proto.Equal(got, want) {
				t.Errorf("Encode:\n got %s\nwant %s", body, protojson.Format(want))
			}
		})
	}
}

// A message of kinds CX has no message for, or empty, writes nothing; the answer-level handoff comes last.
func TestEncodeMessagesInOrderWithHandoffLast(t *testing.T) {
	body, err := decodeFixture(t).Encode(&model.Answer{LiveAgentHandoff: true, Messages: []model.Message{
		{Image: &model.Image{URL: "https://example.com/i.png"}},
		{OutputAudioText: &model.AudioText{}},
		{Text: "one"},
		{PlayAudio: &model.PlayAudio{AudioURI: "gs://b/a.wav"}},
		{LiveAgentHandoff: &model.Metadata{Metadata: map[string]any{"queue": "vip"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := fulfillment(0,
		textMessage("one"),
		&cxpb.ResponseMessage{Message: &cxpb.ResponseMessage_PlayAudio_{PlayAudio: &cxpb.ResponseMessage_PlayAudio{AudioUri: "gs://b/a.wav"}}},
		&cxpb.ResponseMessage{Message: &cxpb.ResponseMessage_LiveAgentHandoff_{LiveAgentHandoff: &cxpb.ResponseMessage_LiveAgentHandoff{
			Metadata: mustStruct(t, map[string]any{"queue": "vip"})}}},
		&cxpb.ResponseMessage{Message: &cxpb.ResponseMessage_LiveAgentHandoff_{LiveAgentHandoff: &cxpb.ResponseMessage_LiveAgentHandoff{}}})
	if got := decodeStrict(t, body); !proto.Equal(got, want) {
		t.Errorf("Encode:\n got %s\nwant %s", body, protojson.Format(want))
	}
}

func audioMessage(audio *cxpb.ResponseMessage_OutputAudioText) *cxpb.ResponseMessage {
	return &cxpb.ResponseMessage{Message: &cxpb.ResponseMessage_OutputAudioText_{OutputAudioText: audio}}
}
