package rasa

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// eventHead is what every Rasa event has. Timestamp is always null: Rasa stamps the event when it applies it.
type eventHead struct {
	Event     string   `json:"event"`
	Timestamp *float64 `json:"timestamp"`
}

// plainEvent is an event of no fields of its own: restart, session_started.
type plainEvent struct {
	eventHead
}

// slotEvent is Rasa's SlotSet event; a null value resets the slot.
type slotEvent struct {
	eventHead
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// namedEvent is FollowupAction (the action to run) or ActiveLoop (the form to start; null stops the active one).
type namedEvent struct {
	eventHead
	Name *string `json:"name"`
}

// reminderEvent is ReminderScheduled, with the fields of rasa-sdk's: date_time in ISO 8601 with its offset,
// name null for Rasa to make one up.
type reminderEvent struct {
	eventHead
	Intent        string         `json:"intent"`
	Entities      map[string]any `json:"entities"`
	DateTime      string         `json:"date_time"`
	Name          *string        `json:"name"`
	KillOnUserMsg bool           `json:"kill_on_user_msg"`
}

// cancelReminderEvent is ReminderCancelled: the reminders of this name, of this intent, or both.
type cancelReminderEvent struct {
	eventHead
	Name   *string `json:"name"`
	Intent *string `json:"intent"`
}

// isoDateTime is the layout of Python's datetime.isoformat() for an aware time, which Rasa parses back: the
// fraction only when there is one, and the offset as +00:00.
const isoDateTime = "2006-01-02T15:04:05.999999-07:00"

// events are the answer's events in the order Rasa applies them: restart and session_started first, since they
// clear the tracker's slots and the answer's slots must outlive them (Rasa's own action_session_start sets the
// slots it carries over after session_started); then the slot events; then the other events, in the route's
// order.
func events(req *model.Request, answer *model.Answer) []any {
	slots := slotEvents(slotValues(req, answer))
	all := make([]any, 0, len(slots)+len(answer.Events))
	for i := range answer.Events {
		if clearsSlots(answer.Events[i].Kind) {
			all = appendEvent(all, &answer.Events[i])
		}
	}
	for _, slot := range slots {
		all = append(all, slot)
	}
	for i := range answer.Events {
		if !clearsSlots(answer.Events[i].Kind) {
			all = appendEvent(all, &answer.Events[i])
		}
	}
	return all
}

func clearsSlots(kind model.EventKind) bool {
	return kind == model.EventRestart || kind == model.EventSessionStarted
}

// appendEvent appends the Rasa event of e, or nothing for a kind Rasa has not (or a follow-up without an
// action, which the API refuses).
func appendEvent(events []any, e *model.Event) []any {
	head := eventHead{Event: string(e.Kind)}
	switch e.Kind {
	case model.EventRestart, model.EventSessionStarted:
		return append(events, plainEvent{head})
	case model.EventFollowupAction:
		if e.Name == "" {
			return events
		}
		return append(events, namedEvent{head, &e.Name})
	case model.EventActiveLoop:
		return append(events, namedEvent{head, orNull(e.Name)})
	case model.EventReminder:
		return append(events, reminderEvent{eventHead: head, Intent: e.Intent, Entities: e.Entities,
			DateTime: e.TriggerAt.UTC().Format(isoDateTime), Name: orNull(e.Name), KillOnUserMsg: e.KillOnUserMessage})
	case model.EventCancelReminder:
		return append(events, cancelReminderEvent{head, orNull(e.Name), orNull(e.Intent)})
	}
	return events
}

// orNull is s, or null when it is empty.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
