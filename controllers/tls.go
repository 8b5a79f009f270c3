package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers/pki"
)

// tlsFacts is what reconciling TLS found.
type tlsFacts struct {
	// secretName is the kubernetes.io/tls Secret the pods mount; "" while there is none to mount yet.
	secretName string
	notAfter   *metav1.Time
	ready      *bool
	caBundle   string
	// requeueAfter is when the certificate must be looked at again (renewal).
	requeueAfter time.Duration
}

// reconcileTLS makes sure a serving certificate exists for the endpoint's tls.mode: the user's Secret (checked),
// a cert-manager Certificate (created; its Secret awaited), or one the operator's own CA issues and renews.
func (r *WebhookEndpointReconciler) reconcileTLS(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint) (tlsFacts, error) {
	tls := endpoint.Spec.TLS
	if tls == nil || tls.Mode == "" || tls.Mode == fulfillmentv1alpha1.TLSModeDisabled {
		return tlsFacts{}, nil
	}
	switch tls.Mode {
	case fulfillmentv1alpha1.TLSModeSecret:
		return r.checkServingSecret(ctx, endpoint, tls.SecretName, true)
	case fulfillmentv1alpha1.TLSModeCertManager:
		if _, err := r.Client.RESTMapper().RESTMapping(schema.GroupKind{Group: "cert-manager.io", Kind: "Certificate"}, "v1"); err != nil {
			if meta.IsNoMatchError(err) {
				return tlsFacts{}, &stalledError{reason: fulfillmentv1alpha1.ReasonCertManagerNotInstalled, message: "tls.mode is CertManager but cert-manager " +
					"is not installed (no certificates.cert-manager.io/v1 CRD): install cert-manager, or use tls.mode Secret or SelfSigned"}
			}
			return tlsFacts{}, err
		}
		if _, err := applyIfChanged(ctx, r.Client, r.cache(), DesiredCertificate(endpoint)); err != nil {
			return tlsFacts{}, &applyError{err: err}
		}
		return r.checkServingSecret(ctx, endpoint, CertificateSecretName(endpoint), false)
	case fulfillmentv1alpha1.TLSModeSelfSigned:
		return r.reconcileSelfSigned(ctx, endpoint)
	}
	return tlsFacts{}, &stalledError{reason: fulfillmentv1alpha1.ReasonInvalidTLSMode, message: fmt.Sprintf("tls.mode %q is not known", tls.Mode)}
}

// checkServingSecret reads a kubernetes.io/tls Secret and checks it. A Secret the user provides that is broken
// stalls the endpoint (only the user can fix it); a missing one, or one cert-manager is still issuing, is awaited.
func (r *WebhookEndpointReconciler) checkServingSecret(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint, name string, userOwned bool) (tlsFacts, error) {
	notReady := false
	secret, err := r.readSecret(ctx, endpoint.Namespace, name)
	if err != nil {
		return tlsFacts{}, err
	}
	if secret == nil {
		if userOwned {
			// unusableSecrets found it a moment ago: it was deleted since. A missing Secret is waited for, never
			// Stalled; the retry reports it as SecretNotFound.
			return tlsFacts{}, fmt.Errorf("TLS Secret %s not found in namespace %s: create a kubernetes.io/tls Secret with tls.crt and "+
				"tls.key, or fix spec.tls.secretName", name, endpoint.Namespace)
		}
		return tlsFacts{ready: &notReady}, nil // cert-manager has not issued it yet: its Secret's creation brings us back
	}
	certPEM, keyPEM := secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey]
	if err := pki.CheckPair(certPEM, keyPEM); err != nil {
		if !userOwned {
			return tlsFacts{ready: &notReady}, nil
		}
		return tlsFacts{}, &stalledError{reason: fulfillmentv1alpha1.ReasonCertificateSecretInvalid, message: fmt.Sprintf(
			"TLS Secret %s does not hold a usable certificate and key (keys tls.crt and tls.key): %v", name, err)}
	}
	info, err := pki.Inspect(certPEM)
	if err != nil {
		return tlsFacts{}, &stalledError{reason: fulfillmentv1alpha1.ReasonCertificateSecretInvalid, message: fmt.Sprintf("TLS Secret %s: %v", name, err)}
	}
	ready := true
	notAfter := metav1.NewTime(info.NotAfter)
	return tlsFacts{secretName: name, notAfter: &notAfter, ready: &ready, caBundle: string(secret.Data["ca.crt"])}, nil
}

// readSecret reads a Secret's data directly from the API server (Secret values are never cached); nil when it
// does not exist.
func (r *WebhookEndpointReconciler) readSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	secret := &corev1.Secret{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, secret)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil //nolint:nilerr // not found is an answer, not a failure
	case err != nil:
		return nil, err
	}
	return secret, nil
}

// reconcileSelfSigned runs the endpoint's own CA: it creates the CA once, issues the serving certificate and
// renews it before it expires, and publishes the CA for callers to trust.
func (r *WebhookEndpointReconciler) reconcileSelfSigned(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint) (tlsFacts, error) {
	now := r.Clock.Now()
	caSecret, err := r.readSecret(ctx, endpoint.Namespace, CASecretName(endpoint))
	if err != nil {
		return tlsFacts{}, err
	}
	if caSecret != nil {
		if err := checkOwned(endpoint, "Secret", caSecret); err != nil {
			return tlsFacts{}, err
		}
	}
	var caCert, caKey []byte
	if caSecret != nil && pki.CheckPair(caSecret.Data[corev1.TLSCertKey], caSecret.Data[corev1.TLSPrivateKeyKey]) == nil {
		caCert, caKey = caSecret.Data[corev1.TLSCertKey], caSecret.Data[corev1.TLSPrivateKeyKey]
	} else {
		if caCert, caKey, err = pki.NewCA(CACommonName(endpoint), now, pki.DefaultCAValidity); err != nil {
			return tlsFacts{}, err
		}
		if err := apply(ctx, r.Client, DesiredCASecret(endpoint, caCert, caKey)); err != nil {
			return tlsFacts{}, &applyError{err: err}
		}
	}

	duration, renewBefore := CertificateDuration(endpoint), CertificateRenewBefore(endpoint)
	serving, err := r.readSecret(ctx, endpoint.Namespace, CertificateSecretName(endpoint))
	if err != nil {
		return tlsFacts{}, err
	}
	if serving != nil {
		if err := checkOwned(endpoint, "Secret", serving); err != nil {
			return tlsFacts{}, err
		}
	}
	var current []byte
	if serving != nil {
		current = serving.Data[corev1.TLSCertKey]
	}
	renew, reason, checkAgainAt := pki.NeedsRenewal(current, caCert, ServingDNSNames(endpoint), now, renewBefore)
	if !renew && serving != nil {
		if err := pki.CheckPair(current, serving.Data[corev1.TLSPrivateKeyKey]); err != nil {
			renew, reason = true, "the key does not match the certificate"
		}
	}
	if renew {
		cert, key, err := pki.IssueServing(caCert, caKey, ServingDNSNames(endpoint), now, duration)
		if err != nil {
			return tlsFacts{}, err
		}
		if err := apply(ctx, r.Client, DesiredServingSecret(endpoint, cert, key, caCert)); err != nil {
			return tlsFacts{}, &applyError{err: err}
		}
		r.Recorder.Eventf(endpoint, nil, corev1.EventTypeNormal, "CertificateIssued", "IssueCertificate",
			"issued the serving certificate in Secret %s (%s)", CertificateSecretName(endpoint), reason)
		current = cert
		_, _, checkAgainAt = pki.NeedsRenewal(cert, caCert, ServingDNSNames(endpoint), now, renewBefore)
	}
	if _, err := applyIfChanged(ctx, r.Client, r.cache(), DesiredCABundleConfigMap(endpoint, caCert)); err != nil {
		return tlsFacts{}, &applyError{err: err}
	}
	info, err := pki.Inspect(current)
	if err != nil {
		return tlsFacts{}, err
	}
	ready := true
	notAfter := metav1.NewTime(info.NotAfter)
	return tlsFacts{secretName: CertificateSecretName(endpoint), notAfter: &notAfter, ready: &ready,
		caBundle: string(caCert), requeueAfter: max(checkAgainAt.Sub(now), time.Second)}, nil
}
