package endpoint

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

// closedURL is an address nothing listens on, for failing calls.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/down"
}

func compile(t *testing.T, dialectName, fallback string, routes ...string) *Endpoint {
	t.Helper()
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	spec := configfile.Endpoint{Name: "bot", Namespace: "ns", Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
		Dialect: fulfillmentv1alpha1.Dialect(dialectName),
		Auth:    fulfillmentv1alpha1.EndpointAuth{AllowUnauthenticated: true},
	}}
	if fallback != "" {
		spec.Spec.Fallback = &fulfillmentv1alpha1.Fallback{Text: fallback}
	}
	for i, r := range routes {
		var route fulfillmentv1alpha1.IntentRouteSpec
		if err := yaml.UnmarshalStrict([]byte(r), &route); err != nil {
			t.Fatal(err)
		}
		spec.Routes = append(spec.Routes, configfile.Route{Name: "r" + string(rune('0'+i)), Spec: route})
	}
	e, err := Compile(spec, config.MapSecrets{}, Options{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestFallbackRules(t *testing.T) {
	down := closedURL(t)
	esRequest := `{"responseId":"r","session":"projects/p/agent/sessions/s","queryResult":{"intent":{"displayName":"%s"}}}`
	cases := map[string]struct {
		endpoint     *Endpoint
		body         string
		status       int
		fallback     string
		bodyContains string
	}{
		"ES, no route, endpoint fallback": {
			compile(t, "DialogflowES", "Sorry."), strings.Replace(esRequest, "%s", "Unknown", 1),
			http.StatusOK, FallbackNoRoute, `"fulfillmentText":"Sorry."`},
		"ES, no route, no fallback: empty answer, the agent answers itself": {
			compile(t, "DialogflowES", ""), strings.Replace(esRequest, "%s", "Unknown", 1),
			http.StatusOK, FallbackNoRoute, `{}`},
		"ES, action failed, route fallback wins": {
			compile(t, "DialogflowES", "Endpoint sorry.", `{match: {intents: [Pay]}, call: {url: "`+down+`"}, fallback: {text: Route sorry.}}`),
			strings.Replace(esRequest, "%s", "Pay", 1), http.StatusOK, FallbackActionFailed, `Route sorry.`},
		"ES, action failed, endpoint fallback": {
			compile(t, "DialogflowES", "Endpoint sorry.", `{match: {intents: [Pay]}, call: {url: "`+down+`"}}`),
			strings.Replace(esRequest, "%s", "Pay", 1), http.StatusOK, FallbackActionFailed, `Endpoint sorry.`},
		"Rasa, unknown action: Rasa's 404": {
			compile(t, "Rasa", "Sorry."), `{"next_action":"action_x","tracker":{"sender_id":"u"}}`,
			http.StatusNotFound, "", `"action_name":"action_x"`},
		"Generic, action failed: 502 so the sender retries, no fallback": {
			compile(t, "Generic", "Sorry.", `{match: {events: [e]}, call: {url: "`+down+`"}}`), `{"event":"e"}`,
			http.StatusBadGateway, "", `"code":"action_failed"`},
		"Generic, action failed with a route fallback": {
			compile(t, "Generic", "", `{match: {events: [e]}, call: {url: "`+down+`"}, fallback: {text: later}}`), `{"event":"e"}`,
			http.StatusOK, FallbackActionFailed, `"fulfillmentText":"later"`},
		"Generic, a template the event cannot fill: 422, retrying cannot help": {
			compile(t, "Generic", "", `{match: {events: [e]}, respond: {text: "${params.missing}"}}`), `{"event":"e"}`,
			http.StatusUnprocessableEntity, "", `"code":"unprocessable_event"`},
		"Generic, no route: accepted with the fallback": {
			compile(t, "Generic", "nothing to do"), `{"event":"other"}`,
			http.StatusOK, FallbackNoRoute, `nothing to do`},
		"malformed request": {
			compile(t, "Generic", ""), `{"event":`, http.StatusBadRequest, "", `"code":"malformed_request"`},

		// A fallback that cannot render is never answered as its source nor with a hole in it.
		"ES, the route fallback reads a missing parameter: the endpoint fallback": {
			compile(t, "DialogflowES", "Endpoint sorry.", `{match: {intents: [Pay]}, call: {url: "`+down+`"}, fallback: {text: "No ${params.account} today."}}`),
			strings.Replace(esRequest, "%s", "Pay", 1), http.StatusOK, FallbackActionFailed, `"fulfillmentText":"Endpoint sorry."`},
		"ES, the route fallback's payload fails: the endpoint fallback whole": {
			compile(t, "DialogflowES", "Endpoint sorry.", `{match: {intents: [Pay]}, call: {url: "`+down+`"}, fallback: {text: Route sorry., payload: {account: "${params.account}"}}}`),
			strings.Replace(esRequest, "%s", "Pay", 1), http.StatusOK, FallbackActionFailed,
			`{"fulfillmentText":"Endpoint sorry.","fulfillmentMessages":[{"text":{"text":["Endpoint sorry."]}}]}`},
		"ES, the endpoint fallback reads a missing parameter: empty answer": {
			compile(t, "DialogflowES", "Sorry ${params.name}."), strings.Replace(esRequest, "%s", "Unknown", 1),
			http.StatusOK, FallbackNoRoute, `{}`},
		"Generic, the route fallback cannot render: the action's error answer, not a fallback": {
			compile(t, "Generic", "Sorry.", `{match: {events: [e]}, call: {url: "`+down+`"}, fallback: {text: "${params.missing}"}}`), `{"event":"e"}`,
			http.StatusBadGateway, "", `"code":"action_failed"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			outcome := tc.endpoint.Fulfill(context.Background(), dialect.Input{
				Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(tc.body),
			})
			if outcome.Status != tc.status || outcome.Fallback != tc.fallback || !strings.Contains(string(outcome.Body), tc.bodyContains) {
				t.Errorf("got %d fallback %q body %s; want %d %q containing %s", outcome.Status, outcome.Fallback, outcome.Body,
					tc.status, tc.fallback, tc.bodyContains)
			}
			if outcome.Header().Get(FallbackHeader) != tc.fallback {
				t.Errorf("%s header %q, want %q", FallbackHeader, outcome.Header().Get(FallbackHeader), tc.fallback)
			}
			// An action failure answered as an error is named by its code, never as a fallback.
			if wantActionError := tc.status == http.StatusBadGateway || tc.status == http.StatusUnprocessableEntity; wantActionError != (outcome.ActionError != "") ||
				(wantActionError && !strings.Contains(string(outcome.Body), `"code":"`+outcome.ActionError+`"`)) {
				t.Errorf("ActionError %q for a %d answer %s", outcome.ActionError, outcome.Status, outcome.Body)
			}
			if strings.Contains(string(outcome.Body), "${") {
				t.Errorf("a template's source reached the caller: %s", outcome.Body)
			}
		})
	}
}

// The log says why a fallback was not answered: which one failed, at which field, on which expression.
func TestFallbackErrorNamesTheFailedFallback(t *testing.T) {
	down := closedURL(t)
	e := compile(t, "DialogflowES", "Sorry ${params.name}.",
		`{match: {intents: [Pay]}, call: {url: "`+down+`"}, fallback: {text: "No ${params.account} today."}}`)
	outcome := e.Fulfill(context.Background(), dialect.Input{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"responseId":"r","session":"projects/p/agent/sessions/s","queryResult":{"intent":{"displayName":"Pay"}}}`)})
	if outcome.FallbackError == nil {
		t.Fatal("no FallbackError")
	}
	got := outcome.FallbackError.Error()
	for _, want := range []string{"IntentRoute ns/r0 spec.fallback.text", "params.account", "no such key: account",
		"WebhookEndpoint ns/bot spec.fallback.text", "no such key: name"} {
		if !strings.Contains(got, want) {
			t.Errorf("FallbackError %q does not say %q", got, want)
		}
	}
	if strings.Contains(got, "\n") {
		t.Errorf("FallbackError is not one line: %q", got)
	}
}

// With Explain, the outcome says which routes were considered and why each did not answer; without it, nothing
// is recorded.
func TestExplainRecordsMatchDecisions(t *testing.T) {
	routes := []string{`{priority: 10, match: {intents: [Pay], when: 'params.account == "demo"'}, respond: {text: Demo.}}`,
		`{match: {intents: [Pay]}, respond: {text: Paid.}}`}
	body := []byte(`{"responseId":"r","session":"projects/p/agent/sessions/s","queryResult":{"intent":{"displayName":"Pay"}}}`)
	in := dialect.Input{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}

	quiet := compile(t, "DialogflowES", "", routes...)
	if outcome := quiet.Fulfill(context.Background(), in); outcome.Match != nil {
		t.Errorf("decisions recorded without Explain: %+v", outcome.Match)
	}
	explained := compile(t, "DialogflowES", "", routes...)
	explained.explain = true
	outcome := explained.Fulfill(context.Background(), in)
	if outcome.Route != "r1" || len(outcome.Match) != 2 {
		t.Fatalf("route %q, decisions %+v; want r1 after 2 decisions", outcome.Route, outcome.Match)
	}
	if d := outcome.Match[0]; d.Route != "r0" || d.Matched || d.GuardErr == nil {
		t.Errorf("first decision %+v, want r0's guard failed", d)
	}

	noRoute := explained.Fulfill(context.Background(), dialect.Input{Method: http.MethodPost, Header: in.Header,
		Body: []byte(strings.Replace(string(body), "Pay", "Other", 1))})
	if !noRoute.NoRoute || noRoute.Route != "" {
		t.Errorf("no route: NoRoute=%v Route=%q", noRoute.NoRoute, noRoute.Route)
	}
}

func TestAnswerMargin(t *testing.T) {
	cases := map[string]struct{ timeout, want string }{
		"short deadlines keep 10ms": {"100ms", "10ms"},
		"5% in between":             {"4.5s", "225ms"},
		"long deadlines keep 250ms": {"30s", "250ms"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := answerMargin(mustDuration(tc.timeout)).String(); got != tc.want {
				t.Errorf("margin %s, want %s", got, tc.want)
			}
		})
	}
}

func mustDuration(s string) time.Duration {
	parsed, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return parsed
}

// Outcomes share no header map: each writes its own headers, so that changing one answer's headers (as the
// server does, adding its own) never changes another's.
func TestOutcomeHeadersAreNotShared(t *testing.T) {
	e := compile(t, "DialogflowES", "Sorry.", `{match: {intents: [Hello]}, respond: {text: Hi.}}`)
	esRequest := `{"responseId":"r","session":"projects/p/agent/sessions/s","queryResult":{"intent":{"displayName":"%s"}}}`
	answered := e.Fulfill(context.Background(), dialect.Input{Method: http.MethodPost, Body: []byte(strings.Replace(esRequest, "%s", "Hello", 1))})
	fallback := e.Fulfill(context.Background(), dialect.Input{Method: http.MethodPost, Body: []byte(strings.Replace(esRequest, "%s", "Other", 1))})
	if answered.Fallback != "" || fallback.Fallback != FallbackNoRoute {
		t.Fatalf("fallbacks %q and %q, want none and %q", answered.Fallback, fallback.Fallback, FallbackNoRoute)
	}
	busy := &Outcome{Status: http.StatusConflict, retryAfter: 1}
	if got := busy.Header().Get("Retry-After") + " " + busy.Header().Get("Content-Type"); got != "1 application/json" {
		t.Errorf("a busy answer gave Retry-After and Content-Type %q", got)
	}
	if fallback.Header().Get(FallbackHeader) != FallbackNoRoute {
		t.Errorf("fallback header %v, want %s: %s", fallback.Header(), FallbackHeader, FallbackNoRoute)
	}
	// The server writes an outcome's headers into its response's and adds its own: later answers never see them.
	written := http.Header{}
	answered.WriteHeaders(written)
	fallback.WriteHeaders(written)
	written.Add("Content-Type", "text/changed")
	written.Add(FallbackHeader, "changed")
	written.Set("X-Request-Id", "r1")
	want := http.Header{"Content-Type": {"application/json"}}
	again := e.Fulfill(context.Background(), dialect.Input{Method: http.MethodPost, Body: []byte(strings.Replace(esRequest, "%s", "Hello", 1))})
	for name, header := range map[string]http.Header{"the answer's": answered.Header(), "a later answer's": again.Header()} {
		if len(header) != 1 || header.Get("Content-Type") != "application/json" {
			t.Errorf("%s header is %v, want %v", name, header, want)
		}
	}
}

// Routes read the request's headers (flattened only when an expression reads them), lower-cased and without
// credentials.
func TestRoutesReadHeaders(t *testing.T) {
	e := compile(t, "DialogflowES", "Sorry.",
		`{match: {intents: [Hello], when: 'request.headers["x-bot"] == "yes" && !("authorization" in request.headers)'}, respond: {text: 'Hi ${request.headers["x-bot"]}.'}}`)
	esRequest := `{"responseId":"r","session":"projects/p/agent/sessions/s","queryResult":{"intent":{"displayName":"Hello"}}}`
	for value, want := range map[string]string{"yes": `"fulfillmentText":"Hi yes."`, "no": `"fulfillmentText":"Sorry."`} {
		header := http.Header{"X-Bot": {value}, "Authorization": {"Bearer secret"}}
		outcome := e.Fulfill(context.Background(), dialect.Input{Method: http.MethodPost, Header: header, Body: []byte(esRequest)})
		if !strings.Contains(string(outcome.Body), want) {
			t.Errorf("X-Bot: %s: answer %s, want %s", value, outcome.Body, want)
		}
	}
}

// A configuration the API server admitted is not validated again (configfile.File.Admitted), so a hand-edited one
// must still not give an open endpoint, or one that cannot answer: Compile refuses them itself.
func TestCompileRefusesAnOpenOrUnanswerableEndpointWhateverLoadedIt(t *testing.T) {
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	load := func(spec string) error {
		t.Helper()
		file, err := config.ParseFile("config.yaml", []byte(`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookServerConfig
admitted: true
endpoints:
- name: bot
  namespace: ns
  spec: `+spec))
		if err != nil {
			t.Fatalf("the admitted file was refused before compiling: %v", err)
		}
		_, err = Compile(file.Endpoints[0], config.MapSecrets{}, Options{Env: env})
		return err
	}
	for _, tc := range []struct{ spec, want string }{
		{`{dialect: Generic, auth: {}}`, "spec.auth: no authentication method"},
		{`{dialect: Generic, auth: {allowUnauthenticated: true}, timeout: 0s}`, "spec.timeout: 0s: the deadline must be positive"},
		{`{dialect: Generic, auth: {allowUnauthenticated: true}, limits: {maxBodyBytes: "0"}}`, "spec.limits.maxBodyBytes: 0: must be positive"},
	} {
		if err := load(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.spec, err, tc.want)
		}
	}
	if err := load(`{dialect: Generic, auth: {allowUnauthenticated: true}}`); err != nil {
		t.Errorf("an endpoint open on purpose: %v", err)
	}
}
