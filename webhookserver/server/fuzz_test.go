package server

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// FuzzServeHTTP sends arbitrary bodies and content types to an endpoint of every dialect: the server never
// panics and never answers 5xx to a malformed request; malformed input is a 4xx.
func FuzzServeHTTP(f *testing.F) {
	dir := f.TempDir()
	manifest := ""
	for _, e := range []struct{ name, dialect, match string }{
		{"es", "DialogflowES", "intents: [A]"}, {"cx", "DialogflowCX", "tags: [a]"},
		{"rasa", "Rasa", "actions: [action_a]"}, {"generic", "Generic", "events: [a]"},
	} {
		manifest += `
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: ` + e.name + `}
spec: {dialect: ` + e.dialect + `, path: /` + e.name + `, auth: {allowUnauthenticated: true}, fallback: {text: "${request.text}"}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: ` + e.name + `-route}
spec:
  endpointRef: {name: ` + e.name + `}
  match: {` + e.match + `}
  respond: {text: "${params.x}", parameters: {y: 'request.text + "!"'}}
`
	}
	if err := os.WriteFile(filepath.Join(dir, "bots.yaml"), []byte(manifest), 0o600); err != nil {
		f.Fatal(err)
	}
	srv, err := New(Options{Source: &ManifestSource{Paths: []string{dir}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	paths := []string{"/es", "/cx", "/rasa", "/generic"}
	seeds := []string{
		`{"responseId":"r","session":"s","queryResult":{"intent":{"displayName":"A"},"parameters":{"x":1}}}`,
		`{"detectIntentResponseId":"d","fulfillmentInfo":{"tag":"a"},"sessionInfo":{"parameters":{"x":"v"}}}`,
		`{"next_action":"action_a","tracker":{"sender_id":"u","slots":{"x":null}}}`,
		`{"event":"a","session":{"id":"s","parameters":{"x":[1,2]}}}`,
		`<event><event>a</event></event>`, `event=a&session.id=s`, `{`, ``, `null`, `[]`, `{"queryResult":7}`,
	}
	for i, seed := range seeds {
		f.Add(uint8(i), "application/json", []byte(seed))
	}
	f.Add(uint8(3), "application/xml", []byte(seeds[4]))
	f.Add(uint8(3), "application/x-www-form-urlencoded", []byte(seeds[5]))
	f.Fuzz(func(t *testing.T, endpoint uint8, contentType string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, paths[int(endpoint)%len(paths)], bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		recorder := httptest.NewRecorder()
		srv.ServeHTTP(recorder, req)
		if recorder.Code >= 500 {
			t.Fatalf("%s with %q: %d %s", req.URL.Path, contentType, recorder.Code, recorder.Body.String())
		}
	})
}
