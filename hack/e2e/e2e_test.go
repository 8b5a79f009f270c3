// Package e2e tests the whole product the way a user drives it, on the `make dev` stack (internal/devcluster)
// with the operator installed from the release's install.yaml (make build-installer):
// kubectl apply of a sample, kubectl wait, signed requests to the fulfillment pods, a route edit and a key
// rotation under traffic, and a deletion that leaves nothing behind. Argo CD's health.lua and kstatus are run
// on the live objects, and `kubectl explain` is checked against every field of the CRDs. A StatefulSet of
// servers with their queues in claims keeps a queued event across a SIGKILL, pod deletions and a scale-down.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/internal/devcluster"
	"github.com/fulfillment-dev/fulfillment-operator/internal/gitopshealth"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

var (
	cluster *devcluster.Cluster
	// kubectlBinary is kubectl of the control plane's release, built next to it by hack/build-envtest.sh.
	kubectlBinary string
	// kubectlEnv points kubectl at the dev cluster, with its discovery cache in a temporary folder.
	kubectlEnv []string
	// webhookserverBinary is the webhookserver the cluster's pods run, for its commands (send).
	webhookserverBinary string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fulfillment-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	root := testenv.RepoRoot()
	kubectlBinary = filepath.Join(testenv.Assets(), "kubectl")
	if _, err := os.Stat(kubectlBinary); err != nil {
		fmt.Fprintln(os.Stderr, "kubectl not found in bin/k8s: run `make envtest` (hack/build-envtest.sh --with-controller-manager)")
		return 1
	}
	binaries := map[string]string{"manager": ".", "webhookserver": "./webhookserver/cmd/webhookserver"}
	for name, pkg := range binaries {
		build := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", name+":", err)
			return 1
		}
	}
	webhookserverBinary = filepath.Join(dir, "webhookserver")
	// The operator is installed from the release installer, built as a release builds it, for the stack's image.
	installer := exec.Command("make", "-s", "--no-print-directory", "-o", "manifests", "build-installer",
		"IMG="+devcluster.Image, "DIST="+dir, "KUBECTL="+kubectlBinary)
	installer.Dir, installer.Stdout, installer.Stderr = root, os.Stderr, os.Stderr
	if err := installer.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "make build-installer:", err)
		return 1
	}
	logFile, err := os.Create(filepath.Join(dir, "devcluster.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, err = devcluster.Start(ctx, devcluster.Options{Dir: filepath.Join(dir, "cluster"), RepoRoot: root, Assets: testenv.Assets(),
		Manager: filepath.Join(dir, "manager"), Webhookserver: filepath.Join(dir, "webhookserver"),
		Installer: filepath.Join(dir, "install.yaml"),
		Log:       slog.New(slog.NewTextHandler(logFile, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the dev cluster:", err)
		return 1
	}
	kubectlEnv = append(os.Environ(), "KUBECONFIG="+cluster.Kubeconfig, "KUBECACHEDIR="+filepath.Join(dir, "kube-cache"))
	code := m.Run()
	if code != 0 {
		// The logs explain a failure: print the operator's and each pod's tail.
		dumpLogs(filepath.Join(dir, "cluster"))
	}
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the dev cluster:", err)
		return 1
	}
	return code
}

// kubectl runs the real kubectl on the dev cluster and returns its standard output; it fails the test with
// kubectl's own message when kubectl fails.
func kubectl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := kubectlResult(args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func kubectlResult(args ...string) (string, error) {
	cmd := exec.Command(kubectlBinary, args...)
	cmd.Dir, cmd.Env = testenv.RepoRoot(), kubectlEnv
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// eventually retries check every 200 ms until it returns nil or timeout passes, then fails with its last error.
func eventually(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// liveObject reads an object as Argo CD and Flux read it: unstructured, from the API server, by kubectl.
func liveObject(t testing.TB, kind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(kubectl(t, "get", kind, name, "-n", namespace, "-o", "json"))); err != nil {
		t.Fatal(err)
	}
	return u
}

// endpoint reads a WebhookEndpoint, typed.
func endpoint(t testing.TB, namespace, name string) *fulfillmentv1alpha1.WebhookEndpoint {
	t.Helper()
	e := &fulfillmentv1alpha1.WebhookEndpoint{}
	if err := json.Unmarshal([]byte(kubectl(t, "get", "webhookendpoint", name, "-n", namespace, "-o", "json")), e); err != nil {
		t.Fatal(err)
	}
	return e
}

// localURL is an endpoint's URL on the Service proxy, once its Service has a loopback address.
func localURL(t testing.TB, namespace, name string) string {
	t.Helper()
	var url string
	eventually(t, 30*time.Second, "the local URL of "+name, func() error {
		var ok bool
		if url, ok = cluster.EndpointURL(endpoint(t, namespace, name)); !ok {
			return errors.New("no status.url or no Service address yet")
		}
		return nil
	})
	return url
}

// health checks what Argo CD's health.lua and kstatus say about a live object.
func health(t testing.TB, kind, namespace, name string) (gitopshealth.ArgoHealth, string) {
	t.Helper()
	u := liveObject(t, kind, namespace, name)
	argo, err := gitopshealth.ArgoCD(testenv.RepoRoot(), u.GetKind(), u.Object)
	if err != nil {
		t.Fatalf("health.lua on %s %s: %v", kind, name, err)
	}
	kstatus, _, err := gitopshealth.Kstatus(u)
	if err != nil {
		t.Fatalf("kstatus on %s %s: %v", kind, name, err)
	}
	return argo, string(kstatus)
}

// post sends body to url with headers and returns the status and the answer.
func post(url string, body []byte, header http.Header) (int, string, error) {
	request, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	request.Header = header.Clone()
	request.Header.Set("Content-Type", "application/json")
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = response.Body.Close() }()
	answer, err := io.ReadAll(response.Body)
	return response.StatusCode, string(answer), err
}

// balanceRequest is the Dialogflow ES demo balance request (docs/requests) with a new responseId, as every
// Dialogflow call has: the bank bot deduplicates by responseId.
func balanceRequest(t testing.TB, id int64) []byte {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "docs", "requests", "es-balance-demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var request map[string]any
	if err := json.Unmarshal(content, &request); err != nil {
		t.Fatal(err)
	}
	request["responseId"] = fmt.Sprintf("e2e-%d-%d", time.Now().UnixNano(), id)
	body, err := json.Marshal(request)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func basicAuth() http.Header {
	request, _ := http.NewRequest(http.MethodPost, "http://x", nil)
	request.SetBasicAuth("dialogflow", "change-me-bank-bot")
	return request.Header
}

// fulfillmentText is the ES answer's fulfillmentText.
func fulfillmentText(answer string) string {
	var response struct {
		FulfillmentText string `json:"fulfillmentText"`
	}
	_ = json.Unmarshal([]byte(answer), &response)
	return response.FulfillmentText
}

// signedEvent signs a Generic event with a Standard Webhooks key, with the reference library.
func signedEvent(t testing.TB, key string, id string, body []byte) http.Header {
	t.Helper()
	webhook, err := standardwebhooks.NewWebhook(key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	signature, err := webhook.Sign(id, now, body)
	if err != nil {
		t.Fatal(err)
	}
	header := http.Header{}
	header.Set(standardwebhooks.HeaderWebhookID, id)
	header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	header.Set(standardwebhooks.HeaderWebhookSignature, signature)
	return header
}

// secretValue reads one key of a Secret with kubectl, as a user reads a generated key.
func secretValue(t testing.TB, namespace, name, key string) string {
	t.Helper()
	var secret struct {
		Data map[string][]byte `json:"data"`
	}
	if err := json.Unmarshal([]byte(kubectl(t, "get", "secret", name, "-n", namespace, "-o", "json")), &secret); err != nil {
		t.Fatal(err)
	}
	return string(secret.Data[key])
}

// metric reads one sample from an endpoint's /metrics, through its Service's metrics port.
func metric(t testing.TB, metricsURL, name string, labels ...string) float64 {
	t.Helper()
	response, err := http.Get(metricsURL + "/metrics")
	if err != nil {
		return -1
	}
	defer func() { _ = response.Body.Close() }()
	content, _ := io.ReadAll(response.Body)
	total := 0.0
	for _, line := range strings.Split(string(content), "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		match := true
		for _, label := range labels {
			match = match && strings.Contains(line, label)
		}
		if fields := strings.Fields(line); match && len(fields) == 2 {
			value, _ := strconv.ParseFloat(fields[1], 64)
			total += value
		}
	}
	return total
}

// traffic sends requests from clients goroutines until stop is called, counting answers by status.
type traffic struct {
	stop    func()
	done    sync.WaitGroup
	sent    atomic.Int64
	mu      sync.Mutex
	failed  []string
	answers map[string]int
}

func startTraffic(clients int, send func(id int64) (int, string, error), wantStatus int, answerOf func(string) string) *traffic {
	tr := &traffic{answers: map[string]int{}}
	stopped := make(chan struct{})
	var once sync.Once
	tr.stop = func() { once.Do(func() { close(stopped) }); tr.done.Wait() }
	for range clients {
		tr.done.Add(1)
		go func() {
			defer tr.done.Done()
			for {
				select {
				case <-stopped:
					return
				default:
				}
				id := tr.sent.Add(1)
				status, answer, err := send(id)
				tr.mu.Lock()
				if err != nil || status != wantStatus {
					tr.failed = append(tr.failed, fmt.Sprintf("request %d: status %d, error %v, answer %s", id, status, err, answer))
				} else {
					tr.answers[answerOf(answer)]++
				}
				tr.mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	return tr
}

func (tr *traffic) seen(answer string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.answers[answer] > 0
}

// processAlive tells whether a process still exists.
func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// pids are the process ids of an endpoint's pods, from their container IDs (process://<pid>).
func pids(t testing.TB, namespace, instance string) []int {
	t.Helper()
	out := kubectl(t, "get", "pods", "-n", namespace, "-l", "app.kubernetes.io/instance="+instance,
		"-o", "jsonpath={.items[*].status.containerStatuses[*].containerID}")
	var ids []int
	for _, id := range strings.Fields(out) {
		pid, err := strconv.Atoi(strings.TrimPrefix(id, "process://"))
		if err != nil {
			t.Fatalf("container ID %q is not process://<pid>", id)
		}
		ids = append(ids, pid)
	}
	return ids
}

var tailLines = regexp.MustCompile(`(?s)(?:[^\n]*\n){0,40}$`)

func dumpLogs(dir string) {
	_ = filepath.WalkDir(dir, func(path string, entry os.DirEntry, err error) error {
		if err != nil {
			return nil //nolint:nilerr // a folder that cannot be read has no logs to show
		}
		if entry.IsDir() || !strings.HasSuffix(path, ".log") || strings.HasSuffix(path, "kube-apiserver.log") {
			return nil
		}
		content, _ := os.ReadFile(path)
		fmt.Fprintf(os.Stderr, "==> %s (last lines)\n%s\n", path, tailLines.Find(content))
		return nil
	})
}
