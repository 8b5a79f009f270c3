package routespec

import (
	"errors"
	"fmt"
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
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
}

// Parameter is a named expression of an answer's parameters.
type Parameter struct {
	Name    string
	Program *expr.Program
}

// Message is a compiled rich message.
type Message struct {
	Text    *expr.Template
	Payload *expr.Value
}

// FollowupEvent is a compiled follow-up event.
type FollowupEvent struct {
	Name, LanguageCode string
	Parameters         []Parameter
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
	for i, m := range spec.Messages {
		at := fmt.Sprintf("%s.messages[%d]", field, i)
		r.Messages = append(r.Messages, Message{
			Text:    template(m.Text, at+".text"),
			Payload: compileJSON(env, m.Payload, at+".payload", &errs, opts),
		})
	}
	if e := spec.FollowupEvent; e != nil {
		r.FollowupEvent = &FollowupEvent{
			Name:         e.Name,
			LanguageCode: e.LanguageCode,
			Parameters:   compileParameters(env, e.Parameters, field+".followupEvent.parameters", &errs, opts),
		}
	}
	return r, errors.Join(errs...)
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
