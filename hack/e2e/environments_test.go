package e2e

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/controllers/pki"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// TestEnvironmentSamples applies the test and production overlays of config/samples/environments as a platform
// team would, one namespace each, and waits until both endpoints are Ready. The production overlay asks
// cert-manager for its certificate; the dev stack runs no cert-manager, so the test installs its Certificate CRD
// and writes the Secret cert-manager would issue.
func TestEnvironmentSamples(t *testing.T) {
	kubectl(t, "apply", "--server-side", "-f", testenv.ExternalCRD("cert-manager.io_certificates.yaml"))
	start := time.Now()
	for _, overlay := range []string{"test", "production"} {
		kubectl(t, "apply", "-k", "config/samples/environments/"+overlay)
		namespace := "support-" + overlay
		t.Cleanup(func() { _, _ = kubectlResult("delete", "namespace", namespace, "--wait=false") })
	}

	// Play cert-manager: once the operator asked for the certificate, issue it into the Secret it names.
	var secretName, dnsNames string
	eventually(t, 60*time.Second, "the production endpoint's Certificate", func() error {
		out, err := kubectlResult("get", "-n", "support-production", "certificates.cert-manager.io", "support-bot",
			"-o", `jsonpath={.spec.secretName} {.spec.dnsNames[*]}`)
		if err != nil {
			return err
		}
		fields := strings.Fields(out)
		if len(fields) < 2 {
			return fmt.Errorf("the Certificate names no Secret or DNS name yet: %q", out)
		}
		secretName, dnsNames = fields[0], strings.Join(fields[1:], " ")
		return nil
	})
	if !strings.Contains(dnsNames, "support-bot.example.com") {
		t.Errorf("the Certificate's dnsNames are %q; want the overlay's support-bot.example.com among them", dnsNames)
	}
	caCert, caKey, err := pki.NewCA("e2e issuer", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := pki.IssueServing(caCert, caKey, strings.Fields(dnsNames), time.Now(), 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, "support-production", fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: %s}
type: kubernetes.io/tls
data: {tls.crt: %s, tls.key: %s, ca.crt: %s}
`, secretName, base64.StdEncoding.EncodeToString(cert), base64.StdEncoding.EncodeToString(key),
		base64.StdEncoding.EncodeToString(caCert)))

	for _, overlay := range []string{"test", "production"} {
		kubectl(t, "wait", "-n", "support-"+overlay, "--for=condition=Ready", "webhookendpoint/support-bot", "--timeout=180s")
	}
	t.Logf("the test and production endpoints Ready %s after kubectl apply", time.Since(start).Round(time.Millisecond))

	// Each environment runs what its overlay says: its own replicas, TLS and upstream.
	want := map[string]struct{ replicas, scheme, upstream string }{
		"test":       {"1", "https", "orders-api.orders-staging"},
		"production": {"3", "https", "orders-api.orders.svc"},
	}
	for overlay, w := range want {
		namespace := "support-" + overlay
		replicas := kubectl(t, "get", "-n", namespace, "deployment", "support-bot", "-o", "jsonpath={.status.readyReplicas}")
		url := kubectl(t, "get", "-n", namespace, "webhookendpoint", "support-bot", "-o", "jsonpath={.status.url}")
		upstream := kubectl(t, "get", "-n", namespace, "intentroute", "support-bot-order-status", "-o", "jsonpath={.spec.call.url}")
		if replicas != w.replicas || !strings.HasPrefix(url, w.scheme+"://") || !strings.Contains(upstream, w.upstream) {
			t.Errorf("%s: %s ready replicas, url %s, upstream %s; want %s replicas, %s, an upstream at %s",
				overlay, replicas, url, upstream, w.replicas, w.scheme, w.upstream)
		}
	}
}
