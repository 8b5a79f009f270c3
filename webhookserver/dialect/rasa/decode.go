package rasa

import (
	"strconv"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Decode reads an action call. next_action is required: it is what Rasa asks to run. Parameters are the slots
// plus the latest message's entities that no slot has the name of; DeliveryID is
// sender_id/latest_event_time/next_action; Version is the Rasa version that calls. The slots to validate
// (request.slotsToValidate) are read from tracker.events when a route or its answer needs them (slots.go).
func (codec) Decode(in dialect.Input) (dialect.Decoded, error) {
	if err := dialect.CheckJSONContentType(in.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	body, whole, err := wire.DecodeEnvelope(in.Body, envelopeFields)
	if err != nil {
		return nil, err
	}
	var r wire.Reader
	tracker := body.Object(&r, "tracker")
	latestMessage := tracker.Object(&r, "tracker.latest_message")
	intent := latestMessage.Object(&r, "tracker.latest_message.intent")
	d := &decoded{}
	req := d.Request()
	*req = model.Request{
		Dialect: Name,
		Action:  body.String(&r, "next_action"),
		Session: body.String(&r, "sender_id"),
		Intent:  intent.String(&r, "tracker.latest_message.intent.name"),
		Text:    latestMessage.String(&r, "tracker.latest_message.text"),
		Version: body.String(&r, "version"),
		Query:   wire.Query(&r, in.Query),
	}
	req.SetHeadersFrom(in.Header, wire.Headers)
	whole.SetOn(req)
	req.SetViewsFrom(views(req))
	// Rasa always sends both sender ids; the tracker's is the fallback for hand-written calls.
	if trackerSender := tracker.String(&r, "tracker.sender_id"); req.Session == "" {
		req.Session = trackerSender
	}
	req.DeliveryID = deliveryID(&r, req.Session, req.Action, tracker)
	req.Parameters = parameters(&r, tracker.Map(&r, "tracker.slots"),
		latestMessage.Array(&r, "tracker.latest_message.entities"))
	if req.Action == "" {
		r.Fail("next_action", "expected the name of the action to run, found none")
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return d, nil
}

// envelopeFields are the fields Decode reads.
var envelopeFields = wire.Fields{
	"next_action": nil,
	"sender_id":   nil,
	"version":     nil,
	"tracker": {Fields: wire.Fields{
		"sender_id":         nil,
		"latest_event_time": nil,
		"slots":             nil,
		"latest_message": {Fields: wire.Fields{
			"text":     nil,
			"intent":   {Fields: wire.Fields{"name": nil}},
			"entities": {Each: &wire.Field{Fields: wire.Fields{"entity": nil, "value": nil}}},
		}},
	}},
}

// deliveryID is the sender, the time of its latest event and the action: a user's message is answered by
// actions in turn, each call seeing a new latest event, and the action keeps apart two calls on one tracker
// (a hand-written call, or a policy that predicts another action after a rejection), which would otherwise get
// the first one's answer. Without an event time there is no id, since the sender alone would make every call
// of the conversation a duplicate.
func deliveryID(r *wire.Reader, sender, action string, tracker wire.Object) string {
	eventTime := tracker.Number(r, "tracker.latest_event_time")
	if sender == "" || !tracker.Has("latest_event_time") {
		return ""
	}
	// The shortest form that reads back as the same float64, so one time always gives one id.
	return sender + "/" + strconv.FormatFloat(eventTime, 'f', -1, 64) + "/" + action
}

// parameters are the slots, then the entities of the latest message whose names are not slots, the first of
// several with one name. Slots win even when unset (null): they are the conversation's state, which the slot
// events of an answer change, and Rasa has already filled the slots mapped from entities.
func parameters(r *wire.Reader, slots map[string]any, entities wire.Array) map[string]any {
	if len(slots)+entities.Len() == 0 {
		return nil
	}
	merged := make(map[string]any, len(slots)+entities.Len())
	for name, value := range slots {
		merged[name] = value
	}
	const entitiesPath = "tracker.latest_message.entities"
	for i := range entities.Len() {
		entity := entities.Object(r, entitiesPath, i)
		name := entity.ElementString(r, entitiesPath, i, "entity")
		if _, taken := merged[name]; name != "" && !taken {
			merged[name] = entity.Value("value")
		}
	}
	if len(merged) == 0 {
		return nil
	}
	return merged
}
