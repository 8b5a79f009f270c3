package rasa

import "github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"

// maxTrailingEvents bounds the events read from the end of tracker.events for the slots to validate: a form's
// candidates are a few slot events at the very end, while a long conversation sends thousands of events.
const maxTrailingEvents = 256

// views are the request's conversation views, built from its body when a route or its answer reads them.
func views(req *model.Request) func() model.Views {
	return func() model.Views { return model.Views{SlotsToValidate: slotsToValidate(req.Body())} }
}

// slotsToValidate are the slots the slot events ending tracker.events set, by name, as rasa-sdk's
// Tracker.slots_to_validate reads them: Rasa's form appends the slot candidates it extracted after its own
// action event and then calls validate_<form>, so the trailing run of slot events is what the form validates.
// A later event of one slot wins. nil when the events end with anything else.
func slotsToValidate(body map[string]any) map[string]any {
	tracker, _ := body["tracker"].(map[string]any)
	events, _ := tracker["events"].([]any)
	start := len(events)
	for start > 0 && len(events)-start < maxTrailingEvents && slotEventName(events[start-1]) != nil {
		start--
	}
	if start == len(events) {
		return nil
	}
	slots := make(map[string]any, len(events)-start)
	for _, event := range events[start:] {
		slots[*slotEventName(event)] = event.(map[string]any)["value"]
	}
	return slots
}

// slotEventName is the slot a slot event sets, or nil for any other event (or a slot event without a name).
func slotEventName(event any) *string {
	fields, _ := event.(map[string]any)
	if kind, _ := fields["event"].(string); kind != "slot" {
		return nil
	}
	if name, ok := fields["name"].(string); ok {
		return &name
	}
	return nil
}
