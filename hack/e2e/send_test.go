package e2e

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSendThroughPortForward: webhookserver send reads an endpoint and its Secrets from the cluster (the HMAC
// key the operator generated, a basic auth Secret) and, with no --url, reaches the endpoint through a
// port-forward to one of its pods, as kubectl port-forward does.
func TestSendThroughPortForward(t *testing.T) {
	const ns = "e2e-send"
	kubectl(t, "create", "namespace", ns)
	kubectl(t, "apply", "-n", ns, "-f", "config/samples/dialogflow-es-bank", "-f", "config/samples/generic-events")
	kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "webhookendpoint", "bank-bot", "payments-events", "--timeout=120s")

	send := func(args ...string) (int, string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, webhookserverBinary, append([]string{"send", "--kubeconfig", cluster.Kubeconfig, "-n", ns}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		var exitErr *exec.ExitError
		if err := cmd.Run(); err != nil && !errors.As(err, &exitErr) {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatalf("send %v did not end in 60s:\n%s", args, stderr.String())
		}
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}

	code, stdout, stderr := send("--endpoint", "bank-bot", "--intent", "GetAccountBalance", "--param", "account=demo")
	if code != 0 || !strings.Contains(stderr, ": 200 OK in ") || !strings.Contains(stderr, "route: "+ns+"/bank-bot-balance-demo\n") ||
		!strings.Contains(stdout, "Your demo account balance is 1234.56 EUR.") {
		t.Errorf("send to bank-bot through a port-forward: exit %d\n%s%s", code, stderr, stdout)
	}
	if !strings.Contains(stderr, "POST http://127.0.0.1:") {
		t.Errorf("send did not go through a local port:\n%s", stderr)
	}

	// Signed with the key the operator generated in payments-events-hmac.
	code, stdout, stderr = send("--endpoint", ns+"/payments-events", "--event", "invoice.paid", "--data", `{"data":{"id":"in_1"}}`)
	if code != 0 || !strings.Contains(stderr, ": 202 Accepted in ") || !strings.Contains(stdout, `"accepted": true`) {
		t.Errorf("send to payments-events through a port-forward: exit %d\n%s%s", code, stderr, stdout)
	}

	code, _, stderr = send("--endpoint", "no-such-bot", "--intent", "x")
	if code != 1 || !strings.Contains(stderr, "no WebhookEndpoint no-such-bot in namespace "+ns) {
		t.Errorf("send to a missing endpoint: exit %d\n%s", code, stderr)
	}
}
