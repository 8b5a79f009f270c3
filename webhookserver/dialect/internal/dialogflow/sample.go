package dialogflow

import "github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"

// SampleDefaults are what ES and CX fill in alike when a sample leaves them out: a new session id, English,
// and an empty parameters object (Dialogflow always sends one).
func SampleDefaults(s dialect.Sample) (session, language string, parameters map[string]any) {
	session, language, parameters = s.Session, s.Language, s.Parameters
	if session == "" {
		session = dialect.SampleID("send-")
	}
	if language == "" {
		language = "en"
	}
	if parameters == nil {
		parameters = map[string]any{}
	}
	return session, language, parameters
}
