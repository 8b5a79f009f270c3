package blackbox

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testredis"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
)

// Every secret value the tests give the server (in its configuration or in the credentials of requests), and
// everything the server printed or stored (its queue files, the Redis keys it left): at the end of the suite
// none may contain any of the values (TestMain checks). This is the test of the one redaction layer and of what
// queues keep: whatever path a secret takes towards a log line or a stored event, it must not arrive.
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
	texts []output
}

// output is a text to scan and where it came from, for the failure message.
type output struct{ where, text string }

// add records what a webhookserver process printed.
func (o *outputSet) add(text string) { o.addFrom("webhookserver output", text) }

func (o *outputSet) addFrom(where, text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.texts = append(o.texts, output{where, text})
}

// recordCredentials records the credentials a test sends in Authorization headers, right or wrong: the server
// must neither print nor store any of them.
func recordCredentials(header http.Header) {
	for _, value := range header.Values("Authorization") {
		if _, credential, ok := strings.Cut(value, " "); ok {
			secretsUsed.add([]byte(credential))
		}
	}
}

// scanQueueDirs adds the files in the --queue-dir of a server's args to the outputs, once it has stopped and
// before the test removes them.
func scanQueueDirs(t testing.TB, args []string) {
	for i, arg := range args {
		dir, ok := strings.CutPrefix(arg, "--queue-dir=")
		if arg == "--queue-dir" && i+1 < len(args) {
			dir, ok = args[i+1], true
		}
		if ok {
			addFiles("queue files of "+t.Name(), dir)
		}
	}
}

// addFiles adds every file under dir to the outputs.
func addFiles(where, dir string) { outputs.addFrom(where, filesUnder(dir)) }

// filesUnder is the content of every file under dir that can be read.
func filesUnder(dir string) string {
	var all strings.Builder
	_ = filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
		if err == nil && entry.Type().IsRegular() {
			if content, err := os.ReadFile(path); err == nil {
				all.Write(content)
			}
		}
		return nil
	})
	return all.String()
}

// startRedis starts a Redis for a test. When the test ends (after its servers stopped, before Redis is killed)
// its append-only files, which record every write, and every key it holds join the outputs. A test that
// stopped Redis on purpose leaves only the files.
func startRedis(t testing.TB) *testredis.Server {
	r := testredis.Start(t)
	t.Cleanup(func() {
		where := "Redis of " + t.Name()
		addFiles(where, r.Dir)
		if client := redisClient(t, r.URL()); client.Ping(context.Background()).Err() == nil {
			outputs.addFrom(where, redisContents(t, r.URL()))
		}
	})
	return r
}

func redisClient(t testing.TB, url string) *redis.Client {
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(o)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// redisContents is every key and value in a Redis, read by type, as text.
func redisContents(t testing.TB, url string) string {
	client := redisClient(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var all strings.Builder
	keys := client.Scan(ctx, 0, "*", 1000).Iterator()
	for keys.Next(ctx) {
		key := keys.Val()
		fmt.Fprintf(&all, "%s: %v\n", key, redisValue(ctx, client, key))
	}
	if err := keys.Err(); err != nil {
		t.Errorf("reading the Redis keys for the secret scan: %v", err)
	}
	return all.String()
}

func redisValue(ctx context.Context, client *redis.Client, key string) any {
	switch client.Type(ctx, key).Val() {
	case "string":
		return client.Get(ctx, key).Val()
	case "list":
		return client.LRange(ctx, key, 0, -1).Val()
	case "set":
		return client.SMembers(ctx, key).Val()
	case "zset":
		return client.ZRange(ctx, key, 0, -1).Val()
	case "hash":
		return client.HGetAll(ctx, key).Val()
	case "stream":
		return client.XRange(ctx, key, "-", "+").Val()
	default:
		return client.Dump(ctx, key).Val()
	}
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
		for _, out := range outputs.texts {
			if strings.Contains(out.text, value) {
				leaks = append(leaks, fmt.Sprintf("a %d-character secret starting %q in the %s", len(value), value[:2], out.where))
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
