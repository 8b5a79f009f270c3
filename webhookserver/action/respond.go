package action

import (
	"context"
	"fmt"

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
	for i, m := range spec.Messages {
		var message model.Message
		if message.Text, err = renderText(ctx, m.Text, vars, fmt.Sprintf("messages[%d].text", i)); err != nil {
			return nil, err
		}
		if message.Payload, err = renderObject(ctx, m.Payload, vars, fmt.Sprintf("messages[%d].payload", i)); err != nil {
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
	return answer, nil
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
