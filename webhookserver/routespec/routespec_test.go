package routespec

import (
	"errors"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// Each problem of a route is a *FieldError at its field, one per line, as the operator lists them in a route's
// condition; and the server, which reports a problem on the outer field, reads the rest as the message.
func TestCompileReportsEveryProblemAtItsField(t *testing.T) {
	cases := map[string]struct {
		spec fulfillmentv1alpha1.IntentRouteSpec
		want []string
		// server is the field and message of each problem, as the server reports them.
		server [][2]string
	}{
		"a when guard that is no bool": {
			spec:   fulfillmentv1alpha1.IntentRouteSpec{Match: fulfillmentv1alpha1.RouteMatch{When: `"yes"`}, Forward: &fulfillmentv1alpha1.ForwardAction{URL: "http://b"}},
			want:   []string{"spec.match.when: "},
			server: [][2]string{{"spec.match.when", ""}},
		},
		"no action": {
			want:   []string{"spec: no action: set respond, call or forward"},
			server: [][2]string{{"spec", "no action: set respond, call or forward"}},
		},
		"a respond and a fallback that do not compile": {
			spec: fulfillmentv1alpha1.IntentRouteSpec{
				Respond:  &fulfillmentv1alpha1.RespondAction{Text: "${params.}"},
				Fallback: &fulfillmentv1alpha1.Fallback{Text: "${params.name +}", Payload: &apiextensionsv1.JSON{Raw: []byte(`{"retry": "${params.}"}`)}},
			},
			want: []string{"spec.respond.text: ", "spec.fallback.text: ", "spec.fallback.payload: .retry: "},
			server: [][2]string{{"spec.respond.text", ""}, {"spec.fallback", "text: "},
				{"spec.fallback", "payload: .retry: "}},
		},
		"a call whose answer mapping does not compile": {
			spec: fulfillmentv1alpha1.IntentRouteSpec{Call: &fulfillmentv1alpha1.CallAction{URL: "http://api/${params.}",
				Respond: &fulfillmentv1alpha1.RespondAction{Text: "${response.}"}}},
			want:   []string{"spec.call.url: ", "spec.call.respond.text: "},
			server: [][2]string{{"spec.call.url", ""}, {"spec.call.respond.text", ""}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Compile(env, &tc.spec, nil, nil)
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("got %q, want %d problems", lines, len(tc.want))
			}
			for i, want := range tc.want {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("problem %d is %q, want it to start with %q", i, lines[i], want)
				}
			}
			var got [][2]string
			for _, each := range leaves(err) {
				var fieldErr *FieldError
				if !errors.As(each, &fieldErr) {
					t.Fatalf("%v is no FieldError", each)
				}
				got = append(got, [2]string{fieldErr.Field, fieldErr.Err.Error()})
			}
			if len(got) != len(tc.server) {
				t.Fatalf("the server reads %q, want %d problems", got, len(tc.server))
			}
			for i, want := range tc.server {
				if got[i][0] != want[0] || !strings.HasPrefix(got[i][1], want[1]) {
					t.Errorf("the server reads %q, want %q", got[i], want)
				}
			}
		})
	}
}

// leaves are the errors inside errors.Join, as the server splits them.
func leaves(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, each := range joined.Unwrap() {
			out = append(out, leaves(each)...)
		}
		return out
	}
	return []error{err}
}

func TestCompileAcceptsARoute(t *testing.T) {
	spec := fulfillmentv1alpha1.IntentRouteSpec{
		Match:    fulfillmentv1alpha1.RouteMatch{When: `has(params.account)`},
		Respond:  &fulfillmentv1alpha1.RespondAction{Text: "Your balance, ${params.account}", Parameters: map[string]string{"b": "1", "a": "2"}},
		Fallback: &fulfillmentv1alpha1.Fallback{Text: "Try again"},
	}
	route, err := Compile(env, &spec, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if route.When == nil || route.Respond == nil || route.Respond.Text == nil || route.Fallback == nil || route.Fallback.Text == nil {
		t.Fatalf("something was not compiled: %+v", route)
	}
	if p := route.Respond.Parameters; len(p) != 2 || p[0].Name != "a" || p[1].Name != "b" {
		t.Errorf("parameters %+v, want them in name order", p)
	}
}
