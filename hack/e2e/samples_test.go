package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

const (
	demoAnswer   = "Your demo account balance is 1234.56 EUR."
	editedAnswer = "Your demo account holds 1234.56 EUR (edited)."
	refundEvent  = `{"type":"refund.created","id":"%s","data":{"id":"re_%s","amount":1200}}`
)

// TestSampleBots drives the samples as a user does, from kubectl apply to deletion; the steps share the
// cluster and run in order.
func TestSampleBots(t *testing.T) {
	const ns = "e2e-samples"
	kubectl(t, "create", "namespace", ns)
	start := time.Now()
	kubectl(t, "apply", "-n", ns, "-k", "config/samples")
	kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "webhookendpoint", "--all", "--timeout=120s")
	endpoints := strings.Fields(kubectl(t, "get", "webhookendpoints", "-n", ns, "-o", "name"))
	t.Logf("%d sample endpoints (%d pods on the stack) Ready %s after kubectl apply", len(endpoints), cluster.Pods(),
		time.Since(start).Round(time.Millisecond))

	t.Run("kubectl get prints the columns the README shows", func(t *testing.T) {
		out := kubectl(t, "get", "webhookendpoints,intentroutes", "-n", ns)
		readme, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		// Column widths follow the values (the namespace is in the URL): compare the words.
		shown := map[string]bool{}
		for _, line := range strings.Split(string(readme), "\n") {
			shown[normalize(line)] = true
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "NAME ") && !shown[normalize(line)] {
				t.Errorf("README.md does not show the header kubectl prints:\n%s\nkubectl get printed:\n%s", line, out)
			}
		}
		for _, want := range []string{"bank-bot", "DialogflowES", "True", "http://bank-bot." + ns + ".svc:80/bank-bot", "Accepted"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl get does not show %q:\n%s", want, out)
			}
		}
	})

	t.Run("Argo CD health.lua and kstatus read the Ready objects as Healthy and Current", func(t *testing.T) {
		for _, name := range []string{"bank-bot", "order-bot", "rasa-actions", "payments-events"} {
			argo, kstatus := health(t, "webhookendpoint", ns, name)
			if argo.Status != "Healthy" || !strings.Contains(argo.Message, "replicas available") || kstatus != "Current" {
				t.Errorf("WebhookEndpoint %s: Argo CD %+v, kstatus %s; want Healthy (replicas available) and Current", name, argo, kstatus)
			}
		}
		for _, name := range strings.Fields(kubectl(t, "get", "intentroutes", "-n", ns, "-o", "jsonpath={.items[*].metadata.name}")) {
			if argo, kstatus := health(t, "intentroute", ns, name); argo.Status != "Healthy" || kstatus != "Current" {
				t.Errorf("IntentRoute %s: Argo CD %+v, kstatus %s; want Healthy and Current", name, argo, kstatus)
			}
		}
	})

	bankURL := localURL(t, ns, "bank-bot")
	t.Run("Dialogflow ES with basic auth is answered by the route's template", func(t *testing.T) {
		status, answer, err := post(bankURL, balanceRequest(t, 0), basicAuth())
		if err != nil || status != http.StatusOK || fulfillmentText(answer) != demoAnswer {
			t.Fatalf("status %d, error %v, answer %s; want 200 with %q", status, err, answer, demoAnswer)
		}
		wrong := http.Header{"Authorization": {"Basic ZGlhbG9nZmxvdzp3cm9uZw=="}} // dialogflow:wrong
		if status, answer, err := post(bankURL, balanceRequest(t, 1), wrong); err != nil || status != http.StatusUnauthorized {
			t.Errorf("a wrong password: status %d, error %v, answer %s; want 401", status, err, answer)
		}
	})

	eventsURL := localURL(t, ns, "payments-events")
	metricsURL := metricsURL(t, ns, "payments-events")
	key := secretValue(t, ns, "payments-events-hmac", "secret")
	t.Run("a Generic event signed with the generated Standard Webhooks key is queued and processed", func(t *testing.T) {
		if !strings.HasPrefix(key, "whsec_") {
			t.Fatalf("the generated key is not a whsec_ key (%d bytes)", len(key))
		}
		before := metric(t, metricsURL, "fulfillment_delivery_attempts_total", `result="success"`)
		body := []byte(fmt.Sprintf(refundEvent, "evt_1", "1"))
		status, answer, err := post(eventsURL, body, signedEvent(t, key, "msg_e2e_1", body))
		if err != nil || status != http.StatusAccepted {
			t.Fatalf("status %d, error %v, answer %s; want 202", status, err, answer)
		}
		eventually(t, 20*time.Second, "the queued event processed", func() error {
			if got := metric(t, metricsURL, "fulfillment_delivery_attempts_total", `result="success"`); got < before+1 {
				return fmt.Errorf("%v successful delivery attempts, want at least %v", got, before+1)
			}
			return nil
		})
		otherKey := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		if status, answer, err := post(eventsURL, body, signedEvent(t, otherKey, "msg_e2e_2", body)); err != nil || status != http.StatusUnauthorized {
			t.Errorf("signed with another key: status %d, error %v, answer %s; want 401", status, err, answer)
		}
		if status, answer, err := post(eventsURL, body, http.Header{}); err != nil || status != http.StatusUnauthorized {
			t.Errorf("unsigned: status %d, error %v, answer %s; want 401", status, err, answer)
		}
	})

	t.Run("a route edit is served without a failed request", func(t *testing.T) {
		tr := startTraffic(4, func(id int64) (int, string, error) {
			return post(bankURL, balanceRequest(t, id), basicAuth())
		}, http.StatusOK, fulfillmentText)
		defer tr.stop()
		hashesBefore := replicaConfigHashes(t, ns, "bank-bot")
		if len(hashesBefore) < 2 || slices.Contains(hashesBefore, "") {
			t.Fatalf("want every one of bank-bot's 2 replicas to report its configuration hash, got %q", hashesBefore)
		}
		eventually(t, 10*time.Second, "traffic answered", func() error {
			if !tr.seen(demoAnswer) {
				return fmt.Errorf("no %q yet", demoAnswer)
			}
			return nil
		})
		edited := time.Now()
		kubectl(t, "patch", "intentroute", "bank-bot-balance-demo", "-n", ns, "--type", "merge",
			"-p", fmt.Sprintf(`{"spec":{"respond":{"text":%q}}}`, editedAnswer))
		eventually(t, 30*time.Second, "the edited answer", func() error {
			if !tr.seen(editedAnswer) {
				return fmt.Errorf("no %q yet", editedAnswer)
			}
			return nil
		})
		t.Logf("the edited answer was served %s after kubectl patch", time.Since(edited).Round(time.Millisecond))
		// Traffic keeps flowing until every replica serves the new configuration, not only the first one.
		eventually(t, 30*time.Second, "every replica on the edited configuration", func() error {
			hashes := replicaConfigHashes(t, ns, "bank-bot")
			if len(hashes) != len(hashesBefore) {
				return fmt.Errorf("%d replicas ready, want %d", len(hashes), len(hashesBefore))
			}
			for i, hash := range hashes {
				if hash == "" || slices.Contains(hashesBefore, hash) {
					return fmt.Errorf("replica %d still serves configuration %q (before the edit: %v)", i, hash, hashesBefore)
				}
			}
			return nil
		})
		// The pods report the configuration by the hash the operator rendered, and the endpoint is Ready on it
		// only once every pod said so.
		eventually(t, 30*time.Second, "Ready on the configuration every replica serves", func() error {
			bot := endpoint(t, ns, "bank-bot")
			ready := meta.FindStatusCondition(bot.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
			want := "2 ready pods serve configuration " + shortHash(bot.Status.ConfigHash)
			if ready == nil || ready.Status != metav1.ConditionTrue || !strings.Contains(ready.Message, want) {
				return fmt.Errorf("Ready is %+v, want True with %q", ready, want)
			}
			for i, hash := range replicaConfigHashes(t, ns, "bank-bot") {
				if hash != bot.Status.ConfigHash {
					return fmt.Errorf("replica %d serves %q, status.configHash is %q", i, hash, bot.Status.ConfigHash)
				}
			}
			return nil
		})
		t.Logf("%d replicas moved from configurations %v to %v", len(hashesBefore), hashesBefore, replicaConfigHashes(t, ns, "bank-bot"))
		tr.stop()
		if len(tr.failed) > 0 {
			t.Fatalf("%d of %d requests failed, first: %s", len(tr.failed), tr.sent.Load(), tr.failed[0])
		}
		t.Logf("%d requests, 0 failed: %v", tr.sent.Load(), tr.answers)
	})

	t.Run("a key rotation is served without a failed request", func(t *testing.T) {
		tr := startTraffic(2, func(id int64) (int, string, error) {
			body := []byte(fmt.Sprintf(refundEvent, fmt.Sprintf("evt_old_%d", id), fmt.Sprint(id)))
			return post(eventsURL, body, signedEvent(t, key, fmt.Sprintf("msg_old_%d", id), body))
		}, http.StatusAccepted, func(string) string { return "accepted" })
		defer tr.stop()
		kubectl(t, "annotate", "webhookendpoint", "payments-events", "-n", ns, "fulfillment.dev/rotate-key=e2e-1")
		var newKey string
		eventually(t, 20*time.Second, "the rotated key", func() error {
			newKey = secretValue(t, ns, "payments-events-hmac", "secret")
			if newKey == key || secretValue(t, ns, "payments-events-hmac", "previous") != key {
				return fmt.Errorf("the Secret does not hold a new key with the old one as previous yet")
			}
			return nil
		})
		rotated := time.Now()
		eventually(t, 30*time.Second, "the new key accepted", func() error {
			body := []byte(fmt.Sprintf(refundEvent, "evt_new", "new"))
			status, answer, err := post(eventsURL, body, signedEvent(t, newKey, "msg_new_1", body))
			if err != nil {
				return err
			}
			if status != http.StatusAccepted {
				return fmt.Errorf("status %d, answer %s", status, answer)
			}
			return nil
		})
		t.Logf("the new key was accepted %s after the Secret changed", time.Since(rotated).Round(time.Millisecond))
		tr.stop()
		if len(tr.failed) > 0 {
			t.Fatalf("signed with the previous key during the rotation: %d of %d requests failed, first: %s",
				len(tr.failed), tr.sent.Load(), tr.failed[0])
		}
		t.Logf("%d requests signed with the previous key during the rotation, 0 failed", tr.sent.Load())
	})

	t.Run("deleting an endpoint removes every owned object and process", func(t *testing.T) {
		processes := pids(t, ns, "payments-events")
		if len(processes) == 0 {
			t.Fatal("no payments-events process found")
		}
		kubectl(t, "delete", "webhookendpoint", "payments-events", "-n", ns, "--timeout=60s")
		eventually(t, 90*time.Second, "every owned object gone", func() error {
			out, err := kubectlResult("get", "deployments,replicasets,statefulsets,pods,services,configmaps,secrets,serviceaccounts,"+
				"poddisruptionbudgets,networkpolicies,horizontalpodautoscalers", "-n", ns,
				"-l", "app.kubernetes.io/instance=payments-events", "-o", "name")
			if err != nil {
				return err
			}
			if out = strings.TrimSpace(out); out != "" {
				return fmt.Errorf("still there:\n%s", out)
			}
			if _, err := kubectlResult("get", "secret", "payments-events-hmac", "-n", ns); err == nil {
				return fmt.Errorf("the generated Secret payments-events-hmac is still there")
			}
			return nil
		})
		eventually(t, 60*time.Second, "every process gone", func() error {
			for _, pid := range processes {
				if processAlive(pid) {
					return fmt.Errorf("process %d is still running", pid)
				}
			}
			return nil
		})
		if conn, err := net.DialTimeout("tcp", hostOf(eventsURL), time.Second); err == nil {
			_ = conn.Close()
			t.Errorf("the Service's local address %s still accepts connections", hostOf(eventsURL))
		}
		if _, err := kubectlResult("get", "intentroute", "payments-refund", "-n", ns); err != nil {
			t.Errorf("the routes are the user's and stay: %v", err)
		}
		// The Local queue's claim may hold acknowledged events: it outlives the endpoint, for one of the same name.
		if phase, err := kubectlResult("get", "pvc", "queue-payments-events-0", "-n", ns, "-o", "jsonpath={.status.phase}"); err != nil || phase != "Bound" {
			t.Errorf("the queue's claim queue-payments-events-0 is gone with the endpoint (%q, %v)", phase, err)
		}
	})
}

func hostOf(rawURL string) string {
	u, _ := url.Parse(rawURL)
	return u.Host
}

// shortHash is a configuration hash as condition messages show it.
func shortHash(hash string) string { return hash[:min(len(hash), 12)] }

// replicaConfigHashes reads the configuration hash (fulfillment_config_info) each ready pod of the endpoint
// serves, straight from its own metrics port rather than through the Service; "" for a pod that did not answer.
func replicaConfigHashes(t testing.TB, namespace, name string) []string {
	t.Helper()
	selector := labels.SelectorFromSet(controllers.SelectorLabels(endpoint(t, namespace, name)))
	var hashes []string
	for _, address := range cluster.Kubelet.Endpoints(namespace, selector, intstr.FromInt32(controllers.MetricsPort)) {
		hash := ""
		if response, err := http.Get("http://" + address + "/metrics"); err == nil {
			content, _ := io.ReadAll(response.Body)
			_ = response.Body.Close()
			for _, line := range strings.Split(string(content), "\n") {
				if rest, ok := strings.CutPrefix(line, `fulfillment_config_info{hash="`); ok {
					hash, _, _ = strings.Cut(rest, `"`)
				}
			}
		}
		hashes = append(hashes, hash)
	}
	return hashes
}

// metricsURL is the endpoint's metrics port on the Service proxy.
func metricsURL(t testing.TB, namespace, name string) string {
	t.Helper()
	address, ok := cluster.Proxy.Address(types.NamespacedName{Namespace: namespace, Name: name}, controllers.MetricsPort)
	if !ok {
		t.Fatalf("the Service %s has no metrics port on the proxy", name)
	}
	return "http://" + address
}

// TestHealthFollowsTheEndpoint reads the live objects with Argo CD's health.lua and kstatus as an endpoint goes
// from a missing Secret (Degraded, Failed), to pods that cannot be created (Progressing, InProgress), to Ready
// (Healthy, Current), with real Deployments and pods.
func TestHealthFollowsTheEndpoint(t *testing.T) {
	const ns = "e2e-health"
	kubectl(t, "create", "namespace", ns)
	apply(t, ns, `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: health-bot}
spec:
  dialect: DialogflowES
  auth: {basic: {secretRef: {name: health-bot-basic}}}
  replicas: 1
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: health-bot-welcome}
spec:
  endpointRef: {name: health-bot}
  match: {intents: [Default Welcome Intent]}
  respond: {text: Hi!}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: orphan}
spec:
  endpointRef: {name: no-such-endpoint}
  match: {intents: [Default Welcome Intent]}
  respond: {text: Hi!}
`)
	expectHealth := func(kind, name, argoStatus, messagePart, kstatus string) {
		t.Helper()
		eventually(t, 30*time.Second, fmt.Sprintf("%s %s %s/%s", kind, name, argoStatus, kstatus), func() error {
			argo, got := health(t, kind, ns, name)
			if argo.Status != argoStatus || !strings.Contains(argo.Message, messagePart) || got != kstatus {
				return fmt.Errorf("Argo CD %+v, kstatus %s; want %s (%q) and %s", argo, got, argoStatus, messagePart, kstatus)
			}
			return nil
		})
	}
	// A missing Secret is waited for (a GitOps tool or a secrets operator creates it moments later), with the
	// Secret named.
	expectHealth("webhookendpoint", "health-bot", "Progressing", "health-bot-basic", "InProgress")
	expectHealth("intentroute", "orphan", "Degraded", "EndpointNotFound: WebhookEndpoint no-such-endpoint", "Failed")

	// No pod may be created: the Deployment cannot become available, which is progress not yet made.
	apply(t, ns, `
apiVersion: v1
kind: ResourceQuota
metadata: {name: no-pods}
spec: {hard: {pods: "0"}}
`)
	// The API server enforces a quota once its informer has it: wait until a pod is refused (a server dry run).
	eventually(t, 10*time.Second, "the quota enforced", func() error {
		if _, err := kubectlResult("run", "quota-probe", "-n", ns, "--image", "none", "--dry-run=server"); err == nil {
			return fmt.Errorf("a pod is still admitted")
		}
		return nil
	})
	apply(t, ns, `
apiVersion: v1
kind: Secret
metadata: {name: health-bot-basic}
type: kubernetes.io/basic-auth
stringData: {username: dialogflow, password: health-check}
`)
	expectHealth("webhookendpoint", "health-bot", "Progressing", "rolling out: 0/1 replicas updated", "InProgress")
	kubectl(t, "delete", "resourcequota", "no-pods", "-n", ns)
	start := time.Now()
	expectHealth("webhookendpoint", "health-bot", "Healthy", "1/1 replicas available", "Current")
	t.Logf("Healthy %s after the quota was lifted", time.Since(start).Round(time.Millisecond))
	expectHealth("intentroute", "health-bot-welcome", "Healthy", "health-bot", "Current")
}

// apply runs kubectl apply on a manifest.
func apply(t testing.TB, namespace, manifest string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-n", namespace, "-f", file)
}
