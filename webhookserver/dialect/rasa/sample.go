package rasa

import (
	"encoding/json"
	"errors"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

var _ dialect.SampleBuilder = codec{}

// BuildSample implements dialect.SampleBuilder: an action call as Rasa sends it to run next_action, with the
// parameters as the tracker's slots and the intent as the latest message's.
func (codec) BuildSample(s dialect.Sample) ([]byte, error) {
	if err := s.Refuse("Rasa", "select the route with an action (and an intent); send other values as slots with --param",
		"tag", "event", "environment", "language", "data"); err != nil {
		return nil, err
	}
	if s.Action == "" {
		return nil, errors.New("a Rasa request needs an action: Rasa calls the action server to run next_action")
	}
	sender := s.Session
	if sender == "" {
		sender = dialect.SampleID("send-")
	}
	slots := s.Parameters
	if slots == nil {
		slots = map[string]any{}
	}
	latest := map[string]any{"text": s.Text, "entities": []any{}}
	intents := []string{}
	if s.Intent != "" {
		latest["intent"] = map[string]any{"name": s.Intent, "confidence": 1}
		latest["intent_ranking"] = []any{map[string]any{"name": s.Intent, "confidence": 1}}
		intents = append(intents, s.Intent)
	}
	return json.Marshal(map[string]any{
		"next_action": s.Action,
		"sender_id":   sender,
		"version":     "3.10.0",
		"tracker": map[string]any{
			"sender_id": sender, "slots": slots, "latest_message": latest, "events": []any{}, "paused": false,
			"followup_action": nil, "active_loop": map[string]any{}, "latest_action_name": "action_listen",
			"latest_event_time": float64(s.Now.UnixMilli()) / 1000, "latest_input_channel": "rest",
		},
		"domain": map[string]any{"intents": intents, "actions": []string{s.Action}},
	})
}
