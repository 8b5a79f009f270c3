package routespec

import (
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

func TestFallbackWarnings(t *testing.T) {
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		spec *fulfillmentv1alpha1.Fallback
		when string
		want []string // one substring per warning
	}{
		"no fallback": {},
		"text reading a parameter": {
			spec: &fulfillmentv1alpha1.Fallback{Text: "I couldn't look up your ${params.account} balance."},
			want: []string{`spec.fallback.text reads params.account, which a request may lack: this fallback then cannot render ` +
				`and the next one is answered (the endpoint's, else an empty answer); test it with has() or read it as optional ` +
				`(params.?account.orValue(""))`},
		},
		"guarded by the route's when": {
			spec: &fulfillmentv1alpha1.Fallback{Text: "your ${params.account} balance"},
			when: "has(params.account)",
		},
		"payload strings, by path": {
			spec: &fulfillmentv1alpha1.Fallback{Text: "Sorry.", Payload: &apiextensionsv1.JSON{
				Raw: []byte(`{"card": {"title": "Sorry", "id": "${request.headers['x-id']}"}, "list": ["${params.a}"]}`)}},
			want: []string{`spec.fallback.payload.card.id reads request.headers.x-id`, `(request.headers[?"x-id"].orValue(""))`,
				`spec.fallback.payload.list[0] reads params.a`},
		},
		"literal text": {spec: &fulfillmentv1alpha1.Fallback{Text: "Sorry, try again."}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := strings.Join(FallbackWarnings(env, tc.spec, tc.when, "spec.fallback"), "\n")
			for _, want := range tc.want {
				if !strings.Contains(got, want) {
					t.Errorf("warnings %q do not say %q", got, want)
				}
			}
			if len(tc.want) == 0 && got != "" {
				t.Errorf("unexpected warnings %q", got)
			}
		})
	}
}
