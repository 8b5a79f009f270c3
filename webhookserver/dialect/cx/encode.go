package cx

import (
	"fmt"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// webhookResponse is google.cloud.dialogflow.cx.v3.WebhookResponse, only the fields we write.
type webhookResponse struct {
	FulfillmentResponse fulfillmentResponse `json:"fulfillmentResponse,omitzero"`
	SessionInfo         sessionInfo         `json:"sessionInfo,omitzero"`
	Payload             map[string]any      `json:"payload,omitempty"`
	TargetPage          string              `json:"targetPage,omitempty"`
	TargetFlow          string              `json:"targetFlow,omitempty"`
}

// fulfillmentResponse is google.cloud.dialogflow.cx.v3.WebhookResponse.FulfillmentResponse.
type fulfillmentResponse struct {
	Messages      []dialogflow.Message `json:"messages,omitempty"`
	MergeBehavior string               `json:"mergeBehavior,omitempty"`
}

// sessionInfo is google.cloud.dialogflow.cx.v3.SessionInfo. A null parameter value deletes the parameter.
type sessionInfo struct {
	Parameters map[string]any `json:"parameters,omitempty"`
}

// EncodeAnswer writes a WebhookResponse: the messages (Text as the one message when there are no others, then a
// live agent handoff when the answer asks for one) with the merge behavior, the session parameters (nil deletes one), the payload and the target page or flow. An answer
// over 64 KiB, with both targets, an unknown merge behavior, or that JSON cannot hold is a *dialect.EncodeError.
func (answers) EncodeAnswer(answer *model.Answer) ([]byte, error) {
	if answer == nil {
		answer = &model.Answer{}
	}
	if answer.TargetPage != "" && answer.TargetFlow != "" {
		return nil, &dialect.EncodeError{
			Message: "the answer sets both a target page and a target flow; Dialogflow CX takes one of them"}
	}
	mergeBehavior, err := mergeBehaviorEnum(answer.MergeBehavior)
	if err != nil {
		return nil, err
	}
	messages := dialogflow.Messages(answer)
	if answer.LiveAgentHandoff {
		messages = append(messages, dialogflow.Message{LiveAgentHandoff: &dialogflow.LiveAgentHandoff{}})
	}
	response := webhookResponse{
		FulfillmentResponse: fulfillmentResponse{Messages: messages, MergeBehavior: mergeBehavior},
		Payload:             answer.Payload,
		TargetPage:          answer.TargetPage,
		TargetFlow:          answer.TargetFlow,
	}
	if len(answer.Parameters) > 0 {
		response.SessionInfo.Parameters = answer.Parameters
	}
	return dialogflow.MarshalResponse(response)
}

// mergeBehaviorEnum maps the API's "Append"/"Replace" to the enum's JSON names; "" leaves the field out, which
// Dialogflow treats as APPEND.
func mergeBehaviorEnum(mergeBehavior string) (string, error) {
	switch {
	case mergeBehavior == "":
		return "", nil
	case strings.EqualFold(mergeBehavior, "Append"):
		return "APPEND", nil
	case strings.EqualFold(mergeBehavior, "Replace"):
		return "REPLACE", nil
	}
	return "", &dialect.EncodeError{Message: fmt.Sprintf("unknown merge behavior %q; want Append or Replace", mergeBehavior)}
}
