package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/idempotency"
)

// The strings a JSON dialect decodes are views of the request's body buffer, not copies (dialect.Input.Body), and
// whatever is handed one may keep it past the request: here the idempotency store keeps each key it is given,
// the request's responseId, as it is. So the buffer must never be reused for a later request. Requests of one
// length on one keep-alive connection are what a pool of buffers would reuse; if any were, a kept key would
// change under the store, and a request sent again would not find its stored answer.
func TestDecodedStringsOutliveTheirRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	config := `apiVersion: fulfillment.dev/v1alpha1
kind: WebhookServerConfig
endpoints:
- name: bot
  namespace: default
  spec:
    dialect: DialogflowES
    path: /bot
    auth: {allowUnauthenticated: true}
    idempotency: {enabled: true, store: Memory}
  routes:
  - name: echo
    spec:
      endpointRef: {name: bot}
      match: {intents: [Echo]}
      respond: {text: 'You said ${request.text}.'}
`
	writeConfig(t, path, config)
	s := serve(t, Options{Source: &FileSource{Path: path}})
	// The endpoint's store is swapped for one that keeps the keys it is given, and the endpoint compiled again
	// to use it.
	keeping := map[string]*keepingStore{}
	for identity, store := range s.stores {
		keeping[identity] = &keepingStore{Store: store}
		s.stores[identity] = keeping[identity]
	}
	writeConfig(t, path, config+"# reload\n")
	if reloaded, err := s.Reload(); !reloaded || err != nil || len(keeping) != 1 {
		t.Fatalf("reload with the keeping store: %v %v (%d stores)", reloaded, err, len(keeping))
	}
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	t.Cleanup(client.CloseIdleConnections)
	reused := 0
	send := func(i int) (status int, replayed bool, body string) {
		t.Helper()
		// Every body has the same length, so that a pooled buffer would fit them all.
		request := fmt.Sprintf(`{"responseId":"resp-%04d","session":"projects/p/agent/sessions/s","queryResult":`+
			`{"intent":{"displayName":"Echo"},"queryText":"words %04d"}}`, i, i)
		req, err := http.NewRequest(http.MethodPost, s.url+"/bot", strings.NewReader(request))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) {
				if info.Reused {
					reused++
				}
			},
		}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		content, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get(endpoint.ReplayedHeader) == "true", string(content)
	}

	const requests = 50
	for i := range requests {
		if status, replayed, body := send(i); status != http.StatusOK || replayed || !strings.Contains(body, fmt.Sprintf("words %04d", i)) {
			t.Fatalf("request %d: %d replayed=%v %s", i, status, replayed, body)
		}
	}
	// Each one again: the store still knows every key as it was sent, and answers what was answered then.
	for i := range requests {
		status, replayed, body := send(i)
		if status != http.StatusOK || !replayed || !strings.Contains(body, fmt.Sprintf("You said words %04d.", i)) {
			t.Errorf("request %d again: %d replayed=%v %s; want its own stored answer", i, status, replayed, body)
		}
	}
	for _, store := range keeping {
		store.check(t)
	}
	if reused < 2*requests-1 {
		t.Errorf("%d of %d requests reused the connection; the test needs one keep-alive connection", reused, 2*requests)
	}
}

// keepingStore keeps every key it is given as it was given, and a copy to check it against.
type keepingStore struct {
	idempotency.Store
	mu     sync.Mutex
	kept   []string
	copies []string
}

func (k *keepingStore) Begin(ctx context.Context, key string) (*idempotency.Answer, idempotency.Claim, error) {
	k.mu.Lock()
	k.kept, k.copies = append(k.kept, key), append(k.copies, strings.Clone(key))
	k.mu.Unlock()
	return k.Store.Begin(ctx, key)
}

// check fails the test if a kept key changed since it was given.
func (k *keepingStore) check(t *testing.T) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.kept) == 0 {
		t.Fatal("the store was given no key")
	}
	for i := range k.kept {
		if k.kept[i] != k.copies[i] {
			t.Errorf("key %d was %q when given, and is now %q: the body buffer it is a view of was reused", i, k.copies[i], k.kept[i])
		}
	}
}
