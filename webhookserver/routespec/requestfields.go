package routespec

import (
	"errors"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

// RequestFields are a WebhookEndpoint's compiled expressions that give request fields routes select by: nil
// where the spec leaves the dialect's default.
type RequestFields struct {
	Environment *expr.Program
	Version     *expr.Program
}

// CompileRequestFields compiles spec.environmentFrom and spec.versionFrom. It lives here, beside the routes'
// compile, so that the operator refuses an endpoint whose expressions the server would refuse. Every problem is
// a *FieldError at its field, joined with errors.Join.
func CompileRequestFields(env *expr.Env, spec *fulfillmentv1alpha1.WebhookEndpointSpec) (RequestFields, error) {
	var fields RequestFields
	var errs []error
	for _, f := range []struct {
		field, src string
		into       **expr.Program
	}{
		{"spec.environmentFrom", spec.EnvironmentFrom, &fields.Environment},
		{"spec.versionFrom", spec.VersionFrom, &fields.Version},
	} {
		if f.src == "" {
			continue
		}
		program, err := env.Compile(f.src)
		if err != nil {
			errs = append(errs, &FieldError{Field: f.field, Err: err})
			continue
		}
		*f.into = program
	}
	return fields, errors.Join(errs...)
}
