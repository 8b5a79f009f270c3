package blackbox

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// TestDocumentedRequestLinesAreTheServers: the request lines docs/webhookserver.md shows, `request answered`
// and `request detail`, are what the server writes for the request they describe (the bank-bot sample asked
// for a balance without an account, at level debug): the same fields, in the same order, with the same values
// but for those that differ from request to request.
func TestDocumentedRequestLinesAreTheServers(t *testing.T) {
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "docs", "webhookserver.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--manifests", samples(), "--endpoint", "bank-bot", "--log-level", "debug")
	s.post("/bank-bot", esRequest(t, "doc-1", "GetAccountBalance", "what's my balance", nil), withRequestID(bankBotAuth, "doc-1"))
	s.waitForLogLine("request answered", "doc-1")

	varying := []string{"time", "requestId", "deliveryId", "session", "upstreamMs", "durationMs"}
	for _, msg := range []string{"request answered", "request detail"} {
		t.Run(msg, func(t *testing.T) {
			documented := documentedLogLine(t, string(content), msg)
			actual := serverLogLine(t, s.logs.String(), msg, "doc-1")
			if got, want := keysOf(documented), keysOf(actual); !slices.Equal(got, want) {
				t.Errorf("the documented line has the fields\n%q\nthe server writes\n%q", got, want)
			}
			for _, field := range actual {
				if slices.Contains(varying, field.key) {
					continue
				}
				if doc, ok := valueOf(documented, field.key); ok && !jsonEqual(doc, field.value) {
					t.Errorf("%s: documented %s, the server writes %s", field.key, doc, field.value)
				}
			}
		})
	}
}

// TestTroubleshootingRequestLineIsTheServers: the request line troubleshooting.md shows, a balance the bank
// API could not be asked for, has the fields the server writes for it, in the same order. Its values name a
// cluster's namespace and resolver, so only the fields and the outcome are compared.
func TestTroubleshootingRequestLineIsTheServers(t *testing.T) {
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--manifests", samples(), "--endpoint", "bank-bot")
	s.post("/bank-bot", esRequest(t, "doc-2", "GetAccountBalance", "what's my balance", map[string]any{"account": "checking"}),
		withRequestID(bankBotAuth, "doc-2"))
	s.waitForLogLine("request answered", "doc-2")
	documented := documentedLogLine(t, string(content), "request answered")
	actual := serverLogLine(t, s.logs.String(), "request answered", "doc-2")
	if got, want := keysOf(documented), keysOf(actual); !slices.Equal(got, want) {
		t.Errorf("the documented line has the fields\n%q\nthe server writes\n%q", got, want)
	}
	for _, key := range []string{"level", "outcome", "route", "fallback", "upstream"} {
		doc, _ := valueOf(documented, key)
		got, _ := valueOf(actual, key)
		if !jsonEqual(doc, got) {
			t.Errorf("%s: documented %s, the server writes %s", key, doc, got)
		}
	}
}

// logField is a key of a JSON object and its value, as written.
type logField struct {
	key   string
	value json.RawMessage
}

// orderedFields decodes a JSON object into its fields in the order they are written.
func orderedFields(text string) ([]logField, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var fields []logField
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		fields = append(fields, logField{key: key.(string), value: value})
	}
	return fields, nil
}

var jsonBlock = regexp.MustCompile("(?s)```json\n(.*?)```")

// documentedLogLine is the first JSON block of the page that is a log line with msg.
func documentedLogLine(t *testing.T, page, msg string) []logField {
	t.Helper()
	for _, block := range jsonBlock.FindAllStringSubmatch(page, -1) {
		fields, err := orderedFields(block[1])
		if err != nil {
			continue
		}
		if value, ok := valueOf(fields, "msg"); ok && jsonEqual(value, mustJSON(t, msg)) {
			return fields
		}
	}
	t.Fatalf("the page shows no log line %q", msg)
	return nil
}

// serverLogLine is the server's log line with msg and requestID, as written.
func serverLogLine(t *testing.T, logs, msg, requestID string) []logField {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		fields, err := orderedFields(line)
		if err != nil {
			continue
		}
		m, _ := valueOf(fields, "msg")
		id, _ := valueOf(fields, "requestId")
		if jsonEqual(m, mustJSON(t, msg)) && jsonEqual(id, mustJSON(t, requestID)) {
			return fields
		}
	}
	t.Fatalf("no log line %q for request %s:\n%s", msg, requestID, logs)
	return nil
}

func keysOf(fields []logField) []string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return keys
}

func valueOf(fields []logField, key string) (json.RawMessage, bool) {
	for _, f := range fields {
		if f.key == key {
			return f.value, true
		}
	}
	return nil, false
}

// jsonEqual reports whether two JSON values are equal, whatever the space between their tokens.
func jsonEqual(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
