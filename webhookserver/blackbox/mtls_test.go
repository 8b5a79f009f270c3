package blackbox

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tlsconfig/tlstest"
)

// TestMutualTLS runs the server over HTTPS with client certificates required: a valid client gets an answer;
// one without a certificate, with one from another CA or with a subject not allowed is refused with a reason.
// Then the serving certificate is rotated under load: no request fails and new connections see the new one.
func TestMutualTLS(t *testing.T) {
	serverCA := tlstest.NewCA(t, "server CA")
	clientCA := tlstest.NewCA(t, "client CA")
	otherCA := tlstest.NewCA(t, "other CA")
	serving := serverCA.ServerCert(t)
	certs := tlstest.NewSecretDir(t, map[string][]byte{"tls.crt": serving.CertPEM, "tls.key": serving.KeyPEM})

	dir := t.TempDir()
	writeFile(t, dir, "bot.yaml", `
apiVersion: v1
kind: Secret
metadata: {name: client-ca}
stringData:
  ca.crt: |
`+indent(string(clientCA.PEM), "    ")+`
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: secure}
spec:
  dialect: DialogflowES
  tls:
    mode: Secret
    secretName: secure-tls
    clientAuth:
      mode: Require
      caSecretRef: {name: client-ca, key: ca.crt}
      allowedSubjects: [dialogflow.example.com]
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: hello}
spec:
  endpointRef: {name: secure}
  match: {intents: [Hello]}
  respond: {text: "hello over mTLS"}
`)
	s := startServer(t, "--manifests", dir, "--tls-cert-file", certs.Path("tls.crt"), "--tls-key-file", certs.Path("tls.key"))
	url := strings.Replace(s.URL, "http://", "https://", 1) + "/webhook"
	body := []byte(`{"responseId":"r","session":"projects/p/agent/sessions/s","queryResult":{"intent":{"displayName":"Hello"}}}`)

	client := func(cert *tlstest.Cert) *http.Client {
		config := &tls.Config{RootCAs: serverCA.Pool(), MinVersion: tls.VersionTLS12}
		if cert != nil {
			config.Certificates = []tls.Certificate{cert.TLS}
		}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: config}}
	}
	call := func(c *http.Client) (int, string) {
		resp, err := c.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		content, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(content)
	}

	valid := clientCA.Issue(t, tlstest.Options{CommonName: "dialogflow.example.com", Client: true})
	cases := map[string]struct {
		client *http.Client
		status int
		want   string
	}{
		"valid client certificate": {client(valid), http.StatusOK, "hello over mTLS"},
		"no client certificate":    {client(nil), http.StatusUnauthorized, "missing_client_certificate"},
		"certificate from another CA": {client(otherCA.Issue(t, tlstest.Options{CommonName: "dialogflow.example.com", Client: true})),
			http.StatusUnauthorized, "client_certificate"},
		"subject not allowed": {client(clientCA.Issue(t, tlstest.Options{CommonName: "intruder.example.com", Client: true})),
			http.StatusForbidden, "subject_not_allowed"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status, content := call(tc.client)
			if status != tc.status || !strings.Contains(content, tc.want) {
				t.Errorf("got %d %s, want %d %s", status, content, tc.status, tc.want)
			}
		})
	}

	// Rotation under load: clients keep calling over kept-alive and new connections while the certificate
	// files are swapped; every request succeeds and a new connection ends up seeing the new certificate.
	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func(fresh bool) {
			defer wg.Done()
			c := client(valid)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if fresh {
					c = client(valid) // a new connection each time
				}
				status, _ := call(c)
				sent.Add(1)
				if status != http.StatusOK {
					failed.Add(1)
				}
			}
		}(i%2 == 0)
	}
	var newSerial *x509.Certificate
	for range 3 {
		time.Sleep(150 * time.Millisecond)
		next := serverCA.ServerCert(t)
		certs.Write(t, map[string][]byte{"tls.crt": next.CertPEM, "tls.key": next.KeyPEM})
		newSerial = next.Leaf
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(s.URL, "http://"), &tls.Config{RootCAs: serverCA.Pool(), MinVersion: tls.VersionTLS12})
		if err == nil {
			seen := conn.ConnectionState().PeerCertificates[0]
			conn.Close()
			if seen.SerialNumber.Cmp(newSerial.SerialNumber) == 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("new connections never saw the rotated certificate")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || sent.Load() < 20 {
		t.Errorf("%d of %d requests failed during 3 certificate rotations", failed.Load(), sent.Load())
	}
	t.Logf("%d requests during 3 certificate rotations, %d failed", sent.Load(), failed.Load())
}

func indent(text, prefix string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}
