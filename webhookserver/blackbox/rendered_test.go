package blackbox

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tlsconfig/tlstest"
)

// TestServerRunsWhatTheOperatorRenders starts webhookserver exactly as the operator's Deployment does (its
// container args, its ConfigMap, its mounted Secrets and certificate, with the pod's paths moved into a temp
// folder) for an endpoint with TLS and required client certificates: a client with a valid certificate gets an
// answer; one without, from another CA, or with a subject not allowed is refused.
func TestServerRunsWhatTheOperatorRenders(t *testing.T) {
	clientCA, otherCA, serverCA := tlstest.NewCA(t, "client CA"), tlstest.NewCA(t, "other CA"), tlstest.NewCA(t, "server CA")
	endpoint := &fulfillmentv1alpha1.WebhookEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: "bots", Name: "secure-bot", Generation: 1},
		Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
			Dialect: fulfillmentv1alpha1.DialectDialogflowCX,
			Path:    "/webhook",
			TLS: &fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeSelfSigned, ClientAuth: &fulfillmentv1alpha1.ClientAuth{
				Mode:            fulfillmentv1alpha1.ClientAuthRequire,
				CASecretRef:     &fulfillmentv1alpha1.SecretKeySelector{Name: "client-ca", Key: "ca.crt"},
				AllowedSubjects: []string{"dialogflow.example.com"},
			}},
		},
	}
	routes := []fulfillmentv1alpha1.IntentRoute{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "bots", Name: "status"},
		Spec: fulfillmentv1alpha1.IntentRouteSpec{
			EndpointRef: fulfillmentv1alpha1.LocalObjectReference{Name: "secure-bot"},
			Match:       fulfillmentv1alpha1.RouteMatch{Tags: []string{"status"}},
			Respond:     &fulfillmentv1alpha1.RespondAction{Text: "all good"},
		},
	}}

	// The pod's file system, under root.
	root := t.TempDir()
	rendered, _, err := controllers.RenderConfig(endpoint, routes, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The rendered file names the Secrets relative to itself, so it is used exactly as rendered.
	file, err := config.ParseFile("config.yaml", rendered)
	if err != nil {
		t.Fatalf("the server refuses the configuration the operator renders: %v", err)
	}
	if dir := filepath.Join(controllers.ConfigDir, file.SecretsDir); dir != controllers.SecretsDir {
		t.Fatalf("secretsDir %q is %s from the config file, want the pod's %q", file.SecretsDir, dir, controllers.SecretsDir)
	}
	serving := serverCA.ServerCert(t)
	for path, content := range map[string][]byte{
		controllers.ConfigFile:                       rendered,
		controllers.SecretsDir + "/client-ca/ca.crt": clientCA.PEM,
		controllers.TLSDir + "/tls.crt":              serving.CertPEM,
		controllers.TLSDir + "/tls.key":              serving.KeyPEM,
	} {
		if err := os.MkdirAll(filepath.Dir(root+path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(root+path, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	deployment := controllers.DesiredDeployment(controllers.DeploymentInputs{Endpoint: endpoint, Image: "test",
		Secrets: controllers.ReferencedSecrets(endpoint, routes), TLSSecretName: controllers.CertificateSecretName(endpoint)})
	args := deployment.Spec.Template.Spec.Containers[0].Args
	if args[0] != "serve" {
		t.Fatalf("container args %v do not start with serve", args)
	}
	var serveArgs []string
	for i := 1; i < len(args); i++ {
		switch args[i] {
		case "--listen", "--metrics-listen", "--admin-listen":
			i++ // the harness picks free loopback ports
		default:
			serveArgs = append(serveArgs, strings.ReplaceAll(strings.ReplaceAll(args[i], "/etc/fulfillment", root+"/etc/fulfillment"), "/var/lib/fulfillment", root+"/var/lib/fulfillment"))
		}
	}
	s := startServer(t, serveArgs...)

	url := strings.Replace(s.URL, "http://", "https://", 1) + "/webhook"
	body := []byte(`{"detectIntentResponseId":"d","fulfillmentInfo":{"tag":"status"},"sessionInfo":{"session":"projects/p/locations/l/agents/a/sessions/s"}}`)
	call := func(cert *tlstest.Cert) (int, string) {
		config := &tls.Config{RootCAs: serverCA.Pool(), MinVersion: tls.VersionTLS12}
		if cert != nil {
			config.Certificates = []tls.Certificate{cert.TLS}
		}
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: config}}
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		content, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(content)
	}
	for name, tc := range map[string]struct {
		cert   *tlstest.Cert
		status int
		want   string
	}{
		"valid client certificate": {clientCA.Issue(t, tlstest.Options{CommonName: "dialogflow.example.com", Client: true}), http.StatusOK, "all good"},
		"no client certificate":    {nil, http.StatusUnauthorized, "missing_client_certificate"},
		"another CA":               {otherCA.Issue(t, tlstest.Options{CommonName: "dialogflow.example.com", Client: true}), http.StatusUnauthorized, "client_certificate"},
		"subject not allowed":      {clientCA.Issue(t, tlstest.Options{CommonName: "mallory.example.com", Client: true}), http.StatusForbidden, "subject_not_allowed"},
	} {
		t.Run(name, func(t *testing.T) {
			if status, content := call(tc.cert); status != tc.status || !strings.Contains(content, tc.want) {
				t.Errorf("got %d %s, want %d %s", status, content, tc.status, tc.want)
			}
		})
	}
}
