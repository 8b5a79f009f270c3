package action

import (
	"context"
	"fmt"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
)

// Respond builds an answer from a compiled respond action's templates and expressions.
type Respond struct {
	spec *routespec.Respond
}

// NewRespond is the action of a compiled respond.
func NewRespond(spec *routespec.Respond) *Respond { return &Respond{spec: spec} }

// Run implements Action.
func (r *Respond) Run(ctx context.Context, inv *Invocation) (*Result, error) {
	answer, err := r.Answer(ctx, inv.Vars)
	if err != nil {
		return nil, err
	}
	return &Result{Answer: answer}, nil
}

// Answer renders the answer.
func (r *Respond) Answer(ctx context.Context, vars *expr.Vars) (*model.Answer, error) {
	spec := r.spec
	answer := &model.Answer{
		MergeBehavior:    spec.MergeBehavior,
		EndInteraction:   spec.EndInteraction,
		LiveAgentHandoff: spec.LiveAgentHandoff,
	}
	var err error
	if answer.Text, err = renderText(ctx, spec.Text, vars, "text"); err != nil {
		return nil, err
	}
	if answer.TargetPage, err = renderText(ctx, spec.TargetPage, vars, "targetPage"); err != nil {
		return nil, err
	}
	if answer.TargetFlow, err = renderText(ctx, spec.TargetFlow, vars, "targetFlow"); err != nil {
		return nil, err
	}
	if answer.Parameters, err = evalParameters(ctx, spec.Parameters, vars); err != nil {
		return nil, err
	}
	if answer.Payload, err = renderObject(ctx, spec.Payload, vars, "payload"); err != nil {
		return nil, err
	}
	for i := range spec.Messages {
		message, err := renderMessage(ctx, &spec.Messages[i], vars, fmt.Sprintf("messages[%d]", i))
		if err != nil {
			return nil, err
		}
		answer.Messages = append(answer.Messages, message)
	}
	if e := spec.FollowupEvent; e != nil {
		params, err := evalParameters(ctx, e.Parameters, vars)
		if err != nil {
			return nil, err
		}
		answer.FollowupEvent = &model.FollowupEvent{Name: e.Name, LanguageCode: e.LanguageCode, Parameters: params}
	}
	for _, c := range spec.Contexts {
		params, err := evalParameters(ctx, c.Parameters, vars)
		if err != nil {
			return nil, err
		}
		answer.Contexts = append(answer.Contexts, model.Context{Name: c.Name, LifespanCount: c.LifespanCount, Parameters: params})
	}
	answer.ClearContexts, answer.ClearAllContexts = spec.ClearContexts, spec.ClearAllContexts
	for _, p := range spec.FormParameters {
		verdict, err := judgeFormParameter(ctx, p, vars)
		if err != nil {
			return nil, err
		}
		answer.FormParameters = append(answer.FormParameters, verdict)
	}
	for _, e := range spec.Events {
		event, err := renderEvent(ctx, e, vars)
		if err != nil {
			return nil, err
		}
		answer.Events = append(answer.Events, event)
	}
	return answer, nil
}

// renderMessage renders the one kind of a message; field is its path for errors (messages[2]).
func renderMessage(ctx context.Context, m *routespec.Message, vars *expr.Vars, field string) (model.Message, error) {
	r := renderer{ctx: ctx, vars: vars}
	out := model.Message{
		Text:     r.text(m.Text, field+".text"),
		Payload:  r.object(m.Payload, field+".payload"),
		Platform: m.Platform,
	}
	if i := m.Image; i != nil {
		out.Image = &model.Image{URL: r.text(i.URL, field+".image.url"),
			AccessibilityText: r.text(i.AccessibilityText, field+".image.accessibilityText")}
	}
	if c := m.Card; c != nil {
		out.Card = &model.Card{Title: r.text(c.Title, field+".card.title"), Subtitle: r.text(c.Subtitle, field+".card.subtitle"),
			ImageURL: r.text(c.ImageURL, field+".card.imageURL")}
		for j, b := range c.Buttons {
			at := fmt.Sprintf("%s.card.buttons[%d]", field, j)
			button := model.Button{Text: r.text(b.Text, at+".text"), Postback: r.text(b.Postback, at+".postback")}
			if button.Postback == "" {
				button.Postback = button.Text
			}
			out.Card.Buttons = append(out.Card.Buttons, button)
		}
	}
	if q := m.QuickReplies; q != nil {
		out.QuickReplies = &model.QuickReplies{Title: r.text(q.Title, field+".quickReplies.title")}
		for j, reply := range q.Replies {
			out.QuickReplies.Replies = append(out.QuickReplies.Replies,
				r.text(reply, fmt.Sprintf("%s.quickReplies.replies[%d]", field, j)))
		}
	}
	if a := m.OutputAudioText; a != nil {
		out.OutputAudioText = &model.AudioText{Text: r.text(a.Text, field+".outputAudioText.text"),
			SSML: r.text(a.SSML, field+".outputAudioText.ssml")}
	}
	if m.PlayAudio != nil {
		out.PlayAudio = &model.PlayAudio{AudioURI: r.text(m.PlayAudio, field+".playAudio.audioURI")}
	}
	if t := m.TelephonyTransferCall; t != nil {
		out.TelephonyTransferCall = &model.TransferCall{PhoneNumber: r.text(t.PhoneNumber, field+".telephonyTransferCall.phoneNumber")}
	}
	if c := m.ConversationSuccess; c != nil {
		out.ConversationSuccess = &model.Metadata{Metadata: r.object(c.Value, field+".conversationSuccess.metadata")}
	}
	if h := m.LiveAgentHandoff; h != nil {
		out.LiveAgentHandoff = &model.Metadata{Metadata: r.object(h.Value, field+".liveAgentHandoff.metadata")}
	}
	if t := m.Response; t != nil && r.err == nil {
		variables, err := evalParameters(ctx, t.Variables, vars)
		if err != nil {
			return model.Message{}, err
		}
		out.Response = &model.ResponseTemplate{Name: t.Name, Variables: variables}
	}
	return out, r.err
}

// renderer renders the fields of one message, keeping the first failure, so that a message of many fields reads
// as a list of them.
type renderer struct {
	ctx  context.Context
	vars *expr.Vars
	err  error
}

func (r *renderer) text(t *expr.Template, field string) string {
	if r.err != nil {
		return ""
	}
	s, err := renderText(r.ctx, t, r.vars, field)
	r.err = err
	return s
}

func (r *renderer) object(v *expr.Value, field string) map[string]any {
	if r.err != nil {
		return nil
	}
	object, err := renderObject(r.ctx, v, r.vars, field)
	r.err = err
	return object
}

// judgeFormParameter evaluates a form parameter's verdict: invalid first, and the value only for one that is not.
func judgeFormParameter(ctx context.Context, p routespec.FormParameter, vars *expr.Vars) (model.FormParameter, error) {
	verdict := model.FormParameter{Name: p.Name}
	if p.Invalid != nil {
		invalid, err := p.Invalid.Eval(ctx, vars)
		if err != nil {
			return verdict, templateFailure(ctx, "formParameters."+p.Name+".invalid", err)
		}
		verdict.Invalid, _ = invalid.(bool)
	}
	if p.Value != nil && !verdict.Invalid {
		value, err := p.Value.Eval(ctx, vars)
		if err != nil {
			return verdict, templateFailure(ctx, "formParameters."+p.Name+".value", err)
		}
		verdict.Value, verdict.HasValue = value, true
	}
	return verdict, nil
}

// renderEvent renders a Rasa event: a reminder's entities and the time it fires, from now.
func renderEvent(ctx context.Context, e routespec.Event, vars *expr.Vars) (model.Event, error) {
	event := model.Event{Kind: e.Kind, Name: e.Name, Intent: e.Intent, KillOnUserMessage: e.KillOnUserMessage}
	if e.Kind != model.EventReminder {
		return event, nil
	}
	entities, err := evalParameters(ctx, e.Entities, vars)
	if err != nil {
		return event, err
	}
	event.Entities, event.TriggerAt = entities, time.Now().Add(e.After)
	return event, nil
}

func renderText(ctx context.Context, t *expr.Template, vars *expr.Vars, field string) (string, error) {
	if t == nil {
		return "", nil
	}
	s, err := t.Render(ctx, vars)
	if err != nil {
		return "", templateFailure(ctx, field, err)
	}
	return s, nil
}

func renderObject(ctx context.Context, v *expr.Value, vars *expr.Vars, field string) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	out, err := v.Render(ctx, vars)
	if err != nil {
		return nil, templateFailure(ctx, field, err)
	}
	object, ok := out.(map[string]any)
	if !ok {
		return nil, &Failure{Reason: "template", Message: field + " did not render to a JSON object"}
	}
	return object, nil
}

func evalParameters(ctx context.Context, params []routespec.Parameter, vars *expr.Vars) (map[string]any, error) {
	if len(params) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(params))
	for _, p := range params {
		v, err := p.Program.Eval(ctx, vars)
		if err != nil {
			return nil, templateFailure(ctx, "parameters."+p.Name, err)
		}
		out[p.Name] = v
	}
	return out, nil
}

func templateFailure(ctx context.Context, field string, err error) error {
	if ctx.Err() != nil {
		return &Failure{Reason: "deadline", Message: "the deadline passed while rendering " + field, Err: ctx.Err()}
	}
	return &Failure{Reason: "template", Message: "rendering " + field, Err: err}
}
