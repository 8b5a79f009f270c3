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
	PageInfo            *pageInfo           `json:"pageInfo,omitempty"`
	SessionInfo         sessionInfo         `json:"sessionInfo,omitzero"`
	Payload             map[string]any      `json:"payload,omitempty"`
	TargetPage          string              `json:"targetPage,omitempty"`
	TargetFlow          string              `json:"targetFlow,omitempty"`
}

// fulfillmentResponse is google.cloud.dialogflow.cx.v3.WebhookResponse.FulfillmentResponse.
type fulfillmentResponse struct {
	Messages      []responseMessage `json:"messages,omitempty"`
	MergeBehavior string            `json:"mergeBehavior,omitempty"`
}

// sessionInfo is google.cloud.dialogflow.cx.v3.SessionInfo. A null parameter value deletes the parameter.
type sessionInfo struct {
	Parameters map[string]any `json:"parameters,omitempty"`
}

// EndSessionPage is the page id of the special page that ends a Dialogflow CX session, in every flow.
const EndSessionPage = "END_SESSION"

// encode writes a WebhookResponse to req: the messages (responseMessages) with the merge behavior, the form
// parameters' verdicts, the session parameters (nil deletes one; the route's own win over the form's), the
// payload and the target page or flow, which is the current flow's END_SESSION page when the answer ends the
// interaction. An answer over 64 KiB, with both targets, a call transfer to a SIP URI, an unknown merge behavior, that ends the interaction of
// a request without a current page or together with a target, or that JSON cannot hold is a *dialect.EncodeError.
func encode(req *model.Request, answer *model.Answer) ([]byte, error) {
	if answer == nil {
		answer = &model.Answer{}
	}
	mergeBehavior, err := mergeBehaviorEnum(answer.MergeBehavior)
	if err != nil {
		return nil, err
	}
	targetPage, err := target(req, answer)
	if err != nil {
		return nil, err
	}
	messages, err := responseMessages(answer)
	if err != nil {
		return nil, err
	}
	response := webhookResponse{
		FulfillmentResponse: fulfillmentResponse{Messages: messages, MergeBehavior: mergeBehavior},
		Payload:             answer.Payload,
		TargetPage:          targetPage,
		TargetFlow:          answer.TargetFlow,
	}
	var formParameters map[string]any
	if len(answer.FormParameters) > 0 {
		response.PageInfo, formParameters = formVerdicts(req, answer.FormParameters)
	}
	response.SessionInfo.Parameters = sessionParameters(formParameters, answer.Parameters)
	return dialogflow.MarshalResponse(response)
}

// target is the answer's targetPage: its own, or the current flow's END_SESSION page when it ends the
// interaction, since CX's endInteraction message is output-only and a webhook ends a session by moving there.
func target(req *model.Request, answer *model.Answer) (string, error) {
	if answer.TargetPage != "" && answer.TargetFlow != "" {
		return "", &dialect.EncodeError{
			Message: "the answer sets both a target page and a target flow; Dialogflow CX takes one of them"}
	}
	if !answer.EndInteraction {
		return answer.TargetPage, nil
	}
	if answer.TargetPage != "" || answer.TargetFlow != "" {
		return "", &dialect.EncodeError{Message: "the answer ends the interaction and sets a target page or flow; " +
			"Dialogflow CX ends a session by moving to the END_SESSION page, so it takes one of them"}
	}
	currentPage, _ := requestPageInfo(req)["currentPage"].(string)
	page, ok := endSessionPage(currentPage)
	if !ok {
		return "", &dialect.EncodeError{Message: fmt.Sprintf("the answer ends the interaction, but the request's "+
			"pageInfo.currentPage %q is not a page name (projects/P/locations/L/agents/A/flows/F/pages/X) whose "+
			"flow's END_SESSION page to move to", currentPage)}
	}
	return page, nil
}

// endSessionPage is the END_SESSION page of the flow of currentPage, a page's full resource name.
func endSessionPage(currentPage string) (string, bool) {
	segments := strings.Split(currentPage, "/")
	if len(segments) != 10 {
		return "", false
	}
	for i, want := range [...]string{"projects", "locations", "agents", "flows", "pages"} {
		if segments[2*i] != want || segments[2*i+1] == "" {
			return "", false
		}
	}
	flow := strings.Join(segments[:8], "/")
	return flow + "/pages/" + EndSessionPage, true
}

// requestPageInfo is the pageInfo of the request as sent, nil when it has none: from its Views, as Decode sets
// them, or from the Body of a request made by hand.
func requestPageInfo(req *model.Request) map[string]any {
	if pageInfo := req.Views().PageInfo; pageInfo != nil {
		return pageInfo
	}
	pageInfo, _ := req.Body()["pageInfo"].(map[string]any)
	return pageInfo
}

// sessionParameters are the session parameters to write: the form parameters' then the route's own, which
// win.
func sessionParameters(form, route map[string]any) map[string]any {
	if len(form) == 0 {
		if len(route) == 0 {
			return nil
		}
		return route
	}
	for name, value := range route {
		form[name] = value
	}
	return form
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
