package action

import (
	"context"
	"errors"
	"fmt"
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Respond builds an answer from templates and expressions.
type Respond struct {
	text          *expr.Template
	parameters    []namedProgram
	payload       *expr.Value
	messages      []compiledMessage
	followupEvent *compiledFollowupEvent
	targetPage    *expr.Template
	targetFlow    *expr.Template
	mergeBehavior string
}

type namedProgram struct {
	name    string
	program *expr.Program
}

type compiledMessage struct {
	text    *expr.Template
	payload *expr.Value
}

type compiledFollowupEvent struct {
	name         string
	languageCode string
	parameters   []namedProgram
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
		text:          template(spec.Text, field+".text"),
		targetPage:    template(spec.TargetPage, field+".targetPage"),
		targetFlow:    template(spec.TargetFlow, field+".targetFlow"),
		mergeBehavior: string(spec.MergeBehavior),
	}
	r.parameters = compileParameters(env, spec.Parameters, field+".parameters", &errs, opts)
	r.payload = compileJSON(env, spec.Payload, field+".payload", &errs, opts)
	for i, m := range spec.Messages {
		at := fmt.Sprintf("%s.messages[%d]", field, i)
		r.messages = append(r.messages, compiledMessage{
			text:    template(m.Text, at+".text"),
			payload: compileJSON(env, m.Payload, at+".payload", &errs, opts),
		})
	}
	if e := spec.FollowupEvent; e != nil {
		r.followupEvent = &compiledFollowupEvent{
			name:         e.Name,
			languageCode: e.LanguageCode,
			parameters:   compileParameters(env, e.Parameters, field+".followupEvent.parameters", &errs, opts),
		}
	}
	return r, errors.Join(errs...)
}

// compileParameters compiles parameter expressions in name order, so that answers are deterministic.
func compileParameters(env *expr.Env, params map[string]string, field string, errs *[]error, opts []expr.CompileOption) []namedProgram {
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names)
	compiled := make([]namedProgram, 0, len(names))
	for _, name := range names {
		p, err := env.Compile(params[name], opts...)
		if err != nil {
			*errs = append(*errs, &FieldError{Field: field + "." + name, Err: err})
			continue
		}
		compiled = append(compiled, namedProgram{name, p})
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
	answer := &model.Answer{MergeBehavior: r.mergeBehavior}
	var err error
	if answer.Text, err = renderText(ctx, r.text, vars, "text"); err != nil {
		return nil, err
	}
	if answer.TargetPage, err = renderText(ctx, r.targetPage, vars, "targetPage"); err != nil {
		return nil, err
	}
	if answer.TargetFlow, err = renderText(ctx, r.targetFlow, vars, "targetFlow"); err != nil {
		return nil, err
	}
	if answer.Parameters, err = evalParameters(ctx, r.parameters, vars); err != nil {
		return nil, err
	}
	if answer.Payload, err = renderObject(ctx, r.payload, vars, "payload"); err != nil {
		return nil, err
	}
	for i, m := range r.messages {
		var message model.Message
		if message.Text, err = renderText(ctx, m.text, vars, fmt.Sprintf("messages[%d].text", i)); err != nil {
			return nil, err
		}
		if message.Payload, err = renderObject(ctx, m.payload, vars, fmt.Sprintf("messages[%d].payload", i)); err != nil {
			return nil, err
		}
		answer.Messages = append(answer.Messages, message)
	}
	if e := r.followupEvent; e != nil {
		params, err := evalParameters(ctx, e.parameters, vars)
		if err != nil {
			return nil, err
		}
		answer.FollowupEvent = &model.FollowupEvent{Name: e.name, LanguageCode: e.languageCode, Parameters: params}
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

func evalParameters(ctx context.Context, params []namedProgram, vars *expr.Vars) (map[string]any, error) {
	if len(params) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(params))
	for _, p := range params {
		v, err := p.program.Eval(ctx, vars)
		if err != nil {
			return nil, templateFailure(ctx, "parameters."+p.name, err)
		}
		out[p.name] = v
	}
	return out, nil
}

func templateFailure(ctx context.Context, field string, err error) error {
	if ctx.Err() != nil {
		return &Failure{Reason: "deadline", Message: "the deadline passed while rendering " + field, Err: ctx.Err()}
	}
	return &Failure{Reason: "template", Message: "rendering " + field, Err: err}
}
