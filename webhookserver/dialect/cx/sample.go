package cx

import (
	"encoding/json"
	"errors"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
)

var _ dialect.SampleBuilder = codec{}

// sampleAgent is the Dialogflow CX agent of sample requests; routes see it only in the session path.
const sampleAgent = "projects/webhookserver-send/locations/global/agents/send-agent"

// BuildSample implements dialect.SampleBuilder: a WebhookRequest as Dialogflow CX sends it when a page or route
// calls the webhook with a tag. An environment goes into the session path, as Dialogflow writes it.
func (codec) BuildSample(s dialect.Sample) ([]byte, error) {
	if err := s.Refuse("Dialogflow CX", "select the route with a tag, an intent or an event", "action", "data"); err != nil {
		return nil, err
	}
	if s.Tag == "" && s.Intent == "" && s.Event == "" {
		return nil, errors.New("a Dialogflow CX request needs a tag (or an intent or event) to select the route")
	}
	if s.Event != "" && s.Text != "" {
		return nil, errors.New("a Dialogflow CX request carries the user's text or an event, not both (one query)")
	}
	session, language, parameters := dialogflow.SampleDefaults(s)
	sessionPath := sampleAgent + "/sessions/" + session
	if s.Environment != "" {
		sessionPath = sampleAgent + "/environments/" + s.Environment + "/sessions/" + session
	}
	request := map[string]any{
		"detectIntentResponseId": dialect.SampleID(""),
		"sessionInfo":            map[string]any{"session": sessionPath, "parameters": parameters},
		"languageCode":           language,
	}
	if s.Tag != "" {
		request["fulfillmentInfo"] = map[string]any{"tag": s.Tag}
	}
	if s.Intent != "" {
		request["intentInfo"] = map[string]any{"lastMatchedIntent": sampleAgent + "/intents/" + dialect.SampleID(""),
			"displayName": s.Intent, "confidence": 1}
	}
	if s.Event != "" {
		request["triggerEvent"] = s.Event
	}
	if s.Text != "" {
		request["text"] = s.Text
	}
	return json.Marshal(request)
}
