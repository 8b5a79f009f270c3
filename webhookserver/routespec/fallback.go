package routespec

import (
	"errors"

	utiljson "k8s.io/apimachinery/pkg/util/json"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

// Fallback is a compiled fallback of an endpoint or a route: what is answered when nothing else can be.
type Fallback struct {
	// Text and Payload are nil when the fallback has none.
	Text    *expr.Template
	Payload *expr.Value
}

// CompileFallback compiles spec (nil: no fallback) at field (spec.fallback). Each problem is a *FieldError at
// field holding one at text or payload, so that it reads spec.fallback.text while the server can still report
// it on spec.fallback.
func CompileFallback(env *expr.Env, spec *fulfillmentv1alpha1.Fallback, field string) (*Fallback, error) {
	if spec == nil {
		return nil, nil
	}
	var errs []error
	fail := func(at string, err error) {
		errs = append(errs, &FieldError{Field: field, Err: &FieldError{Field: at, Err: err}})
	}
	f := &Fallback{}
	var err error
	if spec.Text != "" {
		if f.Text, err = env.CompileTemplate(spec.Text); err != nil {
			fail("text", err)
		}
	}
	if spec.Payload != nil && len(spec.Payload.Raw) > 0 {
		var value any
		if err := utiljson.Unmarshal(spec.Payload.Raw, &value); err != nil {
			fail("payload", err)
		} else if f.Payload, err = env.CompileValue(value); err != nil {
			fail("payload", err)
		}
	}
	return f, errors.Join(errs...)
}
