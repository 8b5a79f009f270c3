package es

import (
	"encoding/json"
	"errors"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
)

var _ dialect.SampleBuilder = codec{}

// sampleProject is the Dialogflow project of sample requests; routes see it only in the session path.
const sampleProject = "projects/webhookserver-send/agent"

// BuildSample implements dialect.SampleBuilder: a WebhookRequest as Dialogflow ES sends it when an intent with
// webhook fulfillment matches. An environment goes into the session path, as Dialogflow writes it.
func (codec) BuildSample(s dialect.Sample) ([]byte, error) {
	if err := s.Refuse("Dialogflow ES", "select the route with an intent or an action", "tag", "event", "data"); err != nil {
		return nil, err
	}
	if s.Intent == "" && s.Action == "" {
		return nil, errors.New("a Dialogflow ES request needs an intent or an action to select the route")
	}
	session, language, parameters := dialogflow.SampleDefaults(s)
	sessionPath := sampleProject + "/sessions/" + session
	if s.Environment != "" {
		sessionPath = sampleProject + "/environments/" + s.Environment + "/users/-/sessions/" + session
	}
	queryResult := map[string]any{
		"queryText":                 s.Text,
		"parameters":                parameters,
		"allRequiredParamsPresent":  true,
		"intentDetectionConfidence": 1,
		"languageCode":              language,
	}
	if s.Action != "" {
		queryResult["action"] = s.Action
	}
	if s.Intent != "" {
		queryResult["intent"] = map[string]any{"name": sampleProject + "/intents/" + dialect.SampleID(""), "displayName": s.Intent}
	}
	return json.Marshal(map[string]any{
		"responseId":                  dialect.SampleID(""),
		"session":                     sessionPath,
		"queryResult":                 queryResult,
		"originalDetectIntentRequest": map[string]any{"source": "webhookserver-send", "payload": map[string]any{}},
	})
}
