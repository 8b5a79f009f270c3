package routespec

import (
	"fmt"
	"slices"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// matchCriterion is a list of spec.match and the dialects whose requests carry what it matches, as the
// server's decoders fill the normalized request (webhookserver/dialect/*/decode.go).
type matchCriterion struct {
	field   string
	values  func(*fulfillmentv1alpha1.RouteMatch) []string
	sentBy  []fulfillmentv1alpha1.Dialect
	carried string
}

var matchCriteria = []matchCriterion{
	{
		field:  "intents",
		values: func(m *fulfillmentv1alpha1.RouteMatch) []string { return m.Intents },
		sentBy: dialects(es, cx, rasa, generic),
	},
	{
		field:   "actions",
		values:  func(m *fulfillmentv1alpha1.RouteMatch) []string { return m.Actions },
		sentBy:  dialects(es, rasa),
		carried: "an action is Dialogflow ES queryResult.action or Rasa next_action",
	},
	{
		field:   "tags",
		values:  func(m *fulfillmentv1alpha1.RouteMatch) []string { return m.Tags },
		sentBy:  dialects(cx),
		carried: "a tag is Dialogflow CX fulfillmentInfo.tag",
	},
	{
		// Dialogflow CX requests carry their triggerEvent, which the server matches as the event.
		field:   "events",
		values:  func(m *fulfillmentv1alpha1.RouteMatch) []string { return m.Events },
		sentBy:  dialects(generic, cx),
		carried: "an event is the Generic event or the Dialogflow CX triggerEvent",
	},
}

// MatchProblems lists the match lists of spec that an endpoint of dialect never fills, each a *FieldError: such
// a list can never match, which is almost always a route written for another endpoint. The operator refuses
// such a route (InvalidTarget) and the standalone server refuses it too, so that a route that loads on a
// laptop is accepted in a cluster. An unknown dialect has no problems here (the schema refuses it).
func MatchProblems(spec *fulfillmentv1alpha1.IntentRouteSpec, dialect fulfillmentv1alpha1.Dialect) []error {
	if !slices.Contains(dialects(es, cx, rasa, generic), dialect) {
		return nil
	}
	var problems []error
	for _, c := range matchCriteria {
		if len(c.values(&spec.Match)) == 0 || slices.Contains(c.sentBy, dialect) {
			continue
		}
		problems = append(problems, &FieldError{Field: "spec.match." + c.field, Err: fmt.Errorf(
			"a %s endpoint never sends %s (%s), so this list can never match; remove it or reference an endpoint "+
				"of a dialect that sends them (%s)", dialect, c.field, c.carried, dialectNames(c.sentBy))})
	}
	return problems
}
