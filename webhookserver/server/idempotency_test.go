package server

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
)

// The Memory stores of all endpoints share the server's one bound, oldest answers first whichever endpoint
// gave them: a busy endpoint makes another's old answers go, and the process stays within the bound however
// many endpoints it serves. Each endpoint replays its own answers only, across reloads.
func TestMemoryStoresShareTheServersBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	// Two endpoints whose answers are about 1 KiB (the text twice, as fulfillmentText and in a message): a bound
	// of 1 MiB keeps about 1,000 of them.
	var config strings.Builder
	config.WriteString("apiVersion: fulfillment.dev/v1alpha1\nkind: WebhookServerConfig\nendpoints:\n")
	for _, name := range []string{"a", "b"} {
		fmt.Fprintf(&config, `- name: bot-%[1]s
  namespace: default
  spec:
    dialect: DialogflowES
    path: /%[1]s
    auth: {allowUnauthenticated: true}
    idempotency: {enabled: true, store: Memory}
  routes:
  - name: echo
    spec:
      endpointRef: {name: bot-%[1]s}
      match: {intents: [Echo]}
      respond: {text: '%[1]s said ${request.text}. %[2]s'}
`, name, strings.Repeat("x", 400))
	}
	writeConfig(t, path, config.String())
	s := serve(t, Options{Source: &FileSource{Path: path}, MemoryStoreMaxBytes: 1 << 20})
	send := func(bot string, i int) (replayed bool) {
		t.Helper()
		request := fmt.Sprintf(`{"responseId":"resp-%d","session":"projects/p/agent/sessions/s","queryResult":`+
			`{"intent":{"displayName":"Echo"},"queryText":"words %d"}}`, i, i)
		resp, err := http.Post(s.url+"/"+bot, "application/json", strings.NewReader(request))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %d: status %d", bot, i, resp.StatusCode)
		}
		return resp.Header.Get(endpoint.ReplayedHeader) == "true"
	}
	const each = 600 // more than half the bound, less than all of it
	for _, bot := range []string{"a", "b"} {
		for i := range each {
			if send(bot, i) {
				t.Fatalf("%s %d: replayed, but it was sent for the first time (the other endpoint's answer?)", bot, i)
			}
		}
	}
	if !send("a", each-1) || !send("b", each-1) || !send("b", 0) {
		t.Fatal("a recent answer was not replayed")
	}
	if send("a", 0) {
		t.Fatal("the oldest answer of the server was replayed: the endpoints do not share one bound")
	}
	// A reload keeps the stores, and their answers.
	writeConfig(t, path, config.String()+"# reload\n")
	if reloaded, err := s.Reload(); !reloaded || err != nil {
		t.Fatalf("reload: %v %v", reloaded, err)
	}
	if !send("a", each-1) || !send("b", each-1) {
		t.Fatal("an answer was forgotten by a reload")
	}
}
