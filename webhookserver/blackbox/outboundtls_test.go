package blackbox

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tlsconfig/tlstest"
)

// mtlsUpstream is an https API that requires a client certificate its CA signed, and records the common name of
// each one it accepted.
type mtlsUpstream struct {
	*httptest.Server
	mu      sync.Mutex
	clients []string
}

func newMTLSUpstream(t *testing.T, serverCA, clientCA *tlstest.CA) *mtlsUpstream {
	u := &mtlsUpstream{}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.clients = append(u.clients, r.TLS.PeerCertificates[0].Subject.CommonName)
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"client": %q}`, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	u.TLS = &tls.Config{
		Certificates: []tls.Certificate{serverCA.ServerCert(t).TLS},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCA.Pool(),
	}
	u.StartTLS()
	t.Cleanup(u.Close)
	return u
}

func (u *mtlsUpstream) seen() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.clients...)
}

// mtlsManifest is a Generic endpoint with two routes to upstream: "with" presents the client certificate,
// "without" only trusts the upstream's CA.
func mtlsManifest(upstream string, serverCA *tlstest.CA, client *tlstest.Cert) string {
	b64 := func(data []byte) string { return base64.StdEncoding.EncodeToString(data) }
	return fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: bank-ca}
data: {ca.crt: %[2]s}
---
apiVersion: v1
kind: Secret
metadata: {name: bank-client-cert}
type: kubernetes.io/tls
data: {tls.crt: %[3]s, tls.key: %[4]s}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bank}
spec:
  dialect: Generic
  path: /bank
  timeout: 3s
  auth: {allowUnauthenticated: true}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: with-certificate}
spec:
  endpointRef: {name: bank}
  match: {events: [with]}
  call:
    url: %[1]s/balance
    method: GET
    tls:
      caRef: {secretKeyRef: {name: bank-ca, key: ca.crt}}
      clientCertificateSecretRef: {name: bank-client-cert}
    respond: {text: "client ${response.body.client}"}
  fallback: {text: "refused"}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: without-certificate}
spec:
  endpointRef: {name: bank}
  match: {events: [without]}
  call:
    url: %[1]s/balance
    method: GET
    tls:
      caRef: {secretKeyRef: {name: bank-ca, key: ca.crt}}
    respond: {text: "client ${response.body.client}"}
  fallback: {text: "refused"}
`, upstream, b64(serverCA.PEM), b64(client.CertPEM), b64(client.KeyPEM))
}

func askEvent(t *testing.T, s *server, event string) string {
	t.Helper()
	resp, content := s.post("/bank", fmt.Appendf(nil, `{"event": %q}`, event), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, content)
	}
	var answer struct {
		FulfillmentText string `json:"fulfillmentText"`
	}
	if err := json.Unmarshal(content, &answer); err != nil {
		t.Fatalf("%v: %s", err, content)
	}
	return answer.FulfillmentText
}

func TestCallPresentsRouteClientCertificateAndUsesARotatedOne(t *testing.T) {
	serverCA, clientCA := tlstest.NewCA(t, "bank server CA"), tlstest.NewCA(t, "bank client CA")
	up := newMTLSUpstream(t, serverCA, clientCA)
	first := clientCA.Issue(t, tlstest.Options{CommonName: "fulfillment-v1", Client: true})
	dir := t.TempDir()
	writeFile(t, dir, "bank.yaml", mtlsManifest(up.URL, serverCA, first))
	s := startServer(t, "--manifests", dir)

	if text := askEvent(t, s, "with"); text != "client fulfillment-v1" {
		t.Fatalf("with the route's certificate: %q", text)
	}
	if text := askEvent(t, s, "without"); text != "refused" {
		t.Fatalf("without a certificate: %q", text)
	}
	if got := up.seen(); len(got) != 1 {
		t.Errorf("the upstream accepted %v, want only the route with the certificate", got)
	}

	// The Secret's certificate is replaced: the next calls present the new one, without a restart.
	second := clientCA.Issue(t, tlstest.Options{CommonName: "fulfillment-v2", Client: true})
	writeFile(t, dir, "bank.yaml", mtlsManifest(up.URL, serverCA, second))
	deadline := time.Now().Add(5 * time.Second)
	for {
		text := askEvent(t, s, "with")
		if text == "client fulfillment-v2" {
			break
		}
		if text != "client fulfillment-v1" || time.Now().After(deadline) {
			t.Fatalf("after rotation: %q", text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestConfigFileRotatedClientCertificate runs the server as the operator does, with the client certificate's
// Secret mounted as the kubelet mounts it: a rotation swaps the files, and the next calls present the new
// certificate without a restart.
func TestConfigFileRotatedClientCertificate(t *testing.T) {
	serverCA, clientCA := tlstest.NewCA(t, "bank server CA"), tlstest.NewCA(t, "bank client CA")
	up := newMTLSUpstream(t, serverCA, clientCA)
	dir := t.TempDir()
	caDir := filepath.Join(dir, "secrets", "bank-ca")
	if err := os.MkdirAll(caDir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, caDir, "ca.crt", string(serverCA.PEM))
	certDir := &tlstest.SecretDir{Dir: filepath.Join(dir, "secrets", "bank-client-cert")}
	if err := os.MkdirAll(certDir.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	first := clientCA.Issue(t, tlstest.Options{CommonName: "mounted-v1", Client: true})
	certDir.Write(t, map[string][]byte{"tls.crt": first.CertPEM, "tls.key": first.KeyPEM})
	config := writeFile(t, dir, "config.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookServerConfig
secretsDir: secrets
endpoints:
- name: bank
  namespace: bots
  spec:
    dialect: Generic
    path: /bank
    auth: {allowUnauthenticated: true}
  routes:
  - name: with-certificate
    spec:
      endpointRef: {name: bank}
      match: {events: [with]}
      call:
        url: `+up.URL+`/balance
        method: GET
        tls:
          caRef: {secretKeyRef: {name: bank-ca, key: ca.crt}}
          clientCertificateSecretRef: {name: bank-client-cert}
        respond: {text: "client ${response.body.client}"}
      fallback: {text: refused}
`)
	s := startServer(t, "--config", config)
	if text := askEvent(t, s, "with"); text != "client mounted-v1" {
		t.Fatalf("with the mounted certificate: %q", text)
	}

	second := clientCA.Issue(t, tlstest.Options{CommonName: "mounted-v2", Client: true})
	certDir.Write(t, map[string][]byte{"tls.crt": second.CertPEM, "tls.key": second.KeyPEM})
	deadline := time.Now().Add(5 * time.Second)
	for {
		text := askEvent(t, s, "with")
		if text == "client mounted-v2" {
			break
		}
		if text != "client mounted-v1" || time.Now().After(deadline) {
			t.Fatalf("after rotation: %q", text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// caBundleManifest is a Generic endpoint with a route that trusts the upstream's private CA from the ConfigMap
// a SelfSigned endpoint publishes (<endpoint>-ca-bundle, key ca.crt), and one that trusts only the system's
// roots.
func caBundleManifest(upstream string, configMap string) string {
	return fmt.Sprintf(`%[2]s
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bank}
spec:
  dialect: Generic
  path: /bank
  timeout: 3s
  auth: {allowUnauthenticated: true}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: trusting}
spec:
  endpointRef: {name: bank}
  match: {events: [trusting]}
  forward:
    url: %[1]s/webhook
    tls:
      caRef: {configMapKeyRef: {name: accounts-ca-bundle, key: ca.crt}}
  fallback: {text: "refused"}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: not-trusting}
spec:
  endpointRef: {name: bank}
  match: {events: [not-trusting]}
  forward: {url: %[1]s/webhook}
  fallback: {text: "refused"}
`, upstream, configMap)
}

// TestForwardTrustsUpstreamCAFromConfigMap runs standalone manifests holding the upstream's CA in a ConfigMap:
// the route that references it reaches the upstream, the one that does not refuses its certificate, and a
// manifest without the ConfigMap is refused naming the file, document and field.
func TestForwardTrustsUpstreamCAFromConfigMap(t *testing.T) {
	ca := tlstest.NewCA(t, "accounts endpoint CA")
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"fulfillmentText": "balance 42"}`))
	}))
	up.TLS = &tls.Config{Certificates: []tls.Certificate{ca.ServerCert(t).TLS}}
	up.StartTLS()
	t.Cleanup(up.Close)
	configMap := fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: accounts-ca-bundle}
data:
  ca.crt: %q`, string(ca.PEM))

	dir := t.TempDir()
	writeFile(t, dir, "bank.yaml", caBundleManifest(up.URL, configMap))
	s := startServer(t, "--manifests", dir)
	if text := askEvent(t, s, "trusting"); text != "balance 42" {
		t.Errorf("trusting the ConfigMap's CA: %q", text)
	}
	if text := askEvent(t, s, "not-trusting"); text != "refused" {
		t.Errorf("without caRef the upstream's private CA must not be trusted: %q", text)
	}

	missing := writeFile(t, t.TempDir(), "bank.yaml", caBundleManifest(up.URL, "# no ConfigMap"))
	out, err := runBinary(t, "serve", "--manifests", missing, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0")
	if err == nil {
		t.Fatalf("started without the ConfigMap:\n%s", out)
	}
	want := missing + `: document 3 (IntentRoute trusting): spec.forward.tls.caRef.configMapKeyRef: configmap default/accounts-ca-bundle not found: add its manifest`
	if !strings.Contains(out, want) {
		t.Errorf("output does not contain %q:\n%s", want, out)
	}
}

// TestConfigFileReloadsMountedCABundleConfigMap runs the server as the operator does, with the CA bundle's
// ConfigMap mounted under configMapsDir: once the kubelet swaps in a bundle holding the upstream's CA, the route
// reaches the upstream without a restart.
func TestConfigFileReloadsMountedCABundleConfigMap(t *testing.T) {
	ca, other := tlstest.NewCA(t, "accounts endpoint CA"), tlstest.NewCA(t, "some other CA")
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"fulfillmentText": "balance 42"}`))
	}))
	up.TLS = &tls.Config{Certificates: []tls.Certificate{ca.ServerCert(t).TLS}}
	up.StartTLS()
	t.Cleanup(up.Close)
	dir := t.TempDir()
	bundle := &tlstest.SecretDir{Dir: filepath.Join(dir, "configmaps", "accounts-ca-bundle")}
	if err := os.MkdirAll(bundle.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	bundle.Write(t, map[string][]byte{"ca.crt": other.PEM})
	config := writeFile(t, dir, "config.yaml", `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookServerConfig
secretsDir: secrets
configMapsDir: configmaps
endpoints:
- name: bank
  namespace: bots
  spec:
    dialect: Generic
    path: /bank
    auth: {allowUnauthenticated: true}
  routes:
  - name: trusting
    spec:
      endpointRef: {name: bank}
      match: {events: [trusting]}
      forward:
        url: `+up.URL+`/webhook
        tls:
          caRef: {configMapKeyRef: {name: accounts-ca-bundle, key: ca.crt}}
      fallback: {text: refused}
`)
	s := startServer(t, "--config", config)
	// The route is not asked before the change: its failures would open the upstream's circuit breaker.
	bundle.Write(t, map[string][]byte{"ca.crt": ca.PEM})
	if !s.waitForLog("configuration reloaded") {
		t.Fatal("the server did not reload after the mounted ConfigMap changed")
	}
	if text := askEvent(t, s, "trusting"); text != "balance 42" {
		t.Fatalf("after the ConfigMap changed: %q", text)
	}
}
