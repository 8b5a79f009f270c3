package blackbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// methodsManifest has a Generic endpoint that takes every method, one that takes two, and one whose HMAC
// signature covers the body; their routes answer what they read of the method, the event and the query.
const methodsManifest = `
apiVersion: v1
kind: Secret
metadata: {name: flex-token}
stringData: {token: flex-secret-token}
---
apiVersion: v1
kind: Secret
metadata: {name: signing-key}
stringData: {secret: flex-signing-key}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: flex}
spec:
  dialect: Generic
  path: /webhook
  methods: [GET, POST, PUT, PATCH, DELETE]
  auth:
    bearer: {secretRef: {name: flex-token, key: token}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: users}
spec:
  endpointRef: {name: flex}
  match: {events: [user.read, user.updated, user.patched, user.deleted]}
  respond:
    text: "${request.method} ${request.event} user=${request.body.user_id} query=${request.query.user_id}"
    parameters: {body: request.body}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: narrow}
spec:
  dialect: Generic
  path: /narrow
  methods: [GET, DELETE]
  auth:
    bearer: {secretRef: {name: flex-token, key: token}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: signed}
spec:
  dialect: Generic
  path: /signed
  methods: [POST, DELETE]
  auth:
    hmac: {scheme: Generic, generic: {header: X-Signature, algorithm: SHA256, encoding: Hex}, secretRef: {name: signing-key}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: signed-orders}
spec:
  endpointRef: {name: signed}
  match: {events: [order.created, order.deleted]}
  respond: {text: "event ${request.event}"}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: signed-delete}
spec:
  endpointRef: {name: signed}
  match: {when: 'request.method == "DELETE" && request.event == ""'}
  respond: {text: "delete ${request.query.id}, event [${request.event}]"}
`

var flexToken = http.Header{"Authorization": {"Bearer flex-secret-token"}}

type flexAnswer struct {
	FulfillmentText string `json:"fulfillmentText"`
	Parameters      struct {
		Body map[string]any `json:"body"`
	} `json:"parameters"`
}

// TestEveryMethodReadsTheQuery: GET, PUT, PATCH and DELETE without a body route by the event of their query
// string; with a body, the body's fields win over the query's and the query fills in the rest; routes read
// request.method and request.query.
func TestEveryMethodReadsTheQuery(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "methods.yaml", methodsManifest)
	s := startServer(t, "--manifests", dir)
	for name, tc := range map[string]struct {
		method, path, body string
		wantText           string
		wantBody           map[string]any
	}{
		"GET": {method: http.MethodGet, path: "/webhook?event=user.read&user_id=7",
			wantText: "GET user.read user=7 query=7", wantBody: map[string]any{"event": "user.read", "user_id": "7"}},
		"PUT": {method: http.MethodPut, path: "/webhook?event=user.updated&user_id=8",
			wantText: "PUT user.updated user=8 query=8", wantBody: map[string]any{"event": "user.updated", "user_id": "8"}},
		"PATCH": {method: http.MethodPatch, path: "/webhook?event=user.patched&user_id=9&session.id=s-1",
			wantText: "PATCH user.patched user=9 query=9",
			wantBody: map[string]any{"event": "user.patched", "user_id": "9", "session": map[string]any{"id": "s-1"}}},
		"DELETE": {method: http.MethodDelete, path: "/webhook?event=user.deleted&user_id=10",
			wantText: "DELETE user.deleted user=10 query=10", wantBody: map[string]any{"event": "user.deleted", "user_id": "10"}},
		"PUT with a body: the body wins": {method: http.MethodPut, path: "/webhook?event=user.deleted&user_id=from-query&source=crm",
			body:     `{"event":"user.updated","user_id":"from-body"}`,
			wantText: "PUT user.updated user=from-body query=from-query",
			wantBody: map[string]any{"event": "user.updated", "user_id": "from-body", "source": "crm"}},
		"POST with a body and a query": {method: http.MethodPost, path: "/webhook?user_id=q&session.parameters.tier=gold",
			body:     `{"event":"user.patched","session":{"id":"s-2"}}`,
			wantText: "POST user.patched user=q query=q",
			wantBody: map[string]any{"event": "user.patched", "user_id": "q",
				"session": map[string]any{"id": "s-2", "parameters": map[string]any{"tier": "gold"}}}},
	} {
		t.Run(name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			resp, content := s.do(tc.method, tc.path, body, flexToken)
			var answer flexAnswer
			if resp.StatusCode != http.StatusOK || json.Unmarshal(content, &answer) != nil {
				t.Fatalf("got %d %s", resp.StatusCode, content)
			}
			if answer.FulfillmentText != tc.wantText {
				t.Errorf("text = %q, want %q", answer.FulfillmentText, tc.wantText)
			}
			if !reflect.DeepEqual(answer.Parameters.Body, tc.wantBody) {
				t.Errorf("request.body = %v, want %v", answer.Parameters.Body, tc.wantBody)
			}
		})
	}
}

// TestMethodsOutsideSpecMethods: a method the endpoint does not list is answered 405 with Allow, HEAD included;
// OPTIONS is answered 204 with Allow, before authentication.
func TestMethodsOutsideSpecMethods(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "methods.yaml", methodsManifest)
	s := startServer(t, "--manifests", dir)
	for name, tc := range map[string]struct {
		method, path string
		header       http.Header
		status       int
		allow        string
	}{
		"POST on GET and DELETE":  {http.MethodPost, "/narrow?event=x", flexToken, http.StatusMethodNotAllowed, "GET, DELETE, OPTIONS"},
		"PUT on GET and DELETE":   {http.MethodPut, "/narrow", flexToken, http.StatusMethodNotAllowed, "GET, DELETE, OPTIONS"},
		"HEAD on GET":             {http.MethodHead, "/narrow?event=x", flexToken, http.StatusMethodNotAllowed, "GET, DELETE, OPTIONS"},
		"PATCH without a token":   {http.MethodPatch, "/narrow", nil, http.StatusMethodNotAllowed, "GET, DELETE, OPTIONS"},
		"OPTIONS without a token": {http.MethodOptions, "/narrow", nil, http.StatusNoContent, "GET, DELETE, OPTIONS"},
		"OPTIONS on every method": {http.MethodOptions, "/webhook", nil, http.StatusNoContent, "GET, POST, PUT, PATCH, DELETE, OPTIONS"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, content := s.do(tc.method, tc.path, nil, tc.header)
			if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow {
				t.Errorf("got %d Allow %q %s, want %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"), content, tc.status, tc.allow)
			}
			if tc.status == http.StatusNoContent && len(content) != 0 {
				t.Errorf("OPTIONS answered a body: %s", content)
			}
		})
	}
	// The methods it lists pass the method check and reach authentication.
	if resp, content := s.do(http.MethodDelete, "/narrow?event=x", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("DELETE without a token: %d %s", resp.StatusCode, content)
	}
}

// TestSignedEndpointKeepsTheQueryOutOfTheEvent: on an endpoint whose HMAC signature covers the body, the query
// string names no event, neither beside a signed body nor in place of an empty one; routes still read it as
// request.query.
func TestSignedEndpointKeepsTheQueryOutOfTheEvent(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "methods.yaml", methodsManifest)
	s := startServer(t, "--manifests", dir)
	sign := func(body string) http.Header {
		mac := hmac.New(sha256.New, []byte("flex-signing-key"))
		mac.Write([]byte(body))
		return http.Header{"X-Signature": {hex.EncodeToString(mac.Sum(nil))}}
	}
	for name, tc := range map[string]struct {
		method, path, body string
		wantText           string
	}{
		"a signed body wins over the query": {method: http.MethodPost, path: "/signed?event=order.deleted",
			body: `{"event":"order.created"}`, wantText: "event order.created"},
		"a signed empty body reads no event from the query": {method: http.MethodDelete, path: "/signed?event=order.deleted&id=5",
			wantText: "delete 5, event []"},
	} {
		t.Run(name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			resp, content := s.do(tc.method, tc.path, body, sign(tc.body))
			var answer flexAnswer
			if resp.StatusCode != http.StatusOK || json.Unmarshal(content, &answer) != nil {
				t.Fatalf("got %d %s", resp.StatusCode, content)
			}
			if answer.FulfillmentText != tc.wantText {
				t.Errorf("text = %q, want %q", answer.FulfillmentText, tc.wantText)
			}
		})
	}
}

// TestAsyncDeleteReadsTheQueryWhenDelivered: an Async endpoint queues a DELETE without a body and delivers it
// later with its method and query string, so that the route reads the same event and request.method then.
func TestAsyncDeleteReadsTheQueryWhenDelivered(t *testing.T) {
	upstream, url := newCounter(t, 0)
	dir := t.TempDir()
	manifest := strings.Replace(asyncManifest(url, "Local", "", 3), "  timeout: 5s\n", "  timeout: 5s\n  methods: [POST, DELETE]\n", 1)
	manifest = strings.Replace(manifest, "body: 'request.body.id'", `body: 'request.method + ":" + request.body.id'`, 1)
	writeFile(t, dir, "events.yaml", manifest)
	s := startServer(t, "--manifests", dir, "--queue-dir", t.TempDir())

	resp, content := s.do(http.MethodDelete, "/webhook?event=order.paid&id=evt_q1", nil, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("want 202, got %d %s", resp.StatusCode, content)
	}
	waitUntil(t, 5*time.Second, "the queued DELETE to be delivered", func() bool { return upstream.count("DELETE:evt_q1") == 1 })
}
