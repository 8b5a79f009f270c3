package blackbox

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
)

// Every secret value the tests give the server, and everything the server printed: at the end of the suite no
// output may contain any of the values (TestMain checks). This is the test of the one redaction layer: whatever
// path a secret takes towards a log line, it must not arrive.
var (
	secretsUsed = &valueSet{values: map[string]bool{}}
	outputs     = &outputSet{}
)

type valueSet struct {
	mu     sync.Mutex
	values map[string]bool
}

func (v *valueSet) add(value []byte) {
	text := strings.TrimSpace(string(value))
	if len(text) < 8 { // shorter values are not secrets in these tests, and would match by chance
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.values[text] = true
}

type outputSet struct {
	mu    sync.Mutex
	texts []string
}

func (o *outputSet) add(text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.texts = append(o.texts, text)
}

// watchSecrets records the secrets of a server's manifests or mounted Secrets, now and when the test ends
// (tests rotate them).
func watchSecrets(t testing.TB, args []string) {
	record := func() {
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "--manifests":
				if loaded, err := config.LoadManifests(args[i+1]); err == nil {
					for _, secret := range loaded.Secrets {
						for _, value := range secret {
							secretsUsed.add(value)
						}
					}
				}
			case "--config":
				_ = filepath.Walk(filepath.Join(filepath.Dir(args[i+1]), "secrets"), func(path string, info os.FileInfo, err error) error {
					if err == nil && !info.IsDir() {
						if content, err := os.ReadFile(path); err == nil {
							secretsUsed.add(content)
						}
					}
					return nil
				})
			}
		}
	}
	record()
	t.Cleanup(record)
}

// secretLeaks names (without showing them) the secret values found in any output.
func secretLeaks() []string {
	secretsUsed.mu.Lock()
	defer secretsUsed.mu.Unlock()
	outputs.mu.Lock()
	defer outputs.mu.Unlock()
	var leaks []string
	for value := range secretsUsed.values {
		for _, text := range outputs.texts {
			if strings.Contains(text, value) {
				leaks = append(leaks, fmt.Sprintf("a %d-character secret starting %q", len(value), value[:2]))
				break
			}
		}
	}
	return leaks
}

// TestSecretsAreRedactedFromLogs sends a secret where the server logs it verbatim (the request id): the
// redaction layer must replace it.
func TestSecretsAreRedactedFromLogs(t *testing.T) {
	s := startSamples(t)
	header := basicAuth("dialogflow", "change-me-bank-bot")
	header.Set("X-Request-Id", "change-me-bank-bot")
	resp, _ := s.post("/bank-bot", []byte(`{"responseId":"r","session":"projects/p/agent/sessions/s","queryResult":{"intent":{"displayName":"Default Welcome Intent"}}}`), header)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	s.waitForLog(`"msg":"request answered"`)
	logs := s.logs.String()
	if strings.Contains(logs, "change-me-bank-bot") {
		t.Error("the password appears in the logs")
	}
	if !strings.Contains(logs, `"requestId":"[REDACTED]"`) {
		t.Errorf("the request id holding a secret was not redacted:\n%s", logs)
	}
	if secretsUsed.values["change-me-bank-bot"] != true {
		t.Error("the suite-wide scan does not know the sample's password")
	}
}
