package expr

import (
	"slices"
	"testing"
)

func TestUnguardedReads(t *testing.T) {
	cases := map[string]struct {
		template, when string
		want           []string
	}{
		"a parameter":                    {template: "your ${params.account} balance", want: []string{"params.account"}},
		"an index":                       {template: `${params["account"]}`, want: []string{"params.account"}},
		"request.parameters is params":   {template: "${request.parameters.account}", want: []string{"params.account"}},
		"body, headers and query":        {template: `${request.body.order} ${request.headers["x-id"]} ${request.query.lang}`, want: []string{"request.body.order", "request.headers.x-id", "request.query.lang"}},
		"only the first key of a path":   {template: "${params.address.city}", want: []string{"params.address"}},
		"once each":                      {template: "${params.a} and ${params.a}", want: []string{"params.a"}},
		"has() in the same expression":   {template: `${has(params.account) ? params.account : "your"}`},
		"in, in the same expression":     {template: `${"account" in params ? params["account"] : ""}`},
		"has() in another expression":    {template: `${has(params.account)} ${params.account}`, want: []string{"params.account"}},
		"an optional read":               {template: `${params.?account.orValue("")}`},
		"fields that are always there":   {template: "${request.intent} ${request.text} ${endpoint.name}"},
		"no expression":                  {template: "Sorry, try again."},
		"the guard tests it":             {template: "${params.account}", when: `has(params.account) && params.account != ""`},
		"a guard term among others":      {template: "${params.account}", when: `request.intent == "x" && (has(params.kind) && has(params.account))`},
		"a guard that may hold without":  {template: "${params.account}", when: `has(params.account) || request.intent == "x"`, want: []string{"params.account"}},
		"a guard testing another key":    {template: "${params.account}", when: `has(params.kind)`, want: []string{"params.account"}},
		"a template that does not parse": {template: "${params.}"},
	}
	env := testEnv(t)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := env.UnguardedReads(tc.template, tc.when); !slices.Equal(got, tc.want) {
				t.Errorf("UnguardedReads(%q, %q) = %q, want %q", tc.template, tc.when, got, tc.want)
			}
		})
	}
}
