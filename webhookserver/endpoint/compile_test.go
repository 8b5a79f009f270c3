package endpoint

import (
	"slices"
	"strings"
	"testing"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

// An empty basic username or password, or an empty bearer token, would admit callers sending an empty
// credential: the configuration is refused, naming the Secret and key to fill.
func TestCompileRefusesEmptyCredentials(t *testing.T) {
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	basic := fulfillmentv1alpha1.EndpointAuth{Basic: &fulfillmentv1alpha1.BasicAuth{
		SecretRef: fulfillmentv1alpha1.LocalObjectReference{Name: "creds"}}}
	bearer := fulfillmentv1alpha1.EndpointAuth{Bearer: &fulfillmentv1alpha1.BearerAuth{
		SecretRef: fulfillmentv1alpha1.SecretKeySelector{Name: "creds", Key: "token"}}}
	tests := map[string]struct {
		auth    fulfillmentv1alpha1.EndpointAuth
		secret  map[string][]byte
		wantErr string
	}{
		"empty username": {basic, map[string][]byte{"username": nil, "password": []byte("pw")},
			`spec.auth: basic.secretRef: secret creds key "username" is empty: put the username callers send there`},
		"password of spaces": {basic, map[string][]byte{"username": []byte("bot"), "password": []byte(" \n")},
			`spec.auth: basic.secretRef: secret creds key "password" is empty: put the password callers send there`},
		"empty token": {bearer, map[string][]byte{"token": []byte("\t\n")},
			`spec.auth: bearer.secretRef: secret creds key "token" is empty: put the token callers send there`},
		"basic with both": {basic, map[string][]byte{"username": []byte("bot"), "password": []byte("pw")}, ""},
		"bearer with one": {bearer, map[string][]byte{"token": []byte("t0ken\n")}, ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			spec := configfile.Endpoint{Name: "bot", Namespace: "ns",
				Spec: fulfillmentv1alpha1.WebhookEndpointSpec{Dialect: fulfillmentv1alpha1.DialectGeneric, Auth: tt.auth}}
			_, err := Compile(spec, config.MapSecrets{"ns/creds": tt.secret}, Options{Env: env})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Compile: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Compile: %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// A fallback that reads a value a request may lack compiles, with a warning naming the object and field.
func TestCompileWarnsAboutFallbacksThatMayNotRender(t *testing.T) {
	e := compile(t, "DialogflowES", "Sorry ${params.name}.",
		`{match: {intents: [Pay]}, respond: {text: Paid.}, fallback: {text: "No ${params.account} today."}}`,
		`{match: {intents: [Pay], when: has(params.account)}, respond: {text: Paid.}, fallback: {text: "No ${params.account} today."}}`)
	warnings := e.Warnings()
	if len(warnings) != 2 {
		t.Fatalf("want 2 warnings (the endpoint's, r0's; r1's guard tests the key), got %q", warnings)
	}
	for i, want := range []string{"WebhookEndpoint ns/bot: spec.fallback.text reads params.name",
		"IntentRoute ns/r0: spec.fallback.text reads params.account"} {
		if !strings.HasPrefix(warnings[i], want) {
			t.Errorf("warning %d %q, want it to start with %q", i, warnings[i], want)
		}
	}
}

// A route answering with something its endpoint's dialect cannot send is refused when the server loads it, as
// the operator refuses it, naming the route, the field and the dialects that send it.
func TestCompileRefusesAnswerFieldsOfAnotherDialect(t *testing.T) {
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	spec := configfile.Endpoint{Name: "bot", Namespace: "ns", Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
		Dialect: fulfillmentv1alpha1.DialectRasa, Auth: fulfillmentv1alpha1.EndpointAuth{AllowUnauthenticated: true}},
		Routes: []configfile.Route{{Name: "promo", Spec: fulfillmentv1alpha1.IntentRouteSpec{
			Match: fulfillmentv1alpha1.RouteMatch{Actions: []string{"validate_promo_form"}},
			Respond: &fulfillmentv1alpha1.RespondAction{
				Text:     "Checked.",
				Contexts: []fulfillmentv1alpha1.DialogflowContext{{Name: "promo"}},
			}}}}}
	_, err = Compile(spec, config.MapSecrets{}, Options{Env: env})
	want := "IntentRoute ns/promo: spec.respond.contexts: a Rasa endpoint cannot send it; remove it or reference an endpoint of a dialect that does (DialogflowES)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Compile: %v, want %q", err, want)
	}
}

// A route matching on a list its endpoint's dialect never fills is refused when the server loads it, as the
// operator refuses it (InvalidTarget): on a laptop it would load and never answer, and in a cluster be refused.
func TestCompileRefusesMatchListsTheDialectNeverFills(t *testing.T) {
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	spec := configfile.Endpoint{Name: "bot", Namespace: "ns", Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
		Dialect: fulfillmentv1alpha1.DialectDialogflowES, Auth: fulfillmentv1alpha1.EndpointAuth{AllowUnauthenticated: true}},
		Routes: []configfile.Route{{Name: "status", Spec: fulfillmentv1alpha1.IntentRouteSpec{
			Match:   fulfillmentv1alpha1.RouteMatch{Intents: []string{"order.status"}, Tags: []string{"order-status"}},
			Respond: &fulfillmentv1alpha1.RespondAction{Text: "Shipped."},
		}}}}
	_, err = Compile(spec, config.MapSecrets{}, Options{Env: env})
	want := "IntentRoute ns/status: spec.match.tags: a DialogflowES endpoint never sends tags (a tag is Dialogflow CX " +
		"fulfillmentInfo.tag), so this list can never match"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Compile: %v, want %q", err, want)
	}

	spec.Spec.Dialect = fulfillmentv1alpha1.DialectDialogflowCX
	if _, err := Compile(spec, config.MapSecrets{}, Options{Env: env}); err != nil {
		t.Errorf("the same route on a Dialogflow CX endpoint: %v", err)
	}
}

// Routes with the same match and priority: the first in the server's order (older, then by name) answers, and
// the others are named in a warning, since the operator refuses them (Conflict) and they never answer here.
func TestCompileWarnsAboutRoutesThatNeverAnswer(t *testing.T) {
	e := compile(t, "DialogflowES", "",
		`{match: {intents: [Pay, Refund], when: params.n > 1}, respond: {text: one}}`,
		`{match: {intents: [Refund, Pay], when: " params.n > 1 "}, respond: {text: two}}`,
		`{match: {intents: [Pay, Refund], when: params.n > 1}, priority: 1, respond: {text: three}}`,
		`{match: {intents: [Pay]}, respond: {text: four}}`)
	want := []string{"IntentRoute ns/r1: the same match and priority as IntentRoute ns/r0, which answers first, " +
		"so this route never answers (a cluster refuses it: Conflict); change its match or priority"}
	if warnings := e.Warnings(); !slices.Equal(warnings, want) {
		t.Errorf("warnings %q, want %q", warnings, want)
	}
}
