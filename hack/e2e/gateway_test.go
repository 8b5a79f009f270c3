package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// gatewayManifests are a WebhookGateway and the basic-auth Secret of its Dialogflow ES bots.
const gatewayManifests = `apiVersion: v1
kind: Secret
metadata: {name: bank-basic}
stringData: {username: dialogflow, password: change-me-bank-bot}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookGateway
metadata: {name: shared}
spec:
  replicas: 2
`

// gatewayBot is a Dialogflow ES endpoint named name answering the balance intent with "<name> answers",
// on the gateway when gatewayRef is set, else with pods of its own (one replica).
func gatewayBot(name, path string, onGateway bool) string {
	placement := "replicas: 1"
	if onGateway {
		placement = "gatewayRef: {name: shared}"
	}
	return fmt.Sprintf(`apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: %[1]s}
spec:
  dialect: DialogflowES
  path: %[2]s
  %[3]s
  auth:
    basic:
      secretRef: {name: bank-basic}
  fallback: {text: Sorry.}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: %[1]s-balance}
spec:
  endpointRef: {name: %[1]s}
  match: {intents: [GetAccountBalance]}
  respond: {text: "%[1]s answers"}
`, name, path, placement)
}

// TestGatewayServesManyEndpointsAndMovesWithoutAGap runs two endpoints on one gateway's pods, then moves a third
// endpoint in and out of the gateway while a client calls it at its former URL throughout.
func TestGatewayServesManyEndpointsAndMovesWithoutAGap(t *testing.T) {
	const ns = "e2e-gateway"
	kubectl(t, "create", "namespace", ns)
	t.Cleanup(func() { _, _ = kubectlResult("delete", "namespace", ns, "--wait=false") })
	apply(t, ns, gatewayManifests+"---\n"+gatewayBot("alpha", "/bots/alpha", true)+"---\n"+gatewayBot("beta", "/bots/beta", true))
	for _, name := range []string{"alpha", "beta"} {
		kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "webhookendpoint/"+name, "--timeout=180s")
	}
	kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "webhookgateway/shared", "--timeout=60s")

	t.Run("two endpoints answer from the gateway's pods, each on its own path", func(t *testing.T) {
		for _, name := range []string{"alpha", "beta"} {
			url := localURL(t, ns, name)
			if want := "/bots/" + name; !strings.HasSuffix(url, want) {
				t.Fatalf("%s: status.url %s, want the gateway's URL and %s", name, url, want)
			}
			status, answer, err := post(url, balanceRequest(t, 1), basicAuth())
			if err != nil || status != 200 || fulfillmentText(answer) != name+" answers" {
				t.Fatalf("%s: status %d, error %v, answer %s", name, status, err, answer)
			}
		}
		deployments := strings.Fields(kubectl(t, "get", "deployments", "-n", ns, "-o", "jsonpath={.items[*].metadata.name}"))
		if len(deployments) != 1 || deployments[0] != "shared" {
			t.Fatalf("Deployments %v, want only the gateway's", deployments)
		}
		columns := kubectl(t, "get", "whg", "shared", "-n", ns, "--no-headers")
		if fields := strings.Fields(columns); len(fields) < 3 || fields[1] != "True" || fields[2] != "2" || fields[3] != "2" {
			t.Fatalf("kubectl get whg: %q, want Ready True, 2 endpoints, 2 ready replicas", columns)
		}
		if argo, kstatus := health(t, "webhookgateway", ns, "shared"); argo.Status != "Healthy" || kstatus != "Current" {
			t.Fatalf("the gateway's health: Argo CD %+v, kstatus %s", argo, kstatus)
		}
	})

	t.Run("an endpoint moves in and out of the gateway without a failed request", func(t *testing.T) {
		apply(t, ns, gatewayBot("gamma", "/bots/gamma", false))
		kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "webhookendpoint/gamma", "--timeout=180s")
		formerURL := localURL(t, ns, "gamma")
		tr := startTraffic(2, func(id int64) (int, string, error) {
			return post(formerURL, balanceRequest(t, id), basicAuth())
		}, 200, fulfillmentText)
		defer tr.stop()

		start := time.Now()
		apply(t, ns, gatewayBot("gamma", "/bots/gamma", true))
		eventually(t, 180*time.Second, "gamma served by the gateway, its own Deployment gone", func() error {
			if e := endpoint(t, ns, "gamma"); !strings.Contains(e.Status.URL, "shared.") {
				return fmt.Errorf("status.url is %s", e.Status.URL)
			}
			if _, err := kubectlResult("get", "deployment", "gamma", "-n", ns); err == nil {
				return errors.New("Deployment gamma still exists")
			}
			return nil
		})
		kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "webhookendpoint/gamma", "--timeout=60s")
		moveIn := time.Since(start)
		time.Sleep(3 * time.Second) // the former pods have terminated: only the gateway's answer now

		start = time.Now()
		apply(t, ns, gatewayBot("gamma", "/bots/gamma", false))
		eventually(t, 180*time.Second, "gamma out of the gateway's configuration", func() error {
			members := kubectl(t, "get", "configmap", "shared-config", "-n", ns, "-o", `jsonpath={.metadata.annotations.fulfillment\.dev/members}`)
			if strings.Contains(members, "gamma=") {
				own := kubectl(t, "get", "configmap", "gamma-config", "-n", ns, "-o", "jsonpath={.metadata.annotations}")
				gateway := kubectl(t, "get", "whg", "shared", "-n", ns, "-o", "jsonpath={.status}")
				return fmt.Errorf("the gateway still serves gamma: %s; gamma's ConfigMap: %s; the gateway: %s", members, own, gateway)
			}
			return nil
		})
		kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "webhookendpoint/gamma", "--timeout=60s")
		moveOut := time.Since(start)
		time.Sleep(3 * time.Second)
		tr.stop()

		if len(tr.failed) > 0 {
			t.Fatalf("%d of %d requests failed, first: %s", len(tr.failed), tr.sent.Load(), tr.failed[0])
		}
		if tr.answers["gamma answers"] == 0 || tr.sent.Load() < 50 {
			t.Fatalf("answers %v of %d requests: want gamma's answer throughout", tr.answers, tr.sent.Load())
		}
		t.Logf("%d requests at gamma's former URL, 0 failed; moved in in %s, out in %s", tr.sent.Load(),
			moveIn.Round(time.Millisecond), moveOut.Round(time.Millisecond))
	})

	t.Run("deleting the gateway stalls its endpoints with a message", func(t *testing.T) {
		kubectl(t, "delete", "webhookgateway", "shared", "-n", ns)
		eventually(t, 60*time.Second, "alpha Stalled", func() error {
			stalled := kubectl(t, "get", "webhookendpoint", "alpha", "-n", ns,
				"-o", `jsonpath={.status.conditions[?(@.type=="Stalled")].reason}: {.status.conditions[?(@.type=="Stalled")].message}`)
			if !strings.HasPrefix(stalled, "GatewayNotFound: WebhookGateway shared not found") {
				return fmt.Errorf("Stalled condition: %q", stalled)
			}
			return nil
		})
	})
}
