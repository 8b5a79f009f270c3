package routespec

import (
	"errors"
	"strings"
	"testing"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

var env = func() *expr.Env {
	e, err := expr.NewEnv()
	if err != nil {
		panic(err)
	}
	return e
}()

func secretHeader(name string) fulfillmentv1alpha1.Header {
	return fulfillmentv1alpha1.Header{Name: name, ValueFrom: &fulfillmentv1alpha1.HeaderSource{
		SecretKeyRef: fulfillmentv1alpha1.SecretKeySelector{Name: "api", Key: "token"}}}
}

func TestCompileCallRefusesInvalidHeaders(t *testing.T) {
	secrets := func(name, key string) ([]byte, error) { return []byte("line-one\nX-Injected: secret-tail"), nil }
	cases := map[string]struct {
		header fulfillmentv1alpha1.Header
		want   string
	}{
		"a Secret with a line break inside": {secretHeader("X-Api-Key"),
			"spec.call.headers[0].valueFrom.secretKeyRef: the value of Secret key api/token is not a valid header value"},
		"an invalid name": {fulfillmentv1alpha1.Header{Name: "X-Bad Name", Value: "v"}, "spec.call.headers[0].name: not a valid header name"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			spec := fulfillmentv1alpha1.CallAction{URL: "http://api.example/x", Headers: []fulfillmentv1alpha1.Header{tc.header}}
			_, err := CompileCall(env, &spec, "spec.call", secrets, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret-tail") {
				t.Errorf("the error quotes the Secret: %v", err)
			}
		})
	}
}

// The operator compiles routes without reading their Secrets (it checks them on its own): a header read from
// one must compile without its value, and nothing is read.
func TestCompileCallWithoutSecrets(t *testing.T) {
	spec := fulfillmentv1alpha1.CallAction{URL: "http://api.example/x", Headers: []fulfillmentv1alpha1.Header{secretHeader("Authorization")}}
	call, err := CompileCall(env, &spec, "spec.call", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := call.Headers[0]; h.Value != nil || h.Secret != "" {
		t.Errorf("got header %+v, want a Secret header without its value", h)
	}
}

func TestCompileCallReadsSecretHeaders(t *testing.T) {
	spec := fulfillmentv1alpha1.CallAction{URL: "http://api.example/x", Headers: []fulfillmentv1alpha1.Header{secretHeader("Authorization")}}
	secrets := func(name, key string) ([]byte, error) {
		if name != "api" || key != "token" {
			return nil, errors.New("no such key")
		}
		return []byte("Bearer t0ken\n"), nil
	}
	call, err := CompileCall(env, &spec, "spec.call", secrets, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := call.Headers[0]; h.Secret != "Bearer t0ken" {
		t.Errorf("got the Secret value %q, want it trimmed", h.Secret)
	}
	missing := func(string, string) ([]byte, error) { return nil, errors.New("secret api not found") }
	if _, err := CompileCall(env, &spec, "spec.call", missing, nil); err == nil ||
		err.Error() != "spec.call.headers[0].valueFrom.secretKeyRef: secret api not found" {
		t.Errorf("got %v, want the missing Secret at its field", err)
	}
}

func TestCompileCallChecksBodyFormat(t *testing.T) {
	for _, format := range []fulfillmentv1alpha1.BodyFormat{"", fulfillmentv1alpha1.BodyFormatJSON, fulfillmentv1alpha1.BodyFormatForm, fulfillmentv1alpha1.BodyFormatXML} {
		spec := fulfillmentv1alpha1.CallAction{URL: "http://api.example/x", BodyFormat: format}
		if _, err := CompileCall(env, &spec, "spec.call", nil, nil); err != nil {
			t.Errorf("bodyFormat %q: %v", format, err)
		}
	}
	spec := fulfillmentv1alpha1.CallAction{URL: "http://api.example/x", BodyFormat: "YAML"}
	_, err := CompileCall(env, &spec, "spec.call", nil, nil)
	if want := `spec.call.bodyFormat: unknown format "YAML": use JSON, Form or XML`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}
