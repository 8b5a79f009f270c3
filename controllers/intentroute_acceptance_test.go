package controllers

import (
	"slices"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

// acceptanceCreated is when routeFixture routes were created; older siblings are made before it.
var acceptanceCreated = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func acceptanceEnv(t *testing.T) *expr.Env {
	t.Helper()
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// routeFixture is an IntentRoute of endpoint bank in namespace bots answering intent balance from a template.
func routeFixture(name string, modify ...func(*fulfillmentv1alpha1.IntentRoute)) *fulfillmentv1alpha1.IntentRoute {
	route := &fulfillmentv1alpha1.IntentRoute{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "bots", Generation: 1, CreationTimestamp: metav1.NewTime(acceptanceCreated),
		},
		Spec: fulfillmentv1alpha1.IntentRouteSpec{
			EndpointRef: fulfillmentv1alpha1.LocalObjectReference{Name: "bank"},
			Match:       fulfillmentv1alpha1.RouteMatch{Intents: []string{"balance"}},
			Respond:     &fulfillmentv1alpha1.RespondAction{Text: "Hello ${params.name}"},
		},
	}
	for _, m := range modify {
		m(route)
	}
	return route
}

// endpointFixture is the DialogflowES WebhookEndpoint bank in namespace bots.
func endpointFixture(modify ...func(*fulfillmentv1alpha1.WebhookEndpoint)) *fulfillmentv1alpha1.WebhookEndpoint {
	endpoint := &fulfillmentv1alpha1.WebhookEndpoint{
		ObjectMeta: metav1.ObjectMeta{Name: "bank", Namespace: "bots", Generation: 1},
		Spec:       fulfillmentv1alpha1.WebhookEndpointSpec{Dialect: fulfillmentv1alpha1.DialectDialogflowES},
	}
	for _, m := range modify {
		m(endpoint)
	}
	return endpoint
}

func withDialect(d fulfillmentv1alpha1.Dialect) func(*fulfillmentv1alpha1.WebhookEndpoint) {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Dialect = d }
}

func withMatch(m fulfillmentv1alpha1.RouteMatch) func(*fulfillmentv1alpha1.IntentRoute) {
	return func(r *fulfillmentv1alpha1.IntentRoute) { r.Spec.Match = m }
}

func withWhen(when string) func(*fulfillmentv1alpha1.IntentRoute) {
	return func(r *fulfillmentv1alpha1.IntentRoute) { r.Spec.Match.When = when }
}

func withRespond(respond fulfillmentv1alpha1.RespondAction) func(*fulfillmentv1alpha1.IntentRoute) {
	return func(r *fulfillmentv1alpha1.IntentRoute) {
		r.Spec.Respond, r.Spec.Call, r.Spec.Forward = &respond, nil, nil
	}
}

func withCall(call fulfillmentv1alpha1.CallAction) func(*fulfillmentv1alpha1.IntentRoute) {
	return func(r *fulfillmentv1alpha1.IntentRoute) {
		r.Spec.Respond, r.Spec.Call, r.Spec.Forward = nil, &call, nil
	}
}

func withForward(forward fulfillmentv1alpha1.ForwardAction) func(*fulfillmentv1alpha1.IntentRoute) {
	return func(r *fulfillmentv1alpha1.IntentRoute) {
		r.Spec.Respond, r.Spec.Call, r.Spec.Forward = nil, nil, &forward
	}
}

func withPriority(p int32) func(*fulfillmentv1alpha1.IntentRoute) {
	return func(r *fulfillmentv1alpha1.IntentRoute) { r.Spec.Priority = p }
}

// createdBefore makes a route older than routeFixture's default by d.
func createdBefore(d time.Duration) func(*fulfillmentv1alpha1.IntentRoute) {
	return func(r *fulfillmentv1alpha1.IntentRoute) {
		r.CreationTimestamp = metav1.NewTime(acceptanceCreated.Add(-d))
	}
}

func beingDeleted(r *fulfillmentv1alpha1.IntentRoute) {
	r.DeletionTimestamp = &metav1.Time{Time: acceptanceCreated}
	r.Finalizers = []string{"example.com/keep"}
}

func rawJSON(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

// secretHeaderCall calls the bank with an Authorization header from Secret bank-api-token, key token.
var secretHeaderCall = fulfillmentv1alpha1.CallAction{
	URL: "https://bank.internal/accounts/${params.account}",
	Headers: []fulfillmentv1alpha1.Header{
		{Name: "X-Trace", Value: "${request.session}"},
		{Name: "Authorization", ValueFrom: &fulfillmentv1alpha1.HeaderSource{
			SecretKeyRef: fulfillmentv1alpha1.SecretKeySelector{Name: "bank-api-token", Key: "token"}}},
	},
	Body:    `{"account": params.account}`,
	Respond: &fulfillmentv1alpha1.RespondAction{Text: "Your balance is ${response.body.balance} EUR."},
}

func TestAcceptRoute(t *testing.T) {
	env := acceptanceEnv(t)
	es := endpointFixture()
	cx := endpointFixture(withDialect(fulfillmentv1alpha1.DialectDialogflowCX))
	rasa := endpointFixture(withDialect(fulfillmentv1alpha1.DialectRasa))
	generic := endpointFixture(withDialect(fulfillmentv1alpha1.DialectGeneric))
	asyncGeneric := endpointFixture(withDialect(fulfillmentv1alpha1.DialectGeneric), func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Delivery = &fulfillmentv1alpha1.Delivery{Mode: fulfillmentv1alpha1.DeliveryAsync}
	})
	deletedEndpoint := endpointFixture(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.DeletionTimestamp = &metav1.Time{Time: acceptanceCreated}
	})

	tests := map[string]struct {
		route *fulfillmentv1alpha1.IntentRoute
		facts RouteFacts
		// wantReason is the Accepted reason; Accepted is expected exactly when it is ReasonAccepted.
		wantReason string
		// wantMessage are substrings of the Accepted message; the first, when it starts with "=", is the
		// whole message.
		wantMessage    []string
		wantRefsReason string
		wantRefs       []string
	}{
		"a fallback reading a parameter without has() is accepted with a warning": {
			route: routeFixture("balance", func(r *fulfillmentv1alpha1.IntentRoute) {
				r.Spec.Fallback = &fulfillmentv1alpha1.Fallback{Text: "I couldn't look up your ${params.account} balance."}
			}),
			facts:      RouteFacts{Endpoint: es},
			wantReason: fulfillmentv1alpha1.ReasonAccepted,
			wantMessage: []string{"served by WebhookEndpoint bank; warning: spec.fallback.text reads params.account, " +
				"which a request may lack", `params.?account.orValue("")`},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
			wantRefs:       []string{"the route reads no Secret"},
		},
		"a fallback whose parameter the guard tests is accepted without a warning": {
			route: routeFixture("balance", withWhen("has(params.account)"), func(r *fulfillmentv1alpha1.IntentRoute) {
				r.Spec.Fallback = &fulfillmentv1alpha1.Fallback{Text: "I couldn't look up your ${params.account} balance."}
			}),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantMessage:    []string{"=served by WebhookEndpoint bank"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
			wantRefs:       []string{"the route reads no Secret"},
		},
		"a respond route of an existing endpoint is accepted": {
			route:          routeFixture("balance"),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantMessage:    []string{"=served by WebhookEndpoint bank"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
			wantRefs:       []string{"the route reads no Secret"},
		},
		"a missing endpoint": {
			route:          routeFixture("balance"),
			facts:          RouteFacts{},
			wantReason:     fulfillmentv1alpha1.ReasonEndpointNotFound,
			wantMessage:    []string{"=WebhookEndpoint bank does not exist in namespace bots"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an endpoint being deleted": {
			route:          routeFixture("balance"),
			facts:          RouteFacts{Endpoint: deletedEndpoint},
			wantReason:     fulfillmentv1alpha1.ReasonEndpointNotFound,
			wantMessage:    []string{"=WebhookEndpoint bank in namespace bots is being deleted"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"a missing endpoint comes before an invalid expression": {
			route:          routeFixture("balance", withWhen("params.x >")),
			facts:          RouteFacts{},
			wantReason:     fulfillmentv1alpha1.ReasonEndpointNotFound,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"a when guard with a syntax error": {
			route:          routeFixture("balance", withWhen("params.amount >")),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.match.when: params.amount >: Syntax error"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"a when guard that is not a bool": {
			route:          routeFixture("balance", withWhen(`"yes"`)),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{`=spec.match.when: "yes": must be a bool, not string`},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"a when guard reading JSON is accepted": {
			route:          routeFixture("balance", withWhen("params.amount > 100")),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an invalid respond text template": {
			route:          routeFixture("balance", withRespond(fulfillmentv1alpha1.RespondAction{Text: "Hi ${params.name +}"})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.respond.text: ${params.name +}: Syntax error"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an unterminated template": {
			route:          routeFixture("balance", withRespond(fulfillmentv1alpha1.RespondAction{Text: "Hi ${params.name"})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.respond.text: "},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"response outside a call": {
			route:          routeFixture("balance", withRespond(fulfillmentv1alpha1.RespondAction{Text: "${response.body.balance}"})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.respond.text: ${response.body.balance}: `response` is only available in the respond of a call action"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an invalid parameter expression": {
			route: routeFixture("balance", withRespond(fulfillmentv1alpha1.RespondAction{
				Parameters: map[string]string{"ok": "true", "total": "params.a +"}})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.respond.parameters.total: params.a +: Syntax error"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an invalid payload template": {
			route: routeFixture("balance", withRespond(fulfillmentv1alpha1.RespondAction{
				Payload: rawJSON(`{"card": {"title": "${params.}"}}`)})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.respond.payload: .card.title: ${params.}"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an invalid message text": {
			route: routeFixture("balance", withRespond(fulfillmentv1alpha1.RespondAction{
				Messages: []fulfillmentv1alpha1.Message{{Text: "fine"}, {Text: "${1 +}"}}})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.respond.messages[1].text: ${1 +}"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an invalid target page template": {
			route: routeFixture("balance", withRespond(fulfillmentv1alpha1.RespondAction{
				TargetPage: "projects/p/pages/${params.page"})),
			facts:          RouteFacts{Endpoint: cx},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.respond.targetPage: "},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an invalid followup event parameter": {
			route: routeFixture("balance", withRespond(fulfillmentv1alpha1.RespondAction{
				FollowupEvent: &fulfillmentv1alpha1.FollowupEvent{Name: "next", Parameters: map[string]string{"n": "1 +"}}})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.respond.followupEvent.parameters.n: 1 +"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"a call whose respond reads response is accepted": {
			route:          routeFixture("balance", withCall(secretHeaderCall)),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
			wantRefs:       []string{"=the referenced Secret key exists"},
		},
		"an invalid call url template": {
			route: routeFixture("balance", withCall(fulfillmentv1alpha1.CallAction{
				URL: "https://bank.internal/accounts/${params.account +}"})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.call.url: ${params.account +}"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"response in a call url": {
			route: routeFixture("balance", withCall(fulfillmentv1alpha1.CallAction{
				URL: "https://bank.internal/${response.status}"})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.call.url: ${response.status}: `response` is only available"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an invalid call header template": {
			route: routeFixture("balance", withCall(fulfillmentv1alpha1.CallAction{
				URL:     "https://bank.internal/",
				Headers: []fulfillmentv1alpha1.Header{{Name: "X-Session", Value: "${request.nope}"}}})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.call.headers[0].value: ${request.nope}"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an invalid call body": {
			route: routeFixture("balance", withCall(fulfillmentv1alpha1.CallAction{
				URL: "https://bank.internal/", Body: `{"account": params.account`})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{`spec.call.body: {"account": params.account: Syntax error`},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an invalid call respond": {
			route: routeFixture("balance", withCall(fulfillmentv1alpha1.CallAction{
				URL: "https://bank.internal/", Respond: &fulfillmentv1alpha1.RespondAction{Text: "${response.body.}"}})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.call.respond.text: ${response.body.}"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an invalid fallback text": {
			route: routeFixture("balance", func(r *fulfillmentv1alpha1.IntentRoute) {
				r.Spec.Fallback = &fulfillmentv1alpha1.Fallback{Text: "Sorry ${params.name +}"}
			}),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.fallback.text: ${params.name +}"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an invalid fallback payload": {
			route: routeFixture("balance", func(r *fulfillmentv1alpha1.IntentRoute) {
				r.Spec.Fallback = &fulfillmentv1alpha1.Fallback{Payload: rawJSON(`{"retry": "${params.}"}`)}
			}),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.fallback.payload: .retry: ${params.}"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"every invalid field is named, on one line": {
			route:          routeFixture("balance", withWhen("1 +"), withRespond(fulfillmentv1alpha1.RespondAction{Text: "${2 +}"})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantMessage:    []string{"spec.match.when: 1 +", "; spec.respond.text: ${2 +}"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an invalid expression comes before an invalid target": {
			route:          routeFixture("balance", withWhen("1 +"), withMatch(fulfillmentv1alpha1.RouteMatch{Tags: []string{"t"}, When: "1 +"})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"tags on a Dialogflow ES endpoint": {
			route:      routeFixture("balance", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"balance"}, Tags: []string{"balance"}})),
			facts:      RouteFacts{Endpoint: es},
			wantReason: fulfillmentv1alpha1.ReasonInvalidTarget,
			wantMessage: []string{"=spec.match.tags: a DialogflowES endpoint never sends tags (a tag is Dialogflow CX " +
				"fulfillmentInfo.tag), so this list can never match; remove it or reference an endpoint of a dialect " +
				"that sends them (DialogflowCX)"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"actions on a Dialogflow CX endpoint": {
			route:          routeFixture("balance", withMatch(fulfillmentv1alpha1.RouteMatch{Actions: []string{"balance"}})),
			facts:          RouteFacts{Endpoint: cx},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidTarget,
			wantMessage:    []string{"spec.match.actions: a DialogflowCX endpoint never sends actions", "(DialogflowES, Rasa)"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"a card on a Dialogflow CX endpoint names the dialects that send one": {
			route: routeFixture("balance", withRespond(fulfillmentv1alpha1.RespondAction{Messages: []fulfillmentv1alpha1.Message{
				{Card: &fulfillmentv1alpha1.CardMessage{Title: "Plans"}}}})),
			facts:      RouteFacts{Endpoint: cx},
			wantReason: fulfillmentv1alpha1.ReasonInvalidTarget,
			wantMessage: []string{"spec.respond.messages[0].card: a DialogflowCX endpoint cannot send it; remove it or " +
				"reference an endpoint of a dialect that does (DialogflowES, Rasa, Generic)"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"Rasa events on a Dialogflow ES endpoint": {
			route: routeFixture("balance", withRespond(fulfillmentv1alpha1.RespondAction{Text: "hi",
				Events: []fulfillmentv1alpha1.RasaEvent{{Restart: true}}})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidTarget,
			wantMessage:    []string{"spec.respond.events: a DialogflowES endpoint cannot send it", "(Rasa)"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"events on a Dialogflow ES endpoint": {
			route:          routeFixture("balance", withMatch(fulfillmentv1alpha1.RouteMatch{Events: []string{"welcome"}})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidTarget,
			wantMessage:    []string{"spec.match.events: a DialogflowES endpoint never sends events"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"events and tags on a Rasa endpoint are both named": {
			route:          routeFixture("balance", withMatch(fulfillmentv1alpha1.RouteMatch{Tags: []string{"t"}, Events: []string{"e"}})),
			facts:          RouteFacts{Endpoint: rasa},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidTarget,
			wantMessage:    []string{"spec.match.tags: a Rasa endpoint", "; spec.match.events: a Rasa endpoint"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"tags and events on a Dialogflow CX endpoint (CX sends its triggerEvent)": {
			route:          routeFixture("balance", withMatch(fulfillmentv1alpha1.RouteMatch{Tags: []string{"t"}, Events: []string{"sys.no-match-default"}})),
			facts:          RouteFacts{Endpoint: cx},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"actions on a Rasa endpoint": {
			route:          routeFixture("balance", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"i"}, Actions: []string{"action_balance"}})),
			facts:          RouteFacts{Endpoint: rasa},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"intents and events on a Generic endpoint": {
			route:          routeFixture("balance", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"i"}, Events: []string{"order.created"}})),
			facts:          RouteFacts{Endpoint: generic},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"a guard-only route on any dialect": {
			route:          routeFixture("balance", withMatch(fulfillmentv1alpha1.RouteMatch{When: `request.languageCode == "de"`})),
			facts:          RouteFacts{Endpoint: cx},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"a forward to a Service": {
			route: routeFixture("balance", withForward(fulfillmentv1alpha1.ForwardAction{
				Service: &fulfillmentv1alpha1.ServiceTarget{Name: "legacy-bot", Port: 8080, Path: "/"}})),
			facts:          RouteFacts{Endpoint: es},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"a call on an Async endpoint": {
			route: routeFixture("order", withMatch(fulfillmentv1alpha1.RouteMatch{Events: []string{"order.created"}}),
				withCall(secretHeaderCall)),
			facts:          RouteFacts{Endpoint: asyncGeneric},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"a forward on an Async endpoint": {
			route: routeFixture("order", withMatch(fulfillmentv1alpha1.RouteMatch{Events: []string{"order.created"}}),
				withForward(fulfillmentv1alpha1.ForwardAction{URL: "https://orders.internal/hook"})),
			facts:          RouteFacts{Endpoint: asyncGeneric},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"a missing header Secret rejects the route and fails ResolvedRefs": {
			route:      routeFixture("balance", withCall(secretHeaderCall)),
			facts:      RouteFacts{Endpoint: es, MissingSecrets: []string{"bank-api-token/token"}},
			wantReason: fulfillmentv1alpha1.ReasonInvalidTarget,
			wantMessage: []string{"=spec.call.headers[1].valueFrom.secretKeyRef: Secret bank-api-token with key token " +
				"not found: create it or fix the reference"},
			wantRefsReason: fulfillmentv1alpha1.ReasonSecretNotFound,
			wantRefs: []string{"=spec.call.headers[1].valueFrom.secretKeyRef: Secret bank-api-token with key token " +
				"not found: create it or fix the reference"},
		},
		"a whole missing Secret, listed twice": {
			route:          routeFixture("balance", withCall(secretHeaderCall)),
			facts:          RouteFacts{Endpoint: es, MissingSecrets: []string{"bank-api-token", "bank-api-token"}},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidTarget,
			wantMessage:    []string{"=spec.call.headers[1].valueFrom.secretKeyRef: Secret bank-api-token not found: create it or fix the reference"},
			wantRefsReason: fulfillmentv1alpha1.ReasonSecretNotFound,
		},
		"a missing Secret and a dead match list are both reported": {
			route:          routeFixture("balance", withCall(secretHeaderCall), withMatch(fulfillmentv1alpha1.RouteMatch{Tags: []string{"t"}})),
			facts:          RouteFacts{Endpoint: es, MissingSecrets: []string{"bank-api-token/token"}},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidTarget,
			wantMessage:    []string{"spec.match.tags: ", "; spec.call.headers[1].valueFrom.secretKeyRef: Secret bank-api-token"},
			wantRefsReason: fulfillmentv1alpha1.ReasonSecretNotFound,
		},
		"a missing Secret with an invalid expression": {
			route:          routeFixture("balance", withCall(secretHeaderCall), withWhen("1 +")),
			facts:          RouteFacts{Endpoint: es, MissingSecrets: []string{"bank-api-token/token"}},
			wantReason:     fulfillmentv1alpha1.ReasonInvalidExpression,
			wantRefsReason: fulfillmentv1alpha1.ReasonSecretNotFound,
		},
		"a Secret without the reference label rejects the route and fails ResolvedRefs": {
			route:      routeFixture("balance", withCall(secretHeaderCall)),
			facts:      RouteFacts{Endpoint: es, UnlabelledSecrets: []string{"bank-api-token"}},
			wantReason: fulfillmentv1alpha1.ReasonInvalidTarget,
			wantMessage: []string{"spec.call.headers[1].valueFrom.secretKeyRef: Secret bank-api-token is not labelled " +
				`fulfillment.dev/reference: "true"`, "kubectl label secret bank-api-token fulfillment.dev/reference=true"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefNotPermitted,
			wantRefs:       []string{"Secret bank-api-token is not labelled fulfillment.dev/reference"},
		},
		"a missing Secret without an endpoint": {
			route:          routeFixture("balance", withCall(secretHeaderCall)),
			facts:          RouteFacts{MissingSecrets: []string{"bank-api-token/token"}},
			wantReason:     fulfillmentv1alpha1.ReasonEndpointNotFound,
			wantRefsReason: fulfillmentv1alpha1.ReasonSecretNotFound,
		},
		"an older sibling with the same match and priority wins": {
			route: routeFixture("balance-v2"),
			facts: RouteFacts{Endpoint: es, Siblings: []fulfillmentv1alpha1.IntentRoute{
				*routeFixture("balance", createdBefore(time.Hour), withRespond(fulfillmentv1alpha1.RespondAction{Text: "other answer"})),
			}},
			wantReason: fulfillmentv1alpha1.ReasonConflict,
			wantMessage: []string{"=IntentRoute balance has the same match and priority and was created earlier, so this " +
				"route could never answer; change the match or priority of one of them, or delete one"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"created at the same time: the name decides": {
			route:          routeFixture("b"),
			facts:          RouteFacts{Endpoint: es, Siblings: []fulfillmentv1alpha1.IntentRoute{*routeFixture("a")}},
			wantReason:     fulfillmentv1alpha1.ReasonConflict,
			wantMessage:    []string{"IntentRoute a has the same match and priority and was created at the same time and its name sorts first"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"the winner of a conflict is accepted": {
			route:          routeFixture("a"),
			facts:          RouteFacts{Endpoint: es, Siblings: []fulfillmentv1alpha1.IntentRoute{*routeFixture("b")}},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"the oldest of several is named": {
			route: routeFixture("balance-v3"),
			facts: RouteFacts{Endpoint: es, Siblings: []fulfillmentv1alpha1.IntentRoute{
				*routeFixture("balance-v2", createdBefore(time.Hour)),
				*routeFixture("balance-v1", createdBefore(2*time.Hour)),
				*routeFixture("balance-v0", createdBefore(30*time.Minute)),
			}},
			wantReason:     fulfillmentv1alpha1.ReasonConflict,
			wantMessage:    []string{"IntentRoute balance-v1 has the same match"},
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"the same sets in another order and with duplicates conflict": {
			route: routeFixture("new", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"b", "a"}, When: " params.x == 1 "})),
			facts: RouteFacts{Endpoint: es, Siblings: []fulfillmentv1alpha1.IntentRoute{
				*routeFixture("old", createdBefore(time.Minute), withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"a", "b", "a"}, When: "params.x == 1"})),
			}},
			wantReason:     fulfillmentv1alpha1.ReasonConflict,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"another priority does not conflict": {
			route:          routeFixture("new", withPriority(10)),
			facts:          RouteFacts{Endpoint: es, Siblings: []fulfillmentv1alpha1.IntentRoute{*routeFixture("old", createdBefore(time.Hour))}},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"another guard does not conflict": {
			route:          routeFixture("new", withWhen("params.vip == true")),
			facts:          RouteFacts{Endpoint: es, Siblings: []fulfillmentv1alpha1.IntentRoute{*routeFixture("old", createdBefore(time.Hour))}},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an overlapping but different match does not conflict": {
			route:          routeFixture("new", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"balance", "savings"}})),
			facts:          RouteFacts{Endpoint: es, Siblings: []fulfillmentv1alpha1.IntentRoute{*routeFixture("old", createdBefore(time.Hour))}},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an older sibling that does not compile does not shadow": {
			route: routeFixture("new"),
			facts: RouteFacts{Endpoint: es, Siblings: []fulfillmentv1alpha1.IntentRoute{
				*routeFixture("old", createdBefore(time.Hour), withRespond(fulfillmentv1alpha1.RespondAction{Text: "${1 +}"})),
			}},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an older sibling being deleted does not shadow": {
			route:          routeFixture("new"),
			facts:          RouteFacts{Endpoint: es, Siblings: []fulfillmentv1alpha1.IntentRoute{*routeFixture("old", createdBefore(time.Hour), beingDeleted)}},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"an older route of another endpoint does not conflict": {
			route: routeFixture("new"),
			facts: RouteFacts{Endpoint: es, Siblings: []fulfillmentv1alpha1.IntentRoute{
				*routeFixture("old", createdBefore(time.Hour), func(r *fulfillmentv1alpha1.IntentRoute) { r.Spec.EndpointRef.Name = "shop" }),
			}},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
		"the route itself among the siblings": {
			route:          routeFixture("balance"),
			facts:          RouteFacts{Endpoint: es, Siblings: []fulfillmentv1alpha1.IntentRoute{*routeFixture("balance", createdBefore(time.Hour))}},
			wantReason:     fulfillmentv1alpha1.ReasonAccepted,
			wantRefsReason: fulfillmentv1alpha1.ReasonRefsResolved,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := tc.route.DeepCopy()
			got := AcceptRoute(env, tc.route, tc.facts)
			if want := tc.wantReason == fulfillmentv1alpha1.ReasonAccepted; got.Accepted != want || got.Reason != tc.wantReason {
				t.Fatalf("Accepted = %v %s (%s), want %v %s", got.Accepted, got.Reason, got.Message, want, tc.wantReason)
			}
			checkMessage(t, "Accepted", got.Message, tc.wantMessage)
			if want := tc.wantRefsReason == fulfillmentv1alpha1.ReasonRefsResolved; got.ResolvedRefs != want || got.RefsReason != tc.wantRefsReason {
				t.Fatalf("ResolvedRefs = %v %s (%s), want %v %s", got.ResolvedRefs, got.RefsReason, got.RefsMessage, want, tc.wantRefsReason)
			}
			checkMessage(t, "ResolvedRefs", got.RefsMessage, tc.wantRefs)
			if got.Message == "" || got.RefsMessage == "" || strings.Contains(got.Message, "\n") {
				t.Errorf("messages must be one non-empty line: %q, %q", got.Message, got.RefsMessage)
			}
			if strings.Contains(got.Message+got.RefsMessage, "placeholder") {
				t.Errorf("a message shows the stand-in Secret value: %q", got.Message)
			}
			if !apiequality.Semantic.DeepEqual(before, tc.route) {
				t.Errorf("AcceptRoute modified the route")
			}
		})
	}
}

func checkMessage(t *testing.T, condition, got string, want []string) {
	t.Helper()
	for i, w := range want {
		if i == 0 && strings.HasPrefix(w, "=") {
			if got != w[1:] {
				t.Errorf("%s message\n got %q\nwant %q", condition, got, w[1:])
			}
			continue
		}
		if !strings.Contains(got, w) {
			t.Errorf("%s message %q does not contain %q", condition, got, w)
		}
	}
}

func TestAcceptRouteListsAtMostFiveProblems(t *testing.T) {
	params := map[string]string{}
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		params[name] = "1 +"
	}
	route := routeFixture("balance", withRespond(fulfillmentv1alpha1.RespondAction{Parameters: params}))
	got := AcceptRoute(acceptanceEnv(t), route, RouteFacts{Endpoint: endpointFixture()})
	if got.Reason != fulfillmentv1alpha1.ReasonInvalidExpression || !strings.HasSuffix(got.Message, "; and 2 more") ||
		strings.Count(got.Message, "spec.respond.parameters.") != 5 {
		t.Fatalf("message = %q", got.Message)
	}
}

// Two routes that list the same environments and versions, in any order, still conflict.
func TestRouteConflictKeyEnvironmentsAreSets(t *testing.T) {
	a := routeFixture("a", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"x"}, Environments: []string{"test", "draft"}, Versions: []string{"1", "2"}}))
	b := routeFixture("b", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"x"}, Environments: []string{"draft", "test"}, Versions: []string{"2", "1", "2"}}))
	if RouteConflictKey(a) != RouteConflictKey(b) {
		t.Errorf("routes with the same environments and versions do not conflict:\n%s\n%s", RouteConflictKey(a), RouteConflictKey(b))
	}
}

func TestRouteConflictKey(t *testing.T) {
	base := routeFixture("a", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"x", "y"}, When: "params.n > 1"}))
	tests := map[string]struct {
		other    *fulfillmentv1alpha1.IntentRoute
		conflict bool
	}{
		"another name, action and age": {
			other: routeFixture("b", createdBefore(time.Hour), withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"x", "y"}, When: "params.n > 1"}),
				withForward(fulfillmentv1alpha1.ForwardAction{URL: "https://x.internal"})),
			conflict: true,
		},
		"the same set in another order, duplicated, guard with surrounding space": {
			other:    routeFixture("b", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"y", "x", "y"}, When: "\tparams.n > 1\n"})),
			conflict: true,
		},
		"a subset": {
			other:    routeFixture("b", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"x"}, When: "params.n > 1"})),
			conflict: false,
		},
		"the values as actions": {
			other:    routeFixture("b", withMatch(fulfillmentv1alpha1.RouteMatch{Actions: []string{"x", "y"}, When: "params.n > 1"})),
			conflict: false,
		},
		"an extra tag": {
			other:    routeFixture("b", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"x", "y"}, Tags: []string{"t"}, When: "params.n > 1"})),
			conflict: false,
		},
		"an extra event": {
			other:    routeFixture("b", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"x", "y"}, Events: []string{"e"}, When: "params.n > 1"})),
			conflict: false,
		},
		"another guard": {
			other:    routeFixture("b", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"x", "y"}, When: "params.n > 2"})),
			conflict: false,
		},
		"no guard": {
			other:    routeFixture("b", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"x", "y"}})),
			conflict: false,
		},
		"another priority": {
			other:    routeFixture("b", withPriority(1), withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"x", "y"}, When: "params.n > 1"})),
			conflict: false,
		},
		"another endpoint": {
			other: routeFixture("b", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"x", "y"}, When: "params.n > 1"}),
				func(r *fulfillmentv1alpha1.IntentRoute) { r.Spec.EndpointRef.Name = "shop" }),
			conflict: false,
		},
		"another environment": {
			other:    routeFixture("b", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"x", "y"}, When: "params.n > 1", Environments: []string{"production"}})),
			conflict: false,
		},
		"another version": {
			other:    routeFixture("b", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"x", "y"}, When: "params.n > 1", Versions: []string{"2"}})),
			conflict: false,
		},
		"a value containing the separator of another": {
			other:    routeFixture("b", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{`x","y`}, When: "params.n > 1"})),
			conflict: false,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := RouteConflictKey(base) == RouteConflictKey(tc.other); got != tc.conflict {
				t.Errorf("same key = %v, want %v:\n%s\n%s", got, tc.conflict, RouteConflictKey(base), RouteConflictKey(tc.other))
			}
		})
	}
}

func TestAcceptedRoutes(t *testing.T) {
	env := acceptanceEnv(t)
	endpoint := endpointFixture()
	routes := []fulfillmentv1alpha1.IntentRoute{
		*routeFixture("zz-default", createdBefore(time.Hour)),
		*routeFixture("conflicting", withRespond(fulfillmentv1alpha1.RespondAction{Text: "again"})),
		*routeFixture("urgent", withPriority(10), withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"block-card"}})),
		*routeFixture("broken", withWhen("1 +")),
		*routeFixture("other-endpoint", func(r *fulfillmentv1alpha1.IntentRoute) { r.Spec.EndpointRef.Name = "shop" }),
		*routeFixture("leaving", beingDeleted, withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"bye"}})),
		*routeFixture("needs-token", withCall(secretHeaderCall), withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"transfer"}})),
		*routeFixture("aa-default-later", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"hello"}})),
	}
	missing := func(r *fulfillmentv1alpha1.IntentRoute) RouteSecretFacts {
		if r.Name == "needs-token" {
			return RouteSecretFacts{Missing: []string{"bank-api-token/token"}}
		}
		return RouteSecretFacts{}
	}

	set := AcceptedRoutes(env, endpoint, routes, missing)
	counts := set.Counts
	var names []string
	for _, r := range set.Accepted {
		names = append(names, r.Name)
	}
	if want := []string{"urgent", "zz-default", "aa-default-later"}; !slices.Equal(names, want) {
		t.Errorf("accepted = %v, want %v (priority, then older, then name)", names, want)
	}
	if want := (fulfillmentv1alpha1.RouteCounts{Accepted: 3, Rejected: 3}); counts != want {
		t.Errorf("counts = %+v, want %+v", counts, want)
	}

	// Without a lookup no Secret is missing.
	counts = AcceptedRoutes(env, endpoint, routes, nil).Counts
	if want := (fulfillmentv1alpha1.RouteCounts{Accepted: 4, Rejected: 2}); counts != want {
		t.Errorf("counts without missing Secrets = %+v, want %+v", counts, want)
	}

	// A Secret that exists but may not be referenced keeps the route out as well.
	unlabelled := func(r *fulfillmentv1alpha1.IntentRoute) RouteSecretFacts {
		if r.Name == "needs-token" {
			return RouteSecretFacts{Unlabelled: []string{"bank-api-token"}}
		}
		return RouteSecretFacts{}
	}
	counts = AcceptedRoutes(env, endpoint, routes, unlabelled).Counts
	if want := (fulfillmentv1alpha1.RouteCounts{Accepted: 3, Rejected: 3}); counts != want {
		t.Errorf("counts with an unlabelled Secret = %+v, want %+v", counts, want)
	}

	// A Secret without the header's key keeps the route out, with the key named.
	keyMissing := func(r *fulfillmentv1alpha1.IntentRoute) RouteSecretFacts {
		if r.Name == "needs-token" {
			return RouteSecretFacts{Invalid: CheckSecretKeys(RouteSecretRequirements(r), map[string][]byte{"other": []byte("x")})}
		}
		return RouteSecretFacts{}
	}
	counts = AcceptedRoutes(env, endpoint, routes, keyMissing).Counts
	if want := (fulfillmentv1alpha1.RouteCounts{Accepted: 3, Rejected: 3}); counts != want {
		t.Errorf("counts with a missing Secret key = %+v, want %+v", counts, want)
	}
}

func TestRouteSecretKeys(t *testing.T) {
	call := secretHeaderCall
	call.Headers = append(slices.Clone(call.Headers),
		fulfillmentv1alpha1.Header{Name: "X-Again", ValueFrom: &fulfillmentv1alpha1.HeaderSource{
			SecretKeyRef: fulfillmentv1alpha1.SecretKeySelector{Name: "bank-api-token", Key: "token"}}},
		fulfillmentv1alpha1.Header{Name: "X-Client", ValueFrom: &fulfillmentv1alpha1.HeaderSource{
			SecretKeyRef: fulfillmentv1alpha1.SecretKeySelector{Name: "a-client", Key: "id"}}})
	tests := map[string]struct {
		route *fulfillmentv1alpha1.IntentRoute
		want  []string
	}{
		"respond":                {route: routeFixture("r"), want: nil},
		"call with header refs":  {route: routeFixture("r", withCall(call)), want: []string{"a-client/id", "bank-api-token/token"}},
		"call with literal only": {route: routeFixture("r", withCall(fulfillmentv1alpha1.CallAction{URL: "https://x.internal"})), want: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := RouteSecretKeys(tc.route); !slices.Equal(got, tc.want) {
				t.Errorf("RouteSecretKeys = %v, want %v", got, tc.want)
			}
		})
	}
}
