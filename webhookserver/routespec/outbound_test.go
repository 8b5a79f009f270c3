package routespec

import (
	"crypto/x509"
	"fmt"
	"strings"
	"testing"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tlsconfig/tlstest"
)

func TestCompileOutboundReportsEachSecretProblemAtItsField(t *testing.T) {
	ca := tlstest.NewCA(t, "upstream CA")
	client, other := ca.Issue(t, tlstest.Options{CommonName: "client", Client: true}), ca.Issue(t, tlstest.Options{CommonName: "other", Client: true})
	const clientSecret = "client-secret-never-quoted"
	complete := map[string]string{"oauth/id": "fulfillment", "oauth/secret": " " + clientSecret + "\n", "ca/ca.crt": string(ca.PEM),
		"cert/tls.crt": string(client.CertPEM), "cert/tls.key": string(client.KeyPEM)}
	auth := &fulfillmentv1alpha1.OutboundAuth{OAuth2: &fulfillmentv1alpha1.OAuth2ClientCredentials{TokenURL: "https://idp.example/token",
		SecretRef: fulfillmentv1alpha1.OAuth2SecretRef{Name: "oauth", ClientIDKey: "id", ClientSecretKey: "secret"}}}
	settings := &fulfillmentv1alpha1.OutboundTLS{ServerName: "bank.internal",
		CARef:                      &fulfillmentv1alpha1.CABundleRef{SecretKeyRef: &fulfillmentv1alpha1.SecretKeySelector{Name: "ca", Key: "ca.crt"}},
		ClientCertificateSecretRef: &fulfillmentv1alpha1.LocalObjectReference{Name: "cert"}}

	cases := map[string]struct {
		change map[string]string // "" deletes a key
		want   string
	}{
		"complete":                  {},
		"no client secret":          {change: map[string]string{"oauth/secret": ""}, want: "spec.forward.auth.oauth2.secretRef: no key oauth/secret"},
		"blank client ID":           {change: map[string]string{"oauth/id": "  "}, want: `spec.forward.auth.oauth2.secretRef: secret oauth key "id" is empty`},
		"a CA that is no PEM":       {change: map[string]string{"ca/ca.crt": "not a certificate"}, want: "spec.forward.tls.caRef.secretKeyRef: secret ca key \"ca.crt\" holds no valid PEM certificate"},
		"no private key":            {change: map[string]string{"cert/tls.key": ""}, want: "spec.forward.tls.clientCertificateSecretRef: no key cert/tls.key"},
		"another certificate's key": {change: map[string]string{"cert/tls.key": string(other.KeyPEM)}, want: "spec.forward.tls.clientCertificateSecretRef: secret cert does not hold a matching"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			data := map[string]string{}
			for k, v := range complete {
				data[k] = v
			}
			for k, v := range tc.change {
				if v == "" {
					delete(data, k)
				} else {
					data[k] = v
				}
			}
			secret := func(name, key string) ([]byte, error) {
				if v, ok := data[name+"/"+key]; ok {
					return []byte(v), nil
				}
				return nil, fmt.Errorf("no key %s/%s", name, key)
			}
			out, err := CompileOutbound(auth, settings, "spec.forward", secret, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if out.OAuth2.ClientSecret != clientSecret || out.TLS.ClientCertificate == nil || out.TLS.RootCAs == nil || out.TLS.ServerName != "bank.internal" {
					t.Errorf("compiled %+v %+v", out.OAuth2.Spec, out.TLS)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), clientSecret) || strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("the error quotes a secret: %v", err)
			}
		})
	}

	// Without Secrets (the operator's check), nothing is read and nothing fails.
	if _, err := CompileOutbound(auth, settings, "spec.call", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestCompileOutboundTrustsACABundleFromAConfigMap(t *testing.T) {
	ca := tlstest.NewCA(t, "endpoint CA")
	settings := &fulfillmentv1alpha1.OutboundTLS{CARef: &fulfillmentv1alpha1.CABundleRef{
		ConfigMapKeyRef: &fulfillmentv1alpha1.ConfigMapKeySelector{Name: "bank-bot-ca-bundle", Key: "ca.crt"}}}
	noSecrets := func(name, key string) ([]byte, error) { return nil, fmt.Errorf("no secret %s", name) }
	cases := map[string]struct {
		configMaps map[string]string
		want       string
	}{
		"the bundle":   {configMaps: map[string]string{"bank-bot-ca-bundle/ca.crt": string(ca.PEM)}},
		"no ConfigMap": {want: `spec.call.tls.caRef.configMapKeyRef: configmap bank-bot-ca-bundle key "ca.crt" is missing`},
		"no PEM in it": {configMaps: map[string]string{"bank-bot-ca-bundle/ca.crt": "not a certificate"}, want: `spec.call.tls.caRef.configMapKeyRef: configmap bank-bot-ca-bundle key "ca.crt" holds no valid PEM certificate`},
		"another key":  {configMaps: map[string]string{"bank-bot-ca-bundle/tls.crt": string(ca.PEM)}, want: `spec.call.tls.caRef.configMapKeyRef: configmap bank-bot-ca-bundle key "ca.crt" is missing`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			configMap := func(name, key string) ([]byte, error) {
				if v, ok := tc.configMaps[name+"/"+key]; ok {
					return []byte(v), nil
				}
				return nil, fmt.Errorf("configmap %s key %q is missing", name, key)
			}
			out, err := CompileOutbound(nil, settings, "spec.call", noSecrets, configMap)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := ca.ServerCert(t).Leaf.Verify(x509.VerifyOptions{Roots: out.TLS.RootCAs}); err != nil {
					t.Errorf("a certificate the ConfigMap's CA issued is not trusted: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestOutboundWarningsNameWhatTravelsInClear(t *testing.T) {
	oauth2 := func(tokenURL string) *fulfillmentv1alpha1.OutboundAuth {
		return &fulfillmentv1alpha1.OutboundAuth{OAuth2: &fulfillmentv1alpha1.OAuth2ClientCredentials{TokenURL: tokenURL}}
	}
	cases := map[string]struct {
		spec fulfillmentv1alpha1.IntentRouteSpec
		want []string
	}{
		"https everywhere":  {spec: fulfillmentv1alpha1.IntentRouteSpec{Call: &fulfillmentv1alpha1.CallAction{URL: "https://api", Auth: oauth2("https://idp/token")}}},
		"no auth over http": {spec: fulfillmentv1alpha1.IntentRouteSpec{Call: &fulfillmentv1alpha1.CallAction{URL: "http://api"}}},
		"http token URL": {spec: fulfillmentv1alpha1.IntentRouteSpec{Call: &fulfillmentv1alpha1.CallAction{URL: "https://api", Auth: oauth2("http://idp/token")}},
			want: []string{"spec.call.auth.oauth2.tokenURL is http://"}},
		"forward to a Service": {spec: fulfillmentv1alpha1.IntentRouteSpec{Forward: &fulfillmentv1alpha1.ForwardAction{
			Service: &fulfillmentv1alpha1.ServiceTarget{Name: "backend", Port: 80}, Auth: oauth2("https://idp/token")}},
			want: []string{"spec.forward.url or service is plain HTTP with auth.oauth2"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := OutboundWarnings(&tc.spec)
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("warning %q, want it to start with %q", got[i], tc.want[i])
				}
			}
		})
	}
}
