package routespec

import (
	"fmt"
	"slices"
	"strings"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

var (
	es      = fulfillmentv1alpha1.DialectDialogflowES
	cx      = fulfillmentv1alpha1.DialectDialogflowCX
	rasa    = fulfillmentv1alpha1.DialectRasa
	generic = fulfillmentv1alpha1.DialectGeneric
)

// respondField is a field of a respond action that only some dialects' answers can carry.
type respondField struct {
	name   string
	set    func(r *fulfillmentv1alpha1.RespondAction) bool
	sentBy []fulfillmentv1alpha1.Dialect
}

// respondFields are the respond fields a platform has no equivalent for beyond the dialects listed: text,
// parameters and payload are every dialect's, and are not listed.
var respondFields = []respondField{
	{"followupEvent", func(r *fulfillmentv1alpha1.RespondAction) bool { return r.FollowupEvent != nil }, dialects(es)},
	{"contexts", func(r *fulfillmentv1alpha1.RespondAction) bool { return len(r.Contexts) > 0 }, dialects(es)},
	{"clearContexts", func(r *fulfillmentv1alpha1.RespondAction) bool { return len(r.ClearContexts) > 0 }, dialects(es)},
	{"clearAllContexts", func(r *fulfillmentv1alpha1.RespondAction) bool { return r.ClearAllContexts }, dialects(es)},
	{"endInteraction", func(r *fulfillmentv1alpha1.RespondAction) bool { return r.EndInteraction }, dialects(es, cx)},
	{"liveAgentHandoff", func(r *fulfillmentv1alpha1.RespondAction) bool { return r.LiveAgentHandoff }, dialects(es, cx)},
	{"mergeBehavior", func(r *fulfillmentv1alpha1.RespondAction) bool { return r.MergeBehavior != "" }, dialects(cx)},
	{"targetPage", func(r *fulfillmentv1alpha1.RespondAction) bool { return r.TargetPage != "" }, dialects(cx)},
	{"targetFlow", func(r *fulfillmentv1alpha1.RespondAction) bool { return r.TargetFlow != "" }, dialects(cx)},
	{"formParameters", func(r *fulfillmentv1alpha1.RespondAction) bool { return len(r.FormParameters) > 0 }, dialects(cx, rasa)},
	{"events", func(r *fulfillmentv1alpha1.RespondAction) bool { return len(r.Events) > 0 }, dialects(rasa)},
}

// messageField is a kind (or the platform) of a rich message that only some dialects send.
type messageField struct {
	name   string
	set    func(m *fulfillmentv1alpha1.Message) bool
	sentBy []fulfillmentv1alpha1.Dialect
}

var messageFields = []messageField{
	{"image", func(m *fulfillmentv1alpha1.Message) bool { return m.Image != nil }, dialects(es, rasa, generic)},
	{"card", func(m *fulfillmentv1alpha1.Message) bool { return m.Card != nil }, dialects(es, rasa, generic)},
	{"quickReplies", func(m *fulfillmentv1alpha1.Message) bool { return m.QuickReplies != nil }, dialects(es, rasa, generic)},
	{"outputAudioText", func(m *fulfillmentv1alpha1.Message) bool { return m.OutputAudioText != nil }, dialects(cx)},
	{"playAudio", func(m *fulfillmentv1alpha1.Message) bool { return m.PlayAudio != nil }, dialects(cx)},
	{"telephonyTransferCall", func(m *fulfillmentv1alpha1.Message) bool { return m.TelephonyTransferCall != nil }, dialects(cx)},
	{"conversationSuccess", func(m *fulfillmentv1alpha1.Message) bool { return m.ConversationSuccess != nil }, dialects(cx)},
	{"liveAgentHandoff", func(m *fulfillmentv1alpha1.Message) bool { return m.LiveAgentHandoff != nil }, dialects(cx)},
	{"response", func(m *fulfillmentv1alpha1.Message) bool { return m.Response != nil }, dialects(rasa)},
	{"platform", func(m *fulfillmentv1alpha1.Message) bool { return m.Platform != "" }, dialects(es)},
}

func dialects(d ...fulfillmentv1alpha1.Dialect) []fulfillmentv1alpha1.Dialect { return d }

// DialectProblems lists the answer fields of spec (its respond, or its call's) that an endpoint of dialect
// cannot send, each a *FieldError with the dialects that can: the platform has no place for them, so the route would answer
// without them, or not at all. An unknown dialect has no problems here (the schema refuses it).
func DialectProblems(spec *fulfillmentv1alpha1.IntentRouteSpec, dialect fulfillmentv1alpha1.Dialect) []error {
	if !slices.Contains(dialects(es, cx, rasa, generic), dialect) {
		return nil
	}
	respond, field := spec.Respond, "spec.respond"
	if spec.Call != nil {
		respond, field = spec.Call.Respond, "spec.call.respond"
	}
	if respond == nil {
		return nil
	}
	var problems []error
	refuse := func(at string, sentBy []fulfillmentv1alpha1.Dialect) {
		hint := ""
		if dialect == cx && slices.Contains(sentBy, es) && !slices.Contains(sentBy, cx) && strings.Contains(at, ".messages[") {
			hint = "; Dialogflow CX shows rich content from a payload message (such as a richContent payload)"
		}
		problems = append(problems, &FieldError{Field: at, Err: fmt.Errorf(
			"a %s endpoint cannot send it; remove it or reference an endpoint of a dialect that does (%s)%s",
			dialect, dialectNames(sentBy), hint)})
	}
	for _, f := range respondFields {
		if f.set(respond) && !slices.Contains(f.sentBy, dialect) {
			refuse(field+"."+f.name, f.sentBy)
		}
	}
	for i := range respond.Messages {
		for _, f := range messageFields {
			if f.set(&respond.Messages[i]) && !slices.Contains(f.sentBy, dialect) {
				refuse(fmt.Sprintf("%s.messages[%d].%s", field, i, f.name), f.sentBy)
			}
		}
	}
	return problems
}

func dialectNames(ds []fulfillmentv1alpha1.Dialect) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = string(d)
	}
	return strings.Join(names, ", ")
}
