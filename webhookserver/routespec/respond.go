package routespec

import (
	"errors"
	"fmt"
	"sort"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Respond is a compiled respond action: the templates and expressions of its answer. A nil template or value
// is a field the spec leaves out.
type Respond struct {
	Text, TargetPage, TargetFlow *expr.Template
	// Parameters are in name order, so that answers are deterministic.
	Parameters    []Parameter
	Payload       *expr.Value
	Messages      []Message
	FollowupEvent *FollowupEvent
	MergeBehavior string
	// EndInteraction and LiveAgentHandoff are the Dialogflow control flags, copied to every answer.
	EndInteraction, LiveAgentHandoff bool
	Contexts                         []Context
	ClearContexts                    []string
	ClearAllContexts                 bool
	FormParameters                   []FormParameter
	Events                           []Event
}

// Parameter is a named expression of an answer's parameters.
type Parameter struct {
	Name    string
	Program *expr.Program
}

// Message is a compiled rich message: exactly one kind is set, as in the spec.
type Message struct {
	Text                  *expr.Template
	Payload               *expr.Value
	Image                 *Image
	Card                  *Card
	QuickReplies          *QuickReplies
	OutputAudioText       *AudioText
	PlayAudio             *expr.Template
	TelephonyTransferCall *TransferCall
	ConversationSuccess   *Metadata
	LiveAgentHandoff      *Metadata
	Response              *ResponseTemplate
	Platform              string
}

// Image is a compiled image message.
type Image struct {
	URL, AccessibilityText *expr.Template
}

// Card is a compiled card.
type Card struct {
	Title, Subtitle, ImageURL *expr.Template
	Buttons                   []Button
}

// Button is a compiled card button.
type Button struct {
	Text, Postback *expr.Template
}

// QuickReplies are compiled quick replies.
type QuickReplies struct {
	Title   *expr.Template
	Replies []*expr.Template
}

// AudioText is compiled spoken text; SSML is an XML template, whose values are escaped.
type AudioText struct {
	Text, SSML *expr.Template
}

// TransferCall is a compiled call transfer.
type TransferCall struct {
	PhoneNumber *expr.Template
}

// Metadata is the compiled metadata of a control message; Value is nil when the spec sets none.
type Metadata struct {
	Value *expr.Value
}

// ResponseTemplate is a compiled Rasa response by name.
type ResponseTemplate struct {
	Name      string
	Variables []Parameter
}

// Context is a compiled Dialogflow ES output context.
type Context struct {
	Name          string
	LifespanCount int
	Parameters    []Parameter
}

// FormParameter is a compiled form parameter verdict: Invalid is a bool expression, Value the new value; either
// may be nil.
type FormParameter struct {
	Name           string
	Invalid, Value *expr.Program
}

// FollowupEvent is a compiled follow-up event.
type FollowupEvent struct {
	Name, LanguageCode string
	Parameters         []Parameter
}

// Event is a compiled Rasa event.
type Event struct {
	Kind              model.EventKind
	Name, Intent      string
	After             time.Duration
	Entities          []Parameter
	KillOnUserMessage bool
}

// CompileRespond compiles spec; field is its path (e.g. spec.respond) for errors. Pass expr.WithResponse() when
// it maps a call's answer.
func CompileRespond(env *expr.Env, spec *fulfillmentv1alpha1.RespondAction, field string, opts ...expr.CompileOption) (*Respond, error) {
	var errs []error
	template := func(src, at string) *expr.Template {
		if src == "" {
			return nil
		}
		t, err := env.CompileTemplate(src, opts...)
		if err != nil {
			errs = append(errs, &FieldError{Field: at, Err: err})
		}
		return t
	}
	r := &Respond{
		Text:             template(spec.Text, field+".text"),
		TargetPage:       template(spec.TargetPage, field+".targetPage"),
		TargetFlow:       template(spec.TargetFlow, field+".targetFlow"),
		MergeBehavior:    string(spec.MergeBehavior),
		EndInteraction:   spec.EndInteraction,
		LiveAgentHandoff: spec.LiveAgentHandoff,
	}
	r.Parameters = compileParameters(env, spec.Parameters, field+".parameters", &errs, opts)
	r.Payload = compileJSON(env, spec.Payload, field+".payload", &errs, opts)
	for i := range spec.Messages {
		at := fmt.Sprintf("%s.messages[%d]", field, i)
		r.Messages = append(r.Messages, compileMessage(env, &spec.Messages[i], at, template, &errs, opts))
	}
	if e := spec.FollowupEvent; e != nil {
		r.FollowupEvent = &FollowupEvent{
			Name:         e.Name,
			LanguageCode: e.LanguageCode,
			Parameters:   compileParameters(env, e.Parameters, field+".followupEvent.parameters", &errs, opts),
		}
	}
	for i, c := range spec.Contexts {
		lifespan := defaultContextLifespan
		if c.LifespanCount != nil {
			lifespan = int(*c.LifespanCount)
		}
		at := fmt.Sprintf("%s.contexts[%d].parameters", field, i)
		r.Contexts = append(r.Contexts, Context{
			Name: c.Name, LifespanCount: lifespan, Parameters: compileParameters(env, c.Parameters, at, &errs, opts)})
	}
	r.ClearContexts, r.ClearAllContexts = spec.ClearContexts, spec.ClearAllContexts
	for i, p := range spec.FormParameters {
		at := fmt.Sprintf("%s.formParameters[%d]", field, i)
		r.FormParameters = append(r.FormParameters, FormParameter{
			Name:    p.Name,
			Invalid: compileExpression(env, p.Invalid, at+".invalid", &errs, append(opts, expr.WithBoolResult())),
			Value:   compileExpression(env, p.Value, at+".value", &errs, opts),
		})
	}
	for i := range spec.Events {
		at := fmt.Sprintf("%s.events[%d]", field, i)
		r.Events = append(r.Events, compileEvent(env, &spec.Events[i], at, &errs, opts))
	}
	return r, errors.Join(errs...)
}

// defaultContextLifespan is the lifespan of a context whose spec sets none, as the schema defaults it (a route
// read from a file the API server never saw has no defaults).
const defaultContextLifespan = 5

// compileMessage compiles the one kind a message sets.
func compileMessage(env *expr.Env, m *fulfillmentv1alpha1.Message, at string, template func(src, at string) *expr.Template, errs *[]error, opts []expr.CompileOption) Message {
	out := Message{
		Text:     template(m.Text, at+".text"),
		Payload:  compileJSON(env, m.Payload, at+".payload", errs, opts),
		Platform: string(m.Platform),
	}
	if i := m.Image; i != nil {
		out.Image = &Image{URL: template(i.URL, at+".image.url"),
			AccessibilityText: template(i.AccessibilityText, at+".image.accessibilityText")}
	}
	if c := m.Card; c != nil {
		out.Card = &Card{Title: template(c.Title, at+".card.title"), Subtitle: template(c.Subtitle, at+".card.subtitle"),
			ImageURL: template(c.ImageURL, at+".card.imageURL")}
		for j, b := range c.Buttons {
			button := fmt.Sprintf("%s.card.buttons[%d]", at, j)
			out.Card.Buttons = append(out.Card.Buttons,
				Button{Text: template(b.Text, button+".text"), Postback: template(b.Postback, button+".postback")})
		}
	}
	if q := m.QuickReplies; q != nil {
		out.QuickReplies = &QuickReplies{Title: template(q.Title, at+".quickReplies.title")}
		for j, reply := range q.Replies {
			out.QuickReplies.Replies = append(out.QuickReplies.Replies,
				template(reply, fmt.Sprintf("%s.quickReplies.replies[%d]", at, j)))
		}
	}
	if a := m.OutputAudioText; a != nil {
		out.OutputAudioText = &AudioText{Text: template(a.Text, at+".outputAudioText.text")}
		if a.SSML != "" {
			ssml, err := env.CompileXMLTemplate(a.SSML, opts...)
			if err != nil {
				*errs = append(*errs, &FieldError{Field: at + ".outputAudioText.ssml", Err: err})
			}
			out.OutputAudioText.SSML = ssml
		}
	}
	if p := m.PlayAudio; p != nil {
		out.PlayAudio = template(p.AudioURI, at+".playAudio.audioURI")
	}
	if t := m.TelephonyTransferCall; t != nil {
		out.TelephonyTransferCall = &TransferCall{PhoneNumber: template(t.PhoneNumber, at+".telephonyTransferCall.phoneNumber")}
	}
	if c := m.ConversationSuccess; c != nil {
		out.ConversationSuccess = &Metadata{Value: compileJSON(env, c.Metadata, at+".conversationSuccess.metadata", errs, opts)}
	}
	if h := m.LiveAgentHandoff; h != nil {
		out.LiveAgentHandoff = &Metadata{Value: compileJSON(env, h.Metadata, at+".liveAgentHandoff.metadata", errs, opts)}
	}
	if r := m.Response; r != nil {
		out.Response = &ResponseTemplate{Name: r.Name,
			Variables: compileParameters(env, r.Variables, at+".response.variables", errs, opts)}
	}
	return out
}

// compileEvent compiles a Rasa event.
func compileEvent(env *expr.Env, e *fulfillmentv1alpha1.RasaEvent, at string, errs *[]error, opts []expr.CompileOption) Event {
	switch {
	case e.FollowupAction != "":
		return Event{Kind: model.EventFollowupAction, Name: e.FollowupAction}
	case e.ActiveLoop != nil:
		return Event{Kind: model.EventActiveLoop, Name: e.ActiveLoop.Name}
	case e.Restart:
		return Event{Kind: model.EventRestart}
	case e.SessionStarted:
		return Event{Kind: model.EventSessionStarted}
	case e.Reminder != nil:
		r := e.Reminder
		return Event{Kind: model.EventReminder, Name: r.Name, Intent: r.Intent, After: r.After.Duration,
			Entities:          compileParameters(env, r.Entities, at+".reminder.entities", errs, opts),
			KillOnUserMessage: !r.KeepOnUserMessage}
	case e.CancelReminder != nil:
		return Event{Kind: model.EventCancelReminder, Name: e.CancelReminder.Name, Intent: e.CancelReminder.Intent}
	}
	*errs = append(*errs, &FieldError{Field: at, Err: errors.New("an event needs one of followupAction, activeLoop, " +
		"restart, sessionStarted, reminder or cancelReminder")})
	return Event{}
}

// compileExpression compiles one optional expression; "" is nil.
func compileExpression(env *expr.Env, src, field string, errs *[]error, opts []expr.CompileOption) *expr.Program {
	if src == "" {
		return nil
	}
	p, err := env.Compile(src, opts...)
	if err != nil {
		*errs = append(*errs, &FieldError{Field: field, Err: err})
	}
	return p
}

// compileParameters compiles parameter expressions in name order, so that answers are deterministic.
func compileParameters(env *expr.Env, params map[string]string, field string, errs *[]error, opts []expr.CompileOption) []Parameter {
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names)
	compiled := make([]Parameter, 0, len(names))
	for _, name := range names {
		p, err := env.Compile(params[name], opts...)
		if err != nil {
			*errs = append(*errs, &FieldError{Field: field + "." + name, Err: err})
			continue
		}
		compiled = append(compiled, Parameter{name, p})
	}
	return compiled
}

// compileJSON compiles a free-form payload whose string values are templates.
func compileJSON(env *expr.Env, raw *apiextensionsv1.JSON, field string, errs *[]error, opts []expr.CompileOption) *expr.Value {
	if raw == nil || len(raw.Raw) == 0 {
		return nil
	}
	var value any
	if err := utiljson.Unmarshal(raw.Raw, &value); err != nil {
		*errs = append(*errs, &FieldError{Field: field, Err: err})
		return nil
	}
	v, err := env.CompileValue(value, opts...)
	if err != nil {
		*errs = append(*errs, &FieldError{Field: field, Err: err})
	}
	return v
}
