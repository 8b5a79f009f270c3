package routespec

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/http/httpguts"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

// Call is a compiled call action: the templates of its request, the values of its Secret headers, and the
// mapping of the answer.
type Call struct {
	// Spec is what was compiled, for the settings that need no compiling (method, timeout, retry).
	Spec    *fulfillmentv1alpha1.CallAction
	URL     *expr.Template
	Headers []Header
	// Body is nil when the spec has none.
	Body *expr.Program
	// Respond maps the upstream's answer; nil when the spec has none.
	Respond *Respond
	// Outbound are the auth and tls settings with what they read from Secrets.
	Outbound Outbound
}

// Header is a compiled header of a call.
type Header struct {
	Name string
	// Value is the template of the value, nil for a value read from a Secret.
	Value *expr.Template
	// Secret is a value read from a Secret, trimmed: never rendered, logged or echoed. Empty when Secrets were
	// not read.
	Secret string
}

// CompileCall compiles spec at field (e.g. spec.call). secret reads the Secret keys of headers, auth and tls,
// configMap the ConfigMap keys of tls; with a nil secret, neither is read.
func CompileCall(env *expr.Env, spec *fulfillmentv1alpha1.CallAction, field string, secret, configMap func(name, key string) ([]byte, error)) (*Call, error) {
	var errs []error
	c := &Call{Spec: spec}
	var err error
	if c.URL, err = env.CompileURLTemplate(spec.URL); err != nil {
		errs = append(errs, &FieldError{Field: field + ".url", Err: err})
	}
	for i, h := range spec.Headers {
		header, err := compileHeader(env, h, fmt.Sprintf("%s.headers[%d]", field, i), secret)
		if err != nil {
			errs = append(errs, err)
		}
		c.Headers = append(c.Headers, header)
	}
	if spec.Body != "" {
		if c.Body, err = env.Compile(spec.Body); err != nil {
			errs = append(errs, &FieldError{Field: field + ".body", Err: err})
		}
	}
	switch spec.BodyFormat {
	case "", fulfillmentv1alpha1.BodyFormatJSON, fulfillmentv1alpha1.BodyFormatForm, fulfillmentv1alpha1.BodyFormatXML:
	default:
		errs = append(errs, &FieldError{Field: field + ".bodyFormat", Err: fmt.Errorf("unknown format %q: use JSON, Form or XML", spec.BodyFormat)})
	}
	if spec.Respond != nil {
		if c.Respond, err = CompileRespond(env, spec.Respond, field+".respond", expr.WithResponse()); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Outbound, err = CompileOutbound(spec.Auth, spec.TLS, field, secret, configMap); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// compileHeader compiles the header h at field. A value read from a Secret is checked here, once, and never
// quoted.
func compileHeader(env *expr.Env, h fulfillmentv1alpha1.Header, field string, secret func(name, key string) ([]byte, error)) (Header, error) {
	header := Header{Name: h.Name}
	if !httpguts.ValidHeaderFieldName(h.Name) {
		return header, &FieldError{Field: field + ".name", Err: errors.New("not a valid header name: use letters, digits and !#$%&'*+-.^_`|~")}
	}
	if h.ValueFrom != nil {
		if secret == nil {
			return header, nil
		}
		at := field + ".valueFrom.secretKeyRef"
		value, err := secret(h.ValueFrom.SecretKeyRef.Name, h.ValueFrom.SecretKeyRef.Key)
		if err != nil {
			return header, &FieldError{Field: at, Err: err}
		}
		header.Secret = strings.TrimSpace(string(value))
		if !httpguts.ValidHeaderFieldValue(header.Secret) {
			return header, &FieldError{Field: at, Err: fmt.Errorf("the value of Secret key %s/%s is not a valid header value "+
				"(it holds a line break or another control character inside)", h.ValueFrom.SecretKeyRef.Name, h.ValueFrom.SecretKeyRef.Key)}
		}
		return header, nil
	}
	var err error
	if header.Value, err = env.CompileTemplate(h.Value); err != nil {
		return header, &FieldError{Field: field + ".value", Err: err}
	}
	return header, nil
}
