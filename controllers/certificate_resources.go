package controllers

// The objects behind an endpoint's serving certificate, built as pure functions like the other desired objects.
//
//   - tls.mode CertManager: a cert-manager.io/v1 Certificate <endpoint>, unstructured so that cert-manager stays
//     optional, which makes cert-manager write the Secret <endpoint>-tls. Duration and renewBefore are written
//     only when the endpoint sets them: cert-manager's defaults (90 days, renewal a third of the lifetime before
//     expiry) are the operator's too. Usages are "digital signature" and "server auth": the key is ECDSA, for
//     which "key encipherment" (cert-manager's default, an RSA key-transport usage) means nothing.
//     revisionHistoryLimit 1 is today's default, written out because older cert-manager releases kept every
//     CertificateRequest by default, one more at each renewal.
//   - tls.mode SelfSigned: the operator's own CA (package pki) in the Secret <endpoint>-ca (tls.crt, tls.key),
//     the serving certificate in <endpoint>-tls (tls.crt is the leaf alone, ca.crt the CA, as cert-manager
//     writes it), and the CA certificate published for callers in the ConfigMap <endpoint>-ca-bundle (ca.crt).
//     One CA per endpoint: trusting it lets a caller reach this endpoint and nothing else of the cluster.
//
// Both modes mount <endpoint>-tls, so the Deployment does not care which one made it.

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers/pki"
)

// CABundleKey is the key of the CA certificate in the serving Secret and in the CA bundle ConfigMap, as
// cert-manager names it.
const CABundleKey = "ca.crt"

// cert-manager's API, as in github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1.
const (
	certManagerGroup       = "cert-manager.io"
	certManagerAPIVersion  = certManagerGroup + "/v1"
	certManagerIssuerKind  = "Issuer"
	certificateKind        = "Certificate"
	certificateKeyAlgo     = "ECDSA"
	certificateKeySize     = int64(256)
	certificateKeyRotation = "Always"
	certificateRevisions   = int64(1)
	// clusterDomain is the default DNS domain of a cluster; endpoints in a cluster with another one set
	// spec.tls.dnsNames.
	clusterDomain = "cluster.local"
	// caNameSuffix ends the common name of an endpoint's CA.
	caNameSuffix = " fulfillment CA"
)

// CertificateGVK is the cert-manager Certificate kind, for the reconciler's watch and RBAC.
var CertificateGVK = schema.GroupVersionKind{Group: certManagerGroup, Version: "v1", Kind: certificateKind}

// CertificateSecretName is the kubernetes.io/tls Secret with the serving certificate the operator manages, in
// modes CertManager (cert-manager writes it) and SelfSigned (the operator does): <endpoint>-tls.
func CertificateSecretName(endpoint *fulfillmentv1alpha1.WebhookEndpoint) string {
	return endpoint.Name + "-tls"
}

// CASecretName is the Secret holding the SelfSigned CA (tls.crt, tls.key): <endpoint>-ca.
func CASecretName(endpoint *fulfillmentv1alpha1.WebhookEndpoint) string {
	return endpoint.Name + "-ca"
}

// CABundleConfigMapName is the ConfigMap publishing the SelfSigned CA certificate for callers (key ca.crt):
// <endpoint>-ca-bundle. It is not secret, so a ConfigMap anyone in the namespace may read.
func CABundleConfigMapName(endpoint *fulfillmentv1alpha1.WebhookEndpoint) string {
	return endpoint.Name + "-ca-bundle"
}

// ServingDNSNames are the DNS names of the serving certificate: spec.tls.dnsNames, or else the names of the
// endpoint's Service in the default cluster domain, <name>, <name>.<ns>, <name>.<ns>.svc and
// <name>.<ns>.svc.cluster.local.
func ServingDNSNames(endpoint *fulfillmentv1alpha1.WebhookEndpoint) []string {
	if tls := endpoint.Spec.TLS; tls != nil && len(tls.DNSNames) > 0 {
		return append([]string(nil), tls.DNSNames...)
	}
	service := endpoint.Name + "." + endpoint.Namespace
	return []string{endpoint.Name, service, service + ".svc", service + ".svc." + clusterDomain}
}

// CertificateDuration is the lifetime of the serving certificate: spec.tls.duration, default 90 days.
func CertificateDuration(endpoint *fulfillmentv1alpha1.WebhookEndpoint) time.Duration {
	if tls := endpoint.Spec.TLS; tls != nil && tls.Duration != nil {
		return tls.Duration.Duration
	}
	return pki.DefaultDuration
}

// CertificateRenewBefore is how long before expiry the serving certificate is renewed: spec.tls.renewBefore,
// default a third of CertificateDuration. pki.NeedsRenewal falls back to a third of the certificate's lifetime
// when this is not shorter than it.
func CertificateRenewBefore(endpoint *fulfillmentv1alpha1.WebhookEndpoint) time.Duration {
	if tls := endpoint.Spec.TLS; tls != nil && tls.RenewBefore != nil {
		return tls.RenewBefore.Duration
	}
	return pki.DefaultRenewBefore(CertificateDuration(endpoint))
}

// CACommonName is the common name of an endpoint's SelfSigned CA, "<namespace>/<name> fulfillment CA", cut to
// the 64 bytes a common name may hold.
func CACommonName(endpoint *fulfillmentv1alpha1.WebhookEndpoint) string {
	const maxLength = 64
	name := endpoint.Namespace + "/" + endpoint.Name
	if len(name)+len(caNameSuffix) > maxLength {
		name = name[:maxLength-len(caNameSuffix)]
	}
	return name + caNameSuffix
}

// DesiredCertificate is the cert-manager.io/v1 Certificate <endpoint> that makes cert-manager write the serving
// Secret <endpoint>-tls; nil unless tls.mode is CertManager (with its required issuerRef).
func DesiredCertificate(endpoint *fulfillmentv1alpha1.WebhookEndpoint) *unstructured.Unstructured {
	tls := endpoint.Spec.TLS
	if tls == nil || tls.Mode != fulfillmentv1alpha1.TLSModeCertManager || tls.IssuerRef == nil {
		return nil
	}
	issuerRef := map[string]any{
		"name":  tls.IssuerRef.Name,
		"kind":  issuerField(tls.IssuerRef.Kind, certManagerIssuerKind),
		"group": issuerField(tls.IssuerRef.Group, certManagerGroup),
	}
	dnsNames := ServingDNSNames(endpoint)
	names := make([]any, 0, len(dnsNames))
	for _, name := range dnsNames {
		names = append(names, name)
	}
	spec := map[string]any{
		"secretName": CertificateSecretName(endpoint),
		"dnsNames":   names,
		"issuerRef":  issuerRef,
		"privateKey": map[string]any{
			"algorithm":      certificateKeyAlgo,
			"size":           certificateKeySize,
			"rotationPolicy": certificateKeyRotation,
		},
		"usages":               []any{"digital signature", "server auth"},
		"revisionHistoryLimit": certificateRevisions,
		"secretTemplate":       map[string]any{"labels": unstructuredLabels(Labels(endpoint))},
	}
	if tls.Duration != nil {
		spec["duration"] = tls.Duration.Duration.String()
	}
	if tls.RenewBefore != nil {
		spec["renewBefore"] = tls.RenewBefore.Duration.String()
	}
	certificate := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	certificate.SetAPIVersion(certManagerAPIVersion)
	certificate.SetKind(certificateKind)
	meta := objectMeta(endpoint, endpoint.Name)
	certificate.SetNamespace(meta.Namespace)
	certificate.SetName(meta.Name)
	certificate.SetLabels(meta.Labels)
	certificate.SetOwnerReferences(meta.OwnerReferences)
	return certificate
}

// DesiredCASecret is the Secret <endpoint>-ca holding the SelfSigned CA, certPEM and keyPEM from pki.NewCA.
func DesiredCASecret(endpoint *fulfillmentv1alpha1.WebhookEndpoint, certPEM, keyPEM []byte) *corev1.Secret {
	return kubernetesTLSSecret(endpoint, CASecretName(endpoint), map[string][]byte{
		corev1.TLSCertKey:       certPEM,
		corev1.TLSPrivateKeyKey: keyPEM,
	})
}

// DesiredServingSecret is the Secret <endpoint>-tls the operator writes in mode SelfSigned: the leaf and its key
// from pki.IssueServing, and the CA certificate at ca.crt.
func DesiredServingSecret(endpoint *fulfillmentv1alpha1.WebhookEndpoint, certPEM, keyPEM, caPEM []byte) *corev1.Secret {
	return kubernetesTLSSecret(endpoint, CertificateSecretName(endpoint), map[string][]byte{
		corev1.TLSCertKey:       certPEM,
		corev1.TLSPrivateKeyKey: keyPEM,
		CABundleKey:             caPEM,
	})
}

// DesiredCABundleConfigMap is the ConfigMap <endpoint>-ca-bundle publishing the SelfSigned CA certificate at
// ca.crt, for callers to trust.
func DesiredCABundleConfigMap(endpoint *fulfillmentv1alpha1.WebhookEndpoint, caPEM []byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: objectMeta(endpoint, CABundleConfigMapName(endpoint)),
		Data:       map[string]string{CABundleKey: string(caPEM)},
	}
}

func kubernetesTLSSecret(endpoint *fulfillmentv1alpha1.WebhookEndpoint, name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: objectMeta(endpoint, name),
		Type:       corev1.SecretTypeTLS,
		Data:       data,
	}
}

// defaultString is value, or fallback when value is empty (an object the API server has not defaulted).
func issuerField(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}

// stringMapToAny converts m for an unstructured object, whose maps must be map[string]any.
func unstructuredLabels(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for key, value := range m {
		out[key] = value
	}
	return out
}
