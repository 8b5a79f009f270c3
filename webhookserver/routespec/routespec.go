// Package routespec compiles what an IntentRoute says: its when guard, the templates and expressions of its
// respond or call action, and its fallback, each problem reported at its field. The server compiles every route
// here and runs the result (webhookserver/action); the operator accepts a route only when it compiles here, so
// an accepted route never makes the server refuse its configuration. It links the expression language and
// nothing of the server's runtime (HTTP clients, circuit breakers, authentication).
package routespec

import (
	"errors"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

// FieldError is a compile problem at a field of the route spec, e.g. spec.call.body.
type FieldError struct {
	Field string
	Err   error
}

// Error writes the field and the problem. A FieldError inside another one is at a field relative to it (text
// inside spec.fallback), and the two are written as one path (spec.fallback.text).
func (e *FieldError) Error() string {
	var inner *FieldError
	if errors.As(e.Err, &inner) {
		return e.Field + "." + inner.Error()
	}
	return e.Field + ": " + e.Err.Error()
}

// Route is a compiled IntentRoute spec. One of Respond, Call and Forward is set, as the spec has one action.
type Route struct {
	// When is the compiled match.when guard, nil without one.
	When     *expr.Program
	Respond  *Respond
	Call     *Call
	Forward  *Forward
	Fallback *Fallback
}

// Forward is a compiled forward action: its target (a URL or a Service, both checked by the schema) and its
// auth and tls settings.
type Forward struct {
	Spec     *fulfillmentv1alpha1.ForwardAction
	Outbound Outbound
}

// Compile compiles spec. Every problem is a *FieldError at its field, under spec (spec.match.when,
// spec.respond.text, ...), joined with errors.Join. secret reads the Secret keys of call headers and of a call's or forward's auth and tls, configMap the
// ConfigMap keys of its tls; with a nil secret, neither is read, as when the operator checks a route whose
// Secrets and ConfigMaps it checks on its own.
func Compile(env *expr.Env, spec *fulfillmentv1alpha1.IntentRouteSpec, secret, configMap func(name, key string) ([]byte, error)) (*Route, error) {
	var errs []error
	route := &Route{}
	if when := spec.Match.When; when != "" {
		guard, err := env.Compile(when, expr.WithBoolResult())
		if err != nil {
			errs = append(errs, &FieldError{Field: "spec.match.when", Err: err})
		}
		route.When = guard
	}
	var err error
	switch {
	case spec.Respond != nil:
		route.Respond, err = CompileRespond(env, spec.Respond, "spec.respond")
	case spec.Call != nil:
		route.Call, err = CompileCall(env, spec.Call, "spec.call", secret, configMap)
	case spec.Forward != nil:
		route.Forward = &Forward{Spec: spec.Forward}
		route.Forward.Outbound, err = CompileOutbound(spec.Forward.Auth, spec.Forward.TLS, "spec.forward", secret, configMap)
	default:
		err = &FieldError{Field: "spec", Err: errors.New("no action: set respond, call or forward")}
	}
	if err != nil {
		errs = append(errs, err)
	}
	if route.Fallback, err = CompileFallback(env, spec.Fallback, "spec.fallback"); err != nil {
		errs = append(errs, err)
	}
	return route, errors.Join(errs...)
}
