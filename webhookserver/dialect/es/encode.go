package es

import (
	"fmt"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// webhookResponse is google.cloud.dialogflow.v2.WebhookResponse, only the fields we write. "source" is left out:
// it only names the webhook to the API caller, and nothing here needs that.
type webhookResponse struct {
	FulfillmentText     string          `json:"fulfillmentText,omitempty"`
	FulfillmentMessages []intentMessage `json:"fulfillmentMessages,omitempty"`
	Payload             map[string]any  `json:"payload,omitempty"`
	OutputContexts      []outputContext `json:"outputContexts,omitempty"`
	FollowupEventInput  *eventInput     `json:"followupEventInput,omitempty"`
	// EndInteraction and LiveAgentHandoff are fields of google.cloud.dialogflow.v2beta1.WebhookResponse only.
	EndInteraction   bool `json:"endInteraction,omitempty"`
	LiveAgentHandoff bool `json:"liveAgentHandoff,omitempty"`
}

// outputContext is google.cloud.dialogflow.v2.Context.
type outputContext struct {
	Name          string         `json:"name"`
	LifespanCount int            `json:"lifespanCount"`
	Parameters    map[string]any `json:"parameters,omitempty"`
}

// eventInput is google.cloud.dialogflow.v2.EventInput.
type eventInput struct {
	Name         string         `json:"name"`
	Parameters   map[string]any `json:"parameters,omitempty"`
	LanguageCode string         `json:"languageCode,omitempty"`
}

// Encode writes a WebhookResponse: Text as fulfillmentText, the messages as fulfillmentMessages (Text as the one
// message when there are no others), Payload, the session parameters as the session context and the contexts
// the answer sets or ends as outputContexts, and the followup event. An answer over 64 KiB or that JSON cannot hold is a *dialect.EncodeError.
func (d *decoded) Encode(answer *model.Answer) ([]byte, error) {
	return encode(&d.request, d.envelope, answer)
}

// encode answers req, whose body's envelope is body.
func encode(req *model.Request, body wire.Object, answer *model.Answer) ([]byte, error) {
	if answer == nil {
		answer = &model.Answer{}
	}
	messages, err := intentMessages(answer)
	if err != nil {
		return nil, err
	}
	contexts, err := outputContexts(req, body, answer)
	if err != nil {
		return nil, err
	}
	response := webhookResponse{
		FulfillmentText:     answer.Text,
		FulfillmentMessages: messages,
		Payload:             answer.Payload,
		OutputContexts:      contexts,
	}
	if event := answer.FollowupEvent; event != nil {
		input, err := followupEventInput(req, event)
		if err != nil {
			return nil, err
		}
		response.FollowupEventInput = input
	}
	if answer.EndInteraction || answer.LiveAgentHandoff {
		if err := checkBetaAnswer(req, answer); err != nil {
			return nil, err
		}
		response.EndInteraction, response.LiveAgentHandoff = answer.EndInteraction, answer.LiveAgentHandoff
	}
	return dialogflow.MarshalResponse(response)
}

// checkBetaAnswer refuses the v2beta1-only fields to a caller not taken for v2beta1: a v2 agent refuses a whole
// answer with a field it does not know, so the fallback, which it can take, is better than nothing.
func checkBetaAnswer(req *model.Request, answer *model.Answer) error {
	if req.Version == V2Beta1 {
		return nil
	}
	field := "endInteraction"
	if !answer.EndInteraction {
		field = "liveAgentHandoff"
	}
	return &dialect.EncodeError{Message: fmt.Sprintf("the answer sets %s, a field of the Dialogflow ES v2beta1 "+
		"API, but the request is version %q: an agent with beta features on sends v2beta1; say so with the "+
		"endpoint's spec.versionFrom: '%q'", field, req.Version, V2Beta1)}
}

// WriteJSON writes r as encoding/json would (see wire.JSONWriter): the omitempty fields when they are not empty.
func (r webhookResponse) WriteJSON(w *wire.Writer) {
	w.Open('{')
	if r.FulfillmentText != "" {
		w.Key("fulfillmentText")
		w.String(r.FulfillmentText)
	}
	wire.WriteArray(w, "fulfillmentMessages", r.FulfillmentMessages)
	if len(r.Payload) > 0 {
		w.Key("payload")
		w.Value(r.Payload)
	}
	wire.WriteArray(w, "outputContexts", r.OutputContexts)
	if event := r.FollowupEventInput; event != nil {
		w.Key("followupEventInput")
		w.Open('{')
		w.Key("name")
		w.String(event.Name)
		writeParameters(w, event.Parameters)
		if event.LanguageCode != "" {
			w.Key("languageCode")
			w.String(event.LanguageCode)
		}
		w.Close('}')
	}
	if r.EndInteraction {
		w.Key("endInteraction")
		w.Value(true)
	}
	if r.LiveAgentHandoff {
		w.Key("liveAgentHandoff")
		w.Value(true)
	}
	w.Close('}')
}

// WriteJSON writes c as encoding/json would (see wire.JSONWriter).
func (c outputContext) WriteJSON(w *wire.Writer) {
	w.Open('{')
	w.Key("name")
	w.String(c.Name)
	w.Key("lifespanCount")
	w.Int(int64(c.LifespanCount))
	writeParameters(w, c.Parameters)
	w.Close('}')
}

// writeParameters writes a parameters field tagged omitempty.
func writeParameters(w *wire.Writer, parameters map[string]any) {
	if len(parameters) > 0 {
		w.Key("parameters")
		w.Value(parameters)
	}
}

// sessionContext writes the session parameters. An output context replaces the active context of that name,
// parameters included, so it carries the parameters stored so far with the answer's on top; otherwise setting
// one parameter would drop all the others. A nil value is sent as null: the stored value is dropped, and
// parameters that were already null are not carried on.
func sessionContext(req *model.Request, body wire.Object, parameters map[string]any) (outputContext, error) {
	if req.Session == "" {
		return outputContext{}, &dialect.EncodeError{
			Message: "cannot set session parameters: the request named no session to put the session context in"}
	}
	// The body was checked when it was decoded; a hand-made Body without contexts is fine too.
	var r wire.Reader
	stored := sessionParameters(&r, body.Object(&r, "queryResult"), false)
	return outputContext{
		Name:          req.Session + sessionContextSuffix,
		LifespanCount: sessionContextLifespan,
		Parameters:    overlayParameters(stored, parameters),
	}, nil
}

// overlayParameters is the stored parameters that are not null with the answer's on top: the answer's as they
// are when nothing is stored yet (a conversation's first turn), rather than a copy.
func overlayParameters(stored, parameters map[string]any) map[string]any {
	if len(stored) == 0 {
		return parameters
	}
	merged := make(map[string]any, len(stored)+len(parameters))
	for name, value := range stored {
		if value != nil {
			merged[name] = value
		}
	}
	for name, value := range parameters {
		merged[name] = value
	}
	return merged
}

// followupEventInput triggers an event; Dialogflow then answers with the intent the event matches and ignores
// the text, messages and payload of this answer. EventInput requires a language: the request's by default.
func followupEventInput(req *model.Request, event *model.FollowupEvent) (*eventInput, error) {
	if event.Name == "" {
		return nil, &dialect.EncodeError{Message: "the followup event has no name; Dialogflow requires one"}
	}
	languageCode := event.LanguageCode
	if languageCode == "" {
		languageCode = req.LanguageCode
	}
	return &eventInput{Name: event.Name, Parameters: event.Parameters, LanguageCode: languageCode}, nil
}
