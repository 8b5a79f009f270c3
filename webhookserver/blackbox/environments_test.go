package blackbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

const stripeKey = "whsec_3kM1xZ9kQnM5m1bRvWcT0aYpLq8sUe2D"

// environmentsManifest is one endpoint per dialect, each with a route per environment or version beside a
// default, every answer naming its route and what the request said.
func environmentsManifest() string {
	endpoint := func(name, dialect, auth, extra string) string {
		return fmt.Sprintf(`---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: %[1]s}
spec:
  dialect: %[2]s
  path: /%[1]s
  auth: %[3]s
%[4]s`, name, dialect, auth, extra)
	}
	// A route narrowed to an environment or version comes first by priority: the default, listing none,
	// matches every environment too.
	route := func(name, endpoint, match string) string {
		priority := 0
		if strings.Contains(match, "environments") || strings.Contains(match, "versions") {
			priority = 10
		}
		return fmt.Sprintf(`---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: %[1]s}
spec:
  endpointRef: {name: %[2]s}
  priority: %[4]d
  match: %[3]s
  respond: {text: "%[1]s env=${request.environment} version=${request.version}"}
`, name, endpoint, match, priority)
	}
	open := "{allowUnauthenticated: true}"
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: stripe-key}
stringData: {secret: %q}
`, stripeKey) +
		endpoint("es", "DialogflowES", open, "") +
		route("es-production", "es", "{intents: [Order], environments: [production]}") +
		route("es-default", "es", "{intents: [Order]}") +
		endpoint("cx", "DialogflowCX", open, "") +
		route("cx-production", "cx", "{tags: [order], environments: [production]}") +
		route("cx-default", "cx", "{tags: [order]}") +
		endpoint("stripe", "Generic", "{hmac: {scheme: Stripe, secretRef: {name: stripe-key}}}", "") +
		route("stripe-test", "stripe", "{events: [invoice.paid], environments: [test]}") +
		route("stripe-live-2024", "stripe", "{events: [invoice.paid], environments: [live], versions: [\"2024-06-20\"]}") +
		route("stripe-default", "stripe", "{events: [invoice.paid]}") +
		endpoint("overridden", "Generic", open, `  environmentFrom: '"x-env" in request.headers ? request.headers["x-env"] : "unnamed"'
  versionFrom: request.body.meta.schema
`) +
		route("overridden-staging", "overridden", "{events: [order.created], environments: [staging]}") +
		route("overridden-v3", "overridden", "{events: [order.created], versions: [\"3\"]}") +
		route("overridden-default", "overridden", "{events: [order.created]}") +
		endpoint("versioned", "Generic", open, "") +
		route("versioned-v1", "versioned", "{events: [order.created], versions: [\"1\"]}") +
		route("versioned-v2", "versioned", "{events: [order.created], versions: [\"2\"]}")
}

func startEnvironments(t *testing.T) *server {
	dir := t.TempDir()
	writeFile(t, dir, "environments.yaml", environmentsManifest())
	return startServer(t, "--manifests", dir)
}

// answerText is the text of an answer in any of the dialects here: ES and Generic fulfillmentText, CX's first
// text message.
func answerText(t *testing.T, resp *http.Response, content []byte) string {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, content)
	}
	var answer struct {
		FulfillmentText     string `json:"fulfillmentText"`
		FulfillmentResponse struct {
			Messages []struct {
				Text struct{ Text []string } `json:"text"`
			} `json:"messages"`
		} `json:"fulfillmentResponse"`
	}
	if err := json.Unmarshal(content, &answer); err != nil {
		t.Fatalf("answer %s: %v", content, err)
	}
	if answer.FulfillmentText != "" {
		return answer.FulfillmentText
	}
	if m := answer.FulfillmentResponse.Messages; len(m) > 0 && len(m[0].Text.Text) > 0 {
		return m[0].Text.Text[0]
	}
	return ""
}

var jsonContent = http.Header{"Content-Type": {"application/json"}}

// A Dialogflow session in environments/production is answered by the production route only, a draft session
// (the console's test agent) by the default route.
func TestEnvironmentsDialogflow(t *testing.T) {
	s := startEnvironments(t)
	tests := map[string]struct {
		path, body, want string
	}{
		"ES production": {"/es", `{"responseId":"r1","session":"projects/p/agent/environments/production/users/-/sessions/s1","queryResult":{"intent":{"displayName":"Order"}}}`,
			"es-production env=production version=v2"},
		"ES draft": {"/es", `{"responseId":"r2","session":"projects/p/agent/sessions/s1","queryResult":{"intent":{"displayName":"Order"}}}`,
			"es-default env=draft version=v2"},
		"ES another environment": {"/es", `{"responseId":"r3","session":"projects/p/agent/environments/test/users/-/sessions/s1","queryResult":{"intent":{"displayName":"Order"}}}`,
			"es-default env=test version=v2"},
		"CX production": {"/cx", `{"detectIntentResponseId":"d1","sessionInfo":{"session":"projects/p/locations/global/agents/a/environments/production/sessions/s1"},"fulfillmentInfo":{"tag":"order"}}`,
			"cx-production env=production version="},
		"CX draft": {"/cx", `{"detectIntentResponseId":"d2","sessionInfo":{"session":"projects/p/locations/global/agents/a/sessions/s1"},"fulfillmentInfo":{"tag":"order"}}`,
			"cx-default env=draft version="},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, content := s.post(tc.path, []byte(tc.body), jsonContent)
			if got := answerText(t, resp, content); got != tc.want {
				t.Errorf("answer %q, want %q", got, tc.want)
			}
		})
	}
	// The request log says which environment a route was chosen for.
	if !s.waitForLog(`"environment":"production","version":"v2","deliveryId":"r1"`) {
		t.Error("no request log line with the environment production")
	}
}

// A Stripe event's livemode is its environment and api_version its version; a version header that Stripe does
// not sign is no one's word and changes nothing.
func TestEnvironmentsStripe(t *testing.T) {
	s := startEnvironments(t)
	signed := func(body string, extra http.Header) http.Header {
		payload := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: stripeKey, Timestamp: time.Now()})
		header := http.Header{"Stripe-Signature": {payload.Header}, "Content-Type": {"application/json"}}
		for name, values := range extra {
			header[name] = values
		}
		return header
	}
	unsignedVersion := http.Header{"Webhook-Version": {"2024-06-20"}, "X-Api-Version": {"2024-06-20"}}
	tests := map[string]struct {
		body   string
		header http.Header
		want   string
	}{
		"test mode": {`{"id":"evt_1","object":"event","type":"invoice.paid","livemode":false,"api_version":"2024-06-20"}`, nil,
			"stripe-test env=test version=2024-06-20"},
		"live, this version": {`{"id":"evt_2","object":"event","type":"invoice.paid","livemode":true,"api_version":"2024-06-20"}`, nil,
			"stripe-live-2024 env=live version=2024-06-20"},
		"live, older version": {`{"id":"evt_3","object":"event","type":"invoice.paid","livemode":true,"api_version":"2023-10-16"}`, nil,
			"stripe-default env=live version=2023-10-16"},
		"live, older version, unsigned version header": {`{"id":"evt_4","object":"event","type":"invoice.paid","livemode":true,"api_version":"2023-10-16"}`, unsignedVersion,
			"stripe-default env=live version=2023-10-16"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, content := s.post("/stripe", []byte(tc.body), signed(tc.body, tc.header))
			if got := answerText(t, resp, content); got != tc.want {
				t.Errorf("answer %q, want %q", got, tc.want)
			}
		})
	}
}

// environmentFrom and versionFrom replace the dialect's defaults; a versioned Generic event picks its route by
// the body's version, and an unsigned version header on an open endpoint is not believed either.
func TestEnvironmentsFromExpressionsAndVersions(t *testing.T) {
	s := startEnvironments(t)
	tests := map[string]struct {
		path, body string
		header     http.Header
		want       string
	}{
		"environment from a header": {"/overridden", `{"event":"order.created","version":"3","meta":{"schema":"1"}}`,
			http.Header{"X-Env": {"staging"}}, "overridden-staging env=staging version=1"},
		"version from the body, not the default": {"/overridden", `{"event":"order.created","version":"1","meta":{"schema":"3"}}`,
			nil, "overridden-v3 env=unnamed version=3"},
		"an expression that fails gives no version": {"/overridden", `{"event":"order.created","version":"3"}`,
			nil, "overridden-default env=unnamed version="},
		"Stripe's livemode overridden": {"/overridden", `{"object":"event","event":"order.created","livemode":false,"meta":{"schema":"1"}}`,
			nil, "overridden-default env=unnamed version=1"},
		"version 1":       {"/versioned", `{"event":"order.created","version":"1"}`, nil, "versioned-v1 env= version=1"},
		"version 2":       {"/versioned", `{"event":"order.created","api_version":"2"}`, nil, "versioned-v2 env= version=2"},
		"unsigned header": {"/versioned", `{"event":"order.created","version":"1"}`, http.Header{"Webhook-Version": {"2"}}, "versioned-v1 env= version=1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			header := http.Header{"Content-Type": {"application/json"}}
			for k, v := range tc.header {
				header[k] = v
			}
			resp, content := s.post(tc.path, []byte(tc.body), header)
			if got := answerText(t, resp, content); got != tc.want {
				t.Errorf("answer %q, want %q", got, tc.want)
			}
		})
	}
	// A version no route lists is no route's: the endpoint's fallback answers it.
	resp, content := s.post("/versioned", []byte(`{"event":"order.created","version":"9"}`), jsonContent)
	if resp.StatusCode == http.StatusOK && strings.Contains(string(content), "versioned-v") {
		t.Errorf("version 9 matched a route: %d %s", resp.StatusCode, content)
	}
}
