package controllers

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers/pki"
)

// certNow is the fixed clock of the certificate tests.
var certNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

const certUID = types.UID("7d4e2a10-3c1b-4f6a-8e9d-0b1c2d3e4f50")

// certEndpoint is a Dialogflow CX endpoint "pay-bot" in namespace "bots" with the given TLS settings.
func certEndpoint(tls *fulfillmentv1alpha1.EndpointTLS, modify ...func(*fulfillmentv1alpha1.WebhookEndpoint)) *fulfillmentv1alpha1.WebhookEndpoint {
	endpoint := &fulfillmentv1alpha1.WebhookEndpoint{
		TypeMeta:   metav1.TypeMeta{APIVersion: fulfillmentv1alpha1.GroupVersion.String(), Kind: "WebhookEndpoint"},
		ObjectMeta: metav1.ObjectMeta{Name: "pay-bot", Namespace: "bots", UID: certUID, Generation: 2},
		Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
			Dialect: fulfillmentv1alpha1.DialectDialogflowCX,
			Auth:    fulfillmentv1alpha1.EndpointAuth{OIDC: &fulfillmentv1alpha1.OIDCAuth{Issuer: "https://accounts.google.com", Audiences: []string{"pay"}}},
			TLS:     tls,
		},
	}
	for _, m := range modify {
		m(endpoint)
	}
	return endpoint
}

func certManagerTLS(modify ...func(*fulfillmentv1alpha1.EndpointTLS)) *fulfillmentv1alpha1.EndpointTLS {
	tls := &fulfillmentv1alpha1.EndpointTLS{
		Mode:      fulfillmentv1alpha1.TLSModeCertManager,
		IssuerRef: &fulfillmentv1alpha1.IssuerReference{Name: "internal-ca", Kind: "Issuer", Group: "cert-manager.io"},
	}
	for _, m := range modify {
		m(tls)
	}
	return tls
}

func selfSignedTLS(modify ...func(*fulfillmentv1alpha1.EndpointTLS)) *fulfillmentv1alpha1.EndpointTLS {
	tls := &fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeSelfSigned}
	for _, m := range modify {
		m(tls)
	}
	return tls
}

func withDNSNames(names ...string) func(*fulfillmentv1alpha1.EndpointTLS) {
	return func(tls *fulfillmentv1alpha1.EndpointTLS) { tls.DNSNames = names }
}

func withLifetime(duration, renewBefore time.Duration) func(*fulfillmentv1alpha1.EndpointTLS) {
	return func(tls *fulfillmentv1alpha1.EndpointTLS) {
		if duration != 0 {
			tls.Duration = &metav1.Duration{Duration: duration}
		}
		if renewBefore != 0 {
			tls.RenewBefore = &metav1.Duration{Duration: renewBefore}
		}
	}
}

// wantCertLabels are Labels(certEndpoint(...)), spelled out so that a change to Labels shows here.
var wantCertLabels = map[string]string{
	"app.kubernetes.io/name":       "webhookserver",
	"app.kubernetes.io/instance":   "pay-bot",
	"app.kubernetes.io/managed-by": "fulfillment-operator",
	"app.kubernetes.io/component":  "fulfillment",
	"fulfillment.dev/endpoint":     "pay-bot",
}

var wantCertOwners = []metav1.OwnerReference{{
	APIVersion: "fulfillment.dev/v1alpha1", Kind: "WebhookEndpoint", Name: "pay-bot", UID: certUID,
	Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
}}

func TestCertificateNames(t *testing.T) {
	endpoint := certEndpoint(selfSignedTLS())
	tests := map[string]struct {
		got, want string
	}{
		"serving Secret":   {got: CertificateSecretName(endpoint), want: "pay-bot-tls"},
		"CA Secret":        {got: CASecretName(endpoint), want: "pay-bot-ca"},
		"CA bundle":        {got: CABundleConfigMapName(endpoint), want: "pay-bot-ca-bundle"},
		"CA common name":   {got: CACommonName(endpoint), want: "bots/pay-bot fulfillment CA"},
		"config ConfigMap": {got: ConfigMapName(endpoint), want: "pay-bot-config"},
	}
	seen := map[string]string{}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
		if other, ok := seen[tt.got]; ok && name != "CA common name" {
			t.Errorf("%s and %s share the name %q", name, other, tt.got)
		}
		seen[tt.got] = name
	}
}

func TestCACommonName(t *testing.T) {
	tests := map[string]struct {
		namespace, name string
		want            string
	}{
		"short": {namespace: "bots", name: "pay-bot", want: "bots/pay-bot fulfillment CA"},
		"long names are cut to 64 bytes": {
			namespace: strings.Repeat("n", 40), name: strings.Repeat("e", 40),
			want: strings.Repeat("n", 40) + "/" + strings.Repeat("e", 8) + " fulfillment CA",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			endpoint := certEndpoint(selfSignedTLS(), func(e *fulfillmentv1alpha1.WebhookEndpoint) {
				e.Namespace, e.Name = tt.namespace, tt.name
			})
			got := CACommonName(endpoint)
			if got != tt.want {
				t.Errorf("CACommonName = %q, want %q", got, tt.want)
			}
			if _, _, err := pki.NewCA(got, certNow, 0); err != nil {
				t.Errorf("NewCA refuses the name: %v", err)
			}
		})
	}
}

func TestServingDNSNames(t *testing.T) {
	tests := map[string]struct {
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		want     []string
	}{
		"the Service's names by default": {
			endpoint: certEndpoint(selfSignedTLS()),
			want:     []string{"pay-bot", "pay-bot.bots", "pay-bot.bots.svc", "pay-bot.bots.svc.cluster.local"},
		},
		"spec.tls.dnsNames, in their order": {
			endpoint: certEndpoint(certManagerTLS(withDNSNames("pay.example.com", "*.pay.example.com"))),
			want:     []string{"pay.example.com", "*.pay.example.com"},
		},
		"an empty dnsNames list means the default": {
			endpoint: certEndpoint(selfSignedTLS(withDNSNames())),
			want:     []string{"pay-bot", "pay-bot.bots", "pay-bot.bots.svc", "pay-bot.bots.svc.cluster.local"},
		},
		"no tls at all": {
			endpoint: certEndpoint(nil),
			want:     []string{"pay-bot", "pay-bot.bots", "pay-bot.bots.svc", "pay-bot.bots.svc.cluster.local"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := ServingDNSNames(tt.endpoint)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ServingDNSNames = %q, want %q", got, tt.want)
			}
			got[0] = "changed"
			if tls := tt.endpoint.Spec.TLS; tls != nil && len(tls.DNSNames) > 0 && tls.DNSNames[0] == "changed" {
				t.Error("the result shares its array with spec.tls.dnsNames")
			}
		})
	}
}

func TestCertificateLifetime(t *testing.T) {
	tests := map[string]struct {
		tls             *fulfillmentv1alpha1.EndpointTLS
		wantDuration    time.Duration
		wantRenewBefore time.Duration
	}{
		"defaults: 90 days, renewed 30 days before": {
			tls: selfSignedTLS(), wantDuration: 90 * 24 * time.Hour, wantRenewBefore: 30 * 24 * time.Hour,
		},
		"a duration alone: renewed a third before": {
			tls: selfSignedTLS(withLifetime(24*time.Hour, 0)), wantDuration: 24 * time.Hour, wantRenewBefore: 8 * time.Hour,
		},
		"both set": {
			tls: selfSignedTLS(withLifetime(30*24*time.Hour, 7*24*time.Hour)), wantDuration: 30 * 24 * time.Hour, wantRenewBefore: 7 * 24 * time.Hour,
		},
		"renewBefore alone": {
			tls: selfSignedTLS(withLifetime(0, time.Hour)), wantDuration: 90 * 24 * time.Hour, wantRenewBefore: time.Hour,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			endpoint := certEndpoint(tt.tls)
			if got := CertificateDuration(endpoint); got != tt.wantDuration {
				t.Errorf("CertificateDuration = %s, want %s", got, tt.wantDuration)
			}
			if got := CertificateRenewBefore(endpoint); got != tt.wantRenewBefore {
				t.Errorf("CertificateRenewBefore = %s, want %s", got, tt.wantRenewBefore)
			}
		})
	}
}

func TestDesiredCertificate(t *testing.T) {
	labels := map[string]any{}
	for k, v := range wantCertLabels {
		labels[k] = v
	}
	owners := []any{map[string]any{
		"apiVersion": "fulfillment.dev/v1alpha1", "kind": "WebhookEndpoint", "name": "pay-bot", "uid": string(certUID),
		"controller": true, "blockOwnerDeletion": true,
	}}
	// want builds the expected object: the common parts plus the spec fields of a case.
	want := func(spec map[string]any) map[string]any {
		base := map[string]any{
			"secretName": "pay-bot-tls",
			"dnsNames":   []any{"pay-bot", "pay-bot.bots", "pay-bot.bots.svc", "pay-bot.bots.svc.cluster.local"},
			"issuerRef":  map[string]any{"name": "internal-ca", "kind": "Issuer", "group": "cert-manager.io"},
			"privateKey": map[string]any{"algorithm": "ECDSA", "size": int64(256), "rotationPolicy": "Always"},
			"usages":     []any{"digital signature", "server auth"},

			"revisionHistoryLimit": int64(1),
			"secretTemplate":       map[string]any{"labels": labels},
		}
		for k, v := range spec {
			base[k] = v
		}
		return map[string]any{
			"apiVersion": "cert-manager.io/v1",
			"kind":       "Certificate",
			"metadata": map[string]any{
				"name": "pay-bot", "namespace": "bots", "labels": labels, "ownerReferences": owners,
			},
			"spec": base,
		}
	}
	tests := map[string]struct {
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		want     map[string]any
	}{
		"no tls":         {endpoint: certEndpoint(nil)},
		"tls Disabled":   {endpoint: certEndpoint(&fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeDisabled})},
		"tls Secret":     {endpoint: certEndpoint(&fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeSecret, SecretName: "mine"})},
		"tls SelfSigned": {endpoint: certEndpoint(selfSignedTLS())},
		"CertManager, the Service's names, cert-manager's lifetime": {
			endpoint: certEndpoint(certManagerTLS()), want: want(nil),
		},
		"an issuerRef the API server has not defaulted": {
			endpoint: certEndpoint(certManagerTLS(func(tls *fulfillmentv1alpha1.EndpointTLS) {
				tls.IssuerRef = &fulfillmentv1alpha1.IssuerReference{Name: "internal-ca"}
			})),
			want: want(nil),
		},
		"a ClusterIssuer, own names and lifetime": {
			endpoint: certEndpoint(certManagerTLS(withDNSNames("pay.example.com"), withLifetime(30*24*time.Hour, 10*24*time.Hour),
				func(tls *fulfillmentv1alpha1.EndpointTLS) { tls.IssuerRef.Kind = "ClusterIssuer" })),
			want: want(map[string]any{
				"dnsNames":    []any{"pay.example.com"},
				"issuerRef":   map[string]any{"name": "internal-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
				"duration":    "720h0m0s",
				"renewBefore": "240h0m0s",
			}),
		},
		"an external issuer": {
			endpoint: certEndpoint(certManagerTLS(func(tls *fulfillmentv1alpha1.EndpointTLS) {
				tls.IssuerRef = &fulfillmentv1alpha1.IssuerReference{Name: "vault", Kind: "VaultIssuer", Group: "vault.example.com"}
			})),
			want: want(map[string]any{
				"issuerRef": map[string]any{"name": "vault", "kind": "VaultIssuer", "group": "vault.example.com"},
			}),
		},
		"renewBefore alone": {
			endpoint: certEndpoint(certManagerTLS(withLifetime(0, 90*time.Minute))),
			want:     want(map[string]any{"renewBefore": "1h30m0s"}),
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := DesiredCertificate(tt.endpoint)
			if tt.want == nil {
				if got != nil {
					t.Fatalf("DesiredCertificate = %v, want nil", got.Object)
				}
				return
			}
			if got == nil {
				t.Fatal("DesiredCertificate = nil")
			}
			if !reflect.DeepEqual(got.Object, tt.want) {
				t.Errorf("DesiredCertificate =\n%#v\nwant\n%#v", got.Object, tt.want)
			}
			// An unstructured object holds only JSON types, or client-go panics when it copies it.
			if copied := runtime.DeepCopyJSON(got.Object); !reflect.DeepEqual(copied, got.Object) {
				t.Error("the object does not survive a JSON deep copy")
			}
			if gvk := got.GroupVersionKind(); gvk != CertificateGVK {
				t.Errorf("GroupVersionKind = %v, want %v", gvk, CertificateGVK)
			}
			// The secretTemplate labels are a copy, not the object's own map.
			spec := got.Object["spec"].(map[string]any)
			spec["secretTemplate"].(map[string]any)["labels"].(map[string]any)["x"] = "y"
			if _, shared := got.GetLabels()["x"]; shared {
				t.Error("secretTemplate.labels share a map with metadata.labels")
			}
		})
	}
}

func TestDesiredTLSObjects(t *testing.T) {
	endpoint := certEndpoint(selfSignedTLS())
	caCert, caKey := []byte("ca-cert-pem"), []byte("ca-key-pem")
	leafCert, leafKey := []byte("leaf-cert-pem"), []byte("leaf-key-pem")
	secretMeta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "bots", Labels: wantCertLabels, OwnerReferences: wantCertOwners}
	}
	tests := map[string]struct {
		got  runtime.Object
		want runtime.Object
	}{
		"CA Secret": {
			got: DesiredCASecret(endpoint, caCert, caKey),
			want: &corev1.Secret{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
				ObjectMeta: secretMeta("pay-bot-ca"),
				Type:       corev1.SecretTypeTLS,
				Data:       map[string][]byte{"tls.crt": caCert, "tls.key": caKey},
			},
		},
		"serving Secret": {
			got: DesiredServingSecret(endpoint, leafCert, leafKey, caCert),
			want: &corev1.Secret{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
				ObjectMeta: secretMeta("pay-bot-tls"),
				Type:       corev1.SecretTypeTLS,
				Data:       map[string][]byte{"tls.crt": leafCert, "tls.key": leafKey, "ca.crt": caCert},
			},
		},
		"CA bundle ConfigMap": {
			got: DesiredCABundleConfigMap(endpoint, caCert),
			want: &corev1.ConfigMap{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: secretMeta("pay-bot-ca-bundle"),
				Data:       map[string]string{"ca.crt": "ca-cert-pem"},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got\n%#v\nwant\n%#v", tt.got, tt.want)
			}
		})
	}
}

// TestSelfSignedPipeline runs the SelfSigned steps the reconciler chains: a CA, a serving certificate for the
// endpoint's names, the Secret holding it, which must then load and need no renewal until its renewal time.
func TestSelfSignedPipeline(t *testing.T) {
	tests := map[string]struct {
		tls           *fulfillmentv1alpha1.EndpointTLS
		wantRenewalAt time.Time
	}{
		"defaults: renewed 30 days before the end of 90": {
			tls:           selfSignedTLS(),
			wantRenewalAt: certNow.Add(60 * 24 * time.Hour),
		},
		"own names and lifetime": {
			tls:           selfSignedTLS(withDNSNames("pay.example.com"), withLifetime(48*time.Hour, 12*time.Hour)),
			wantRenewalAt: certNow.Add(36 * time.Hour),
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			endpoint := certEndpoint(tt.tls)
			caCert, caKey, err := pki.NewCA(CACommonName(endpoint), certNow, pki.DefaultCAValidity)
			if err != nil {
				t.Fatal(err)
			}
			leafCert, leafKey, err := pki.IssueServing(caCert, caKey, ServingDNSNames(endpoint), certNow, CertificateDuration(endpoint))
			if err != nil {
				t.Fatal(err)
			}
			secret := DesiredServingSecret(endpoint, leafCert, leafKey, caCert)
			if err := pki.CheckPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey]); err != nil {
				t.Fatalf("CheckPair: %v", err)
			}
			bundle := DesiredCABundleConfigMap(endpoint, caCert)
			renew, reason, checkAt := pki.NeedsRenewal(secret.Data[corev1.TLSCertKey], []byte(bundle.Data[CABundleKey]),
				ServingDNSNames(endpoint), certNow, CertificateRenewBefore(endpoint))
			if renew || !checkAt.Equal(tt.wantRenewalAt) {
				t.Errorf("NeedsRenewal = %v (%s), check again at %s; want false, %s", renew, reason, checkAt, tt.wantRenewalAt)
			}
			if renew, _, _ := pki.NeedsRenewal(secret.Data[corev1.TLSCertKey], []byte(bundle.Data[CABundleKey]),
				ServingDNSNames(endpoint), tt.wantRenewalAt, CertificateRenewBefore(endpoint)); !renew {
				t.Error("NeedsRenewal = false at the renewal time")
			}
		})
	}
}
