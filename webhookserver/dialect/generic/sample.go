package generic

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

var _ dialect.SampleBuilder = codec{}

// BuildSample implements dialect.SampleBuilder: a JSON event in the Generic format, {event, intent, session{id,
// parameters}, timestamp, ...}, built on the sender's own payload (Data) when one is given. The event, intent,
// session and parameters given replace the payload's; a payload's own timestamp is kept.
func (codec) BuildSample(s dialect.Sample) ([]byte, error) {
	if err := s.Refuse("Generic", "select the route with an event or an intent; put other fields in the data",
		"action", "tag", "environment", "language", "text"); err != nil {
		return nil, err
	}
	event := map[string]any{}
	if len(s.Data) > 0 {
		decoder := json.NewDecoder(bytes.NewReader(s.Data))
		decoder.UseNumber() // large ids stay exact
		if err := decoder.Decode(&event); err != nil || decoder.More() {
			return nil, errors.New("the data is not one JSON object: give an object, for example {\"data\":{\"id\":\"o-1\"}}, or @file.json")
		}
	}
	if s.Event != "" {
		event["event"] = s.Event
	}
	if s.Intent != "" {
		event["intent"] = s.Intent
	}
	if event["event"] == nil && event["intent"] == nil && event["type"] == nil {
		return nil, errors.New("a Generic request needs an event or an intent to select the route (or a data object with one)")
	}
	if s.Session != "" || len(s.Parameters) > 0 {
		session, _ := event["session"].(map[string]any)
		if session == nil {
			session = map[string]any{}
		}
		if s.Session != "" {
			session["id"] = s.Session
		}
		if len(s.Parameters) > 0 {
			parameters, _ := session["parameters"].(map[string]any)
			if parameters == nil {
				parameters = map[string]any{}
			}
			for name, value := range s.Parameters {
				parameters[name] = value
			}
			session["parameters"] = parameters
		}
		event["session"] = session
	}
	if _, ok := event["timestamp"]; !ok {
		event["timestamp"] = s.Now.UTC().Format(time.RFC3339)
	}
	return json.Marshal(event)
}
