package controllers

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// The fixed clock of the endpoint status tests; endpointStatusEarlier is when existing conditions last changed.
var (
	endpointStatusNow     = metav1.NewTime(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	endpointStatusEarlier = metav1.NewTime(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
)

const endpointStatusGeneration = 4

// statusEndpoint is endpointFixture at generation 4.
func statusEndpoint(modify ...func(*fulfillmentv1alpha1.WebhookEndpoint)) *fulfillmentv1alpha1.WebhookEndpoint {
	return endpointFixture(append([]func(*fulfillmentv1alpha1.WebhookEndpoint){
		func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Generation = endpointStatusGeneration },
	}, modify...)...)
}

// deploymentFixture is the endpoint's Deployment, rolled out with 2/2 replicas available.
func deploymentFixture(modify ...func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "bank", Namespace: "bots", Generation: 3},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 3, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			},
		},
	}
	for _, m := range modify {
		m(d)
	}
	return d
}

func withReplicaStatus(replicas, updated, ready, available int32) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) {
		d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = replicas, updated, ready, available
	}
}

func withDesiredReplicas(n int32) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To(n) }
}

// factsFixture is a healthy endpoint without TLS: Deployment available, two routes accepted.
func factsFixture(modify ...func(*EndpointFacts)) EndpointFacts {
	f := EndpointFacts{
		Deployment:     deploymentFixture(),
		DeploymentRead: true, RoutesRead: true, SecretsRead: true, Applied: true,
		RoutesAccepted: 2,
		ConfigHash:     "c0ffee",
		ServiceURL:     "http://bank.bots.svc/webhook",
	}
	for _, m := range modify {
		m(&f)
	}
	return f
}

func withDeployment(d *appsv1.Deployment) func(*EndpointFacts) {
	return func(f *EndpointFacts) { f.Deployment = d }
}

func withMissingSecrets(names ...string) func(*EndpointFacts) {
	return func(f *EndpointFacts) { f.MissingSecrets = names }
}

func withCertificate(ready bool, notAfter time.Time) func(*EndpointFacts) {
	return func(f *EndpointFacts) {
		f.CertificateReady = ptr.To(ready)
		if !notAfter.IsZero() {
			f.CertificateNotAfter = &metav1.Time{Time: notAfter}
		}
	}
}

func withTLS(tls fulfillmentv1alpha1.EndpointTLS) func(*fulfillmentv1alpha1.WebhookEndpoint) {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.TLS = &tls }
}

func suspended(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Suspend = true }

func withEndpointConditions(conditions ...metav1.Condition) func(*fulfillmentv1alpha1.WebhookEndpoint) {
	return func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Status.Conditions = conditions }
}

// wantCondition is an expected condition: status "" means absent; message is a substring, or the whole
// message when it starts with "=".
type wantCondition struct {
	status  metav1.ConditionStatus
	reason  string
	message string
}

func ready(reason, message string) map[string]wantCondition {
	return map[string]wantCondition{
		fulfillmentv1alpha1.ConditionReady:       {metav1.ConditionTrue, reason, message},
		fulfillmentv1alpha1.ConditionReconciling: {},
		fulfillmentv1alpha1.ConditionStalled:     {},
	}
}

func reconciling(reason, message string) map[string]wantCondition {
	return map[string]wantCondition{
		fulfillmentv1alpha1.ConditionReady:       {metav1.ConditionFalse, reason, message},
		fulfillmentv1alpha1.ConditionReconciling: {metav1.ConditionTrue, reason, message},
		fulfillmentv1alpha1.ConditionStalled:     {},
	}
}

func stalled(reason, message string) map[string]wantCondition {
	return map[string]wantCondition{
		fulfillmentv1alpha1.ConditionReady:       {metav1.ConditionFalse, reason, message},
		fulfillmentv1alpha1.ConditionReconciling: {},
		fulfillmentv1alpha1.ConditionStalled:     {metav1.ConditionTrue, reason, message},
	}
}

// idle is not ready, yet neither in progress nor failed: kstatus reads Current.
// idle is a suspended or scaled-to-zero endpoint: no Ready, Reconciling or Stalled (kstatus reads Current), and
// DeploymentAvailable=False saying why.
func idle(reason, message string) map[string]wantCondition {
	return map[string]wantCondition{
		fulfillmentv1alpha1.ConditionReady:               {},
		fulfillmentv1alpha1.ConditionReconciling:         {},
		fulfillmentv1alpha1.ConditionStalled:             {},
		fulfillmentv1alpha1.ConditionDeploymentAvailable: {metav1.ConditionFalse, reason, message},
	}
}

func and(a map[string]wantCondition, details ...any) map[string]wantCondition {
	for i := 0; i+1 < len(details); i += 2 {
		a[details[i].(string)] = details[i+1].(wantCondition)
	}
	return a
}

func TestComputeEndpointStatus(t *testing.T) {
	future := endpointStatusNow.Add(60 * 24 * time.Hour)
	past := endpointStatusNow.Add(-time.Hour)
	certManager := fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeCertManager,
		IssuerRef: &fulfillmentv1alpha1.IssuerReference{Name: "letsencrypt"}}
	userSecret := fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeSecret, SecretName: "bank-tls"}
	bearer := func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Auth.Bearer = &fulfillmentv1alpha1.BearerAuth{SecretRef: fulfillmentv1alpha1.SecretKeySelector{Name: "bank-api-token", Key: "token"}}
	}
	generatedHMAC := func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Dialect = fulfillmentv1alpha1.DialectGeneric
		e.Spec.Auth.HMAC = &fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeGitHub}
	}

	tests := map[string]struct {
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		facts    EndpointFacts
		want     map[string]wantCondition
	}{
		"available": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(),
			want: and(ready(fulfillmentv1alpha1.ReasonAvailable, "=serving http://bank.bots.svc/webhook: 2/2 replicas available"),
				fulfillmentv1alpha1.ConditionDeploymentAvailable, wantCondition{metav1.ConditionTrue, fulfillmentv1alpha1.ReasonAvailable, "=2/2 replicas available"},
				fulfillmentv1alpha1.ConditionSecretsReady, wantCondition{metav1.ConditionTrue, fulfillmentv1alpha1.ReasonSecretsFound, "=every referenced Secret exists with the keys the server reads"},
				fulfillmentv1alpha1.ConditionRoutesAccepted, wantCondition{metav1.ConditionTrue, fulfillmentv1alpha1.ReasonRoutesAccepted, "=2 IntentRoutes accepted"},
				fulfillmentv1alpha1.ConditionCertificateReady, wantCondition{}),
		},
		"available without a URL yet": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(func(f *EndpointFacts) { f.ServiceURL = "" }),
			want:     ready(fulfillmentv1alpha1.ReasonAvailable, "=2/2 replicas available"),
		},
		"a Deployment of someone else's with the endpoint's name": {
			endpoint: statusEndpoint(),
			facts: factsFixture(withDeployment(nil), func(f *EndpointFacts) {
				f.DeploymentConflict = "Deployment bank (not managed by the operator)"
				f.StalledReason, f.StalledMessage = fulfillmentv1alpha1.ReasonObjectConflict, "Deployment bank (not managed by the operator)"
				f.Applied = false
			}),
			want: and(stalled(fulfillmentv1alpha1.ReasonObjectConflict, "=Deployment bank (not managed by the operator)"),
				fulfillmentv1alpha1.ConditionDeploymentAvailable, wantCondition{metav1.ConditionFalse, fulfillmentv1alpha1.ReasonObjectConflict,
					"=Deployment bank (not managed by the operator)"}),
		},
		"the Deployment is not created yet": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(withDeployment(nil)),
			want: and(reconciling(fulfillmentv1alpha1.ReasonDeploymentNotCreated, "=Deployment bank is not created yet"),
				fulfillmentv1alpha1.ConditionDeploymentAvailable, wantCondition{metav1.ConditionFalse, fulfillmentv1alpha1.ReasonDeploymentNotCreated, ""}),
		},
		"the Deployment controller has not observed the new spec": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(withDeployment(deploymentFixture(func(d *appsv1.Deployment) { d.Generation = 4 }))),
			want:     reconciling(fulfillmentv1alpha1.ReasonRollingOut, "=waiting for the Deployment controller to observe Deployment bank generation 4"),
		},
		"a rollout with one replica updated": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(withDeployment(deploymentFixture(withReplicaStatus(3, 1, 2, 2)))),
			want:     reconciling(fulfillmentv1alpha1.ReasonRollingOut, "=rolling out: 1/2 replicas updated, 2/2 available"),
		},
		"an old replica still terminating": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(withDeployment(deploymentFixture(withReplicaStatus(3, 2, 2, 2)))),
			want:     reconciling(fulfillmentv1alpha1.ReasonRollingOut, "=rolling out: waiting for 1 old replica to terminate"),
		},
		"one of two replicas available": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(withDeployment(deploymentFixture(withReplicaStatus(2, 2, 1, 1)))),
			want: and(reconciling(fulfillmentv1alpha1.ReasonReplicasUnavailable, "=1/2 replicas available"),
				fulfillmentv1alpha1.ConditionDeploymentAvailable, wantCondition{metav1.ConditionFalse, fulfillmentv1alpha1.ReasonReplicasUnavailable, "=1/2 replicas available"}),
		},
		"a nil replica count means one": {
			endpoint: statusEndpoint(),
			facts: factsFixture(withDeployment(deploymentFixture(withReplicaStatus(1, 1, 1, 1),
				func(d *appsv1.Deployment) { d.Spec.Replicas = nil }))),
			want: ready(fulfillmentv1alpha1.ReasonAvailable, "1/1 replicas available"),
		},
		"the Deployment is past its progress deadline": {
			endpoint: statusEndpoint(),
			facts: factsFixture(withDeployment(deploymentFixture(withReplicaStatus(2, 2, 0, 0), func(d *appsv1.Deployment) {
				d.Status.Conditions[1] = appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
					Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "bank-7d9" has timed out progressing.`}
			}))),
			want: and(stalled(fulfillmentv1alpha1.ReasonProgressDeadlineExceeded, `=Deployment bank made no progress within its deadline (0/2 replicas `+
				`available): ReplicaSet "bank-7d9" has timed out progressing.; check its pods' events (image, resources, scheduling)`),
				fulfillmentv1alpha1.ConditionDeploymentAvailable, wantCondition{metav1.ConditionFalse, fulfillmentv1alpha1.ReasonProgressDeadlineExceeded, ""}),
		},
		"a missing Secret is reported before the Deployment it keeps from starting": {
			endpoint: statusEndpoint(bearer),
			facts:    factsFixture(withMissingSecrets("bank-api-token/token"), withDeployment(deploymentFixture(withReplicaStatus(2, 2, 0, 0)))),
			want: and(reconciling(fulfillmentv1alpha1.ReasonSecretNotFound, "=Secret bank-api-token with key token not found: create it or fix spec.auth.bearer.secretRef"),
				fulfillmentv1alpha1.ConditionSecretsReady, wantCondition{metav1.ConditionFalse, fulfillmentv1alpha1.ReasonSecretNotFound, "Secret bank-api-token with key token not found"},
				fulfillmentv1alpha1.ConditionDeploymentAvailable, wantCondition{metav1.ConditionFalse, fulfillmentv1alpha1.ReasonReplicasUnavailable, "=0/2 replicas available"}),
		},
		"missing Secrets, each with the field referencing it": {
			endpoint: statusEndpoint(bearer, withTLS(fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeSecret, SecretName: "bank-tls",
				ClientAuth: &fulfillmentv1alpha1.ClientAuth{Mode: fulfillmentv1alpha1.ClientAuthRequire,
					CASecretRef: &fulfillmentv1alpha1.SecretKeySelector{Name: "bank-tls", Key: "ca.crt"}}})),
			facts: factsFixture(withMissingSecrets("bank-tls", "bank-api-token", "bank-tls")),
			want: reconciling(fulfillmentv1alpha1.ReasonSecretNotFound, "=Secret bank-api-token not found: create it or fix spec.auth.bearer.secretRef; "+
				"Secret bank-tls not found: create it or fix spec.tls.secretName or spec.tls.clientAuth.caSecretRef"),
		},
		"a missing introspection Secret names its field": {
			endpoint: statusEndpoint(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
				e.Spec.Auth.OAuth2 = &fulfillmentv1alpha1.EndpointOAuth2{Introspection: fulfillmentv1alpha1.TokenIntrospection{
					URL: "https://auth.example.com/introspect", SecretRef: fulfillmentv1alpha1.LocalObjectReference{Name: "introspection-client"}}}
			}),
			facts: factsFixture(withMissingSecrets("introspection-client")),
			want: reconciling(fulfillmentv1alpha1.ReasonSecretNotFound,
				"=Secret introspection-client not found: create it or fix spec.auth.oauth2.introspection.secretRef"),
		},
		"a Secret without the reference label stalls: only a person can label it": {
			endpoint: statusEndpoint(bearer),
			facts:    factsFixture(func(f *EndpointFacts) { f.UnlabelledSecrets = []string{"bank-api-token"} }),
			want: and(stalled(fulfillmentv1alpha1.ReasonRefNotPermitted, `=spec.auth.bearer.secretRef: Secret bank-api-token is not labelled `+
				`fulfillment.dev/reference: "true", which the operator requires of referenced Secrets (--require-secret-reference-label): `+
				`label it if it is meant for fulfillment (kubectl label secret bank-api-token fulfillment.dev/reference=true)`),
				fulfillmentv1alpha1.ConditionSecretsReady, wantCondition{metav1.ConditionFalse, fulfillmentv1alpha1.ReasonRefNotPermitted, "bank-api-token"}),
		},
		"a missing Secret the spec does not name (a route's)": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(withMissingSecrets("crm-token")),
			want:     reconciling(fulfillmentv1alpha1.ReasonSecretNotFound, "=Secret crm-token not found: create it or fix the reference"),
		},
		"the generated HMAC Secret not created yet": {
			endpoint: statusEndpoint(generatedHMAC),
			facts:    factsFixture(withMissingSecrets("bank-hmac")),
			want:     reconciling(fulfillmentv1alpha1.ReasonSecretNotFound, "=Secret bank-hmac with the generated HMAC keys is not created yet"),
		},
		"stalled on an error only the user can fix": {
			endpoint: statusEndpoint(),
			facts: factsFixture(withMissingSecrets("x"), func(f *EndpointFacts) {
				f.StalledReason, f.StalledMessage = "InvalidReference", "spec.redis.urlSecretRef: the key url is empty"
			}),
			want: and(stalled("InvalidReference", "=spec.redis.urlSecretRef: the key url is empty"),
				fulfillmentv1alpha1.ConditionSecretsReady, wantCondition{metav1.ConditionFalse, fulfillmentv1alpha1.ReasonSecretNotFound, ""},
				fulfillmentv1alpha1.ConditionDeploymentAvailable, wantCondition{metav1.ConditionTrue, fulfillmentv1alpha1.ReasonAvailable, ""}),
		},
		"a stall reason the API would refuse is replaced": {
			endpoint: statusEndpoint(),
			facts: factsFixture(func(f *EndpointFacts) {
				f.StalledReason, f.StalledMessage = "invalid reference!", "broken"
			}),
			want: stalled(fulfillmentv1alpha1.ReasonStalled, "=broken"),
		},
		"suspended and scaled to zero: quiet": {
			endpoint: statusEndpoint(suspended),
			facts:    factsFixture(withDeployment(deploymentFixture(withDesiredReplicas(0), withReplicaStatus(0, 0, 0, 0)))),
			want: and(idle(fulfillmentv1alpha1.ReasonSuspended, "=spec.suspend is true: scaled to zero, no pod serves requests"),
				fulfillmentv1alpha1.ConditionDeploymentAvailable, wantCondition{metav1.ConditionFalse, fulfillmentv1alpha1.ReasonSuspended, ""}),
		},
		"suspended while the pods stop": {
			endpoint: statusEndpoint(suspended),
			facts:    factsFixture(withDeployment(deploymentFixture(withDesiredReplicas(0), withReplicaStatus(1, 0, 1, 1)))),
			want:     reconciling(fulfillmentv1alpha1.ReasonSuspended, "=spec.suspend is true: scaling down, 1 pod left"),
		},
		"suspended before any Deployment": {
			endpoint: statusEndpoint(suspended),
			facts:    factsFixture(withDeployment(nil)),
			want:     idle(fulfillmentv1alpha1.ReasonSuspended, "=spec.suspend is true: no pod serves requests"),
		},
		"suspended with a missing Secret stays quiet": {
			endpoint: statusEndpoint(suspended, bearer),
			facts:    factsFixture(withMissingSecrets("bank-api-token/token"), withDeployment(deploymentFixture(withDesiredReplicas(0), withReplicaStatus(0, 0, 0, 0)))),
			want: and(idle(fulfillmentv1alpha1.ReasonSuspended, ""),
				fulfillmentv1alpha1.ConditionSecretsReady, wantCondition{metav1.ConditionFalse, fulfillmentv1alpha1.ReasonSecretNotFound, ""}),
		},
		"stalled and suspended: stalled": {
			endpoint: statusEndpoint(suspended),
			facts:    factsFixture(func(f *EndpointFacts) { f.StalledReason, f.StalledMessage = "InvalidSpec", "fix it" }),
			want:     stalled("InvalidSpec", "=fix it"),
		},
		"spec.replicas 0": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(withDeployment(deploymentFixture(withDesiredReplicas(0), withReplicaStatus(0, 0, 0, 0)))),
			want:     idle(fulfillmentv1alpha1.ReasonScaledToZero, "=spec.replicas is 0: no pod serves requests"),
		},
		"spec.replicas 0 while the pods stop": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(withDeployment(deploymentFixture(withDesiredReplicas(0), withReplicaStatus(2, 0, 2, 2)))),
			want:     reconciling(fulfillmentv1alpha1.ReasonScaledToZero, "=spec.replicas is 0: scaling down, 2 pods left"),
		},
		"TLS with a valid certificate": {
			endpoint: statusEndpoint(withTLS(certManager)),
			facts:    factsFixture(withCertificate(true, future)),
			want: and(ready(fulfillmentv1alpha1.ReasonAvailable, ""),
				fulfillmentv1alpha1.ConditionCertificateReady, wantCondition{metav1.ConditionTrue, fulfillmentv1alpha1.ReasonCertificateValid,
					"=the serving certificate is valid until 2026-05-01T10:00:00Z"}),
		},
		"TLS with a ready certificate of unknown expiry": {
			endpoint: statusEndpoint(withTLS(certManager)),
			facts:    factsFixture(withCertificate(true, time.Time{})),
			want: and(ready(fulfillmentv1alpha1.ReasonAvailable, ""),
				fulfillmentv1alpha1.ConditionCertificateReady, wantCondition{metav1.ConditionTrue, fulfillmentv1alpha1.ReasonCertificateValid, "=the serving certificate is ready"}),
		},
		"TLS waiting for cert-manager": {
			endpoint: statusEndpoint(withTLS(certManager)),
			facts:    factsFixture(withCertificate(false, time.Time{})),
			want: and(reconciling(fulfillmentv1alpha1.ReasonCertificateNotReady, "=waiting for cert-manager to issue the serving certificate"),
				fulfillmentv1alpha1.ConditionCertificateReady, wantCondition{metav1.ConditionFalse, fulfillmentv1alpha1.ReasonCertificateNotReady, ""}),
		},
		"TLS waiting for the operator's CA": {
			endpoint: statusEndpoint(withTLS(fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeSelfSigned})),
			facts:    factsFixture(withCertificate(false, time.Time{})),
			want:     reconciling(fulfillmentv1alpha1.ReasonCertificateNotReady, "=waiting for the operator's CA to issue the serving certificate"),
		},
		"an expired user certificate stalls": {
			endpoint: statusEndpoint(withTLS(userSecret)),
			facts:    factsFixture(withCertificate(true, past)),
			want: stalled(fulfillmentv1alpha1.ReasonCertificateExpired,
				"=the serving certificate in Secret bank-tls expired at 2026-03-02T09:00:00Z: put a renewed certificate in it"),
		},
		"an expired cert-manager certificate waits for renewal": {
			endpoint: statusEndpoint(withTLS(certManager)),
			facts:    factsFixture(withCertificate(true, past)),
			want:     reconciling(fulfillmentv1alpha1.ReasonCertificateExpired, "=the serving certificate expired at 2026-03-02T09:00:00Z; waiting for its renewal"),
		},
		"a missing Secret comes before the certificate": {
			endpoint: statusEndpoint(withTLS(userSecret)),
			facts:    factsFixture(withMissingSecrets("bank-tls"), withCertificate(false, time.Time{})),
			want:     reconciling(fulfillmentv1alpha1.ReasonSecretNotFound, "=Secret bank-tls not found: create it or fix spec.tls.secretName"),
		},
		"TLS turned off removes CertificateReady": {
			endpoint: statusEndpoint(withEndpointConditions(metav1.Condition{Type: fulfillmentv1alpha1.ConditionCertificateReady,
				Status: metav1.ConditionTrue, Reason: fulfillmentv1alpha1.ReasonCertificateValid, LastTransitionTime: endpointStatusEarlier})),
			facts: factsFixture(),
			want: and(ready(fulfillmentv1alpha1.ReasonAvailable, ""),
				fulfillmentv1alpha1.ConditionCertificateReady, wantCondition{}),
		},
		"rejected routes do not block Ready": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(func(f *EndpointFacts) { f.RoutesAccepted, f.RoutesRejected = 2, 1 }),
			want: and(ready(fulfillmentv1alpha1.ReasonAvailable, ""),
				fulfillmentv1alpha1.ConditionRoutesAccepted, wantCondition{metav1.ConditionFalse, fulfillmentv1alpha1.ReasonRoutesRejected,
					"=1 of 3 IntentRoutes rejected, 2 served; see their Accepted condition: kubectl get intentroutes -n bots"}),
		},
		"no routes": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(func(f *EndpointFacts) { f.RoutesAccepted = 0 }),
			want: and(ready(fulfillmentv1alpha1.ReasonAvailable, ""),
				fulfillmentv1alpha1.ConditionRoutesAccepted, wantCondition{metav1.ConditionTrue, fulfillmentv1alpha1.ReasonNoRoutes,
					"=no IntentRoute references this endpoint: every request gets the fallback"}),
		},
		"one route": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(func(f *EndpointFacts) { f.RoutesAccepted = 1 }),
			want: and(ready(fulfillmentv1alpha1.ReasonAvailable, ""),
				fulfillmentv1alpha1.ConditionRoutesAccepted, wantCondition{metav1.ConditionTrue, fulfillmentv1alpha1.ReasonRoutesAccepted, "=1 IntentRoute accepted"}),
		},
		"a stale Reconciling and Stalled are removed once ready": {
			endpoint: statusEndpoint(withEndpointConditions(
				metav1.Condition{Type: fulfillmentv1alpha1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: fulfillmentv1alpha1.ReasonRollingOut, LastTransitionTime: endpointStatusEarlier},
				metav1.Condition{Type: fulfillmentv1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: "Old", LastTransitionTime: endpointStatusEarlier},
			)),
			facts: factsFixture(),
			want:  ready(fulfillmentv1alpha1.ReasonAvailable, ""),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := tc.endpoint.DeepCopy()
			status := ComputeEndpointStatus(tc.endpoint, tc.facts, endpointStatusNow)
			checkConditions(t, status.Conditions, tc.want)
			for _, c := range status.Conditions {
				if c.ObservedGeneration != endpointStatusGeneration {
					t.Errorf("%s observedGeneration = %d, want %d", c.Type, c.ObservedGeneration, endpointStatusGeneration)
				}
				if !conditionReasonPattern.MatchString(c.Reason) || c.Message == "" && c.Type != fulfillmentv1alpha1.ConditionCertificateReady {
					t.Errorf("%s has reason %q and message %q", c.Type, c.Reason, c.Message)
				}
			}
			if status.ObservedGeneration != endpointStatusGeneration {
				t.Errorf("observedGeneration = %d, want %d", status.ObservedGeneration, endpointStatusGeneration)
			}
			if !apiequality.Semantic.DeepEqual(before, tc.endpoint) {
				t.Errorf("ComputeEndpointStatus modified the endpoint")
			}
			wantReady := tc.want[fulfillmentv1alpha1.ConditionReady].status == metav1.ConditionTrue
			tc.endpoint.Status = status
			if got := EndpointIsReady(tc.endpoint); got != wantReady {
				t.Errorf("EndpointIsReady = %v, want %v", got, wantReady)
			}
		})
	}
}

func TestComputeEndpointStatusCopiesFacts(t *testing.T) {
	rotated := metav1.NewTime(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	notAfter := metav1.NewTime(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	facts := factsFixture(withDeployment(deploymentFixture(withReplicaStatus(3, 2, 2, 1))), func(f *EndpointFacts) {
		f.ExternalURL = "https://bank.example.com/webhook"
		f.HMACSecretName = "bank-hmac"
		f.LastKeyRotationTime = &rotated
		f.RoutesAccepted, f.RoutesRejected = 5, 2
	}, withCertificate(true, notAfter.Time))
	status := ComputeEndpointStatus(statusEndpoint(), facts, endpointStatusNow)

	want := fulfillmentv1alpha1.WebhookEndpointStatus{
		ObservedGeneration:  endpointStatusGeneration,
		URL:                 "http://bank.bots.svc/webhook",
		ExternalURL:         "https://bank.example.com/webhook",
		HMACSecretName:      "bank-hmac",
		Routes:              &fulfillmentv1alpha1.RouteCounts{Accepted: 5, Rejected: 2},
		Replicas:            3,
		ReadyReplicas:       2,
		ConfigHash:          "c0ffee",
		Certificate:         &fulfillmentv1alpha1.CertificateStatus{NotAfter: &notAfter},
		LastKeyRotationTime: &rotated,
	}
	status.Conditions = nil
	if !apiequality.Semantic.DeepEqual(status, want) {
		t.Errorf("status =\n%+v\nwant\n%+v", status, want)
	}
	if status.LastKeyRotationTime == facts.LastKeyRotationTime || status.Certificate.NotAfter == facts.CertificateNotAfter {
		t.Errorf("the status shares times with the facts")
	}

	// Without TLS there is no certificate status, even if an expiry is known.
	facts.CertificateReady = nil
	if status := ComputeEndpointStatus(statusEndpoint(), facts, endpointStatusNow); status.Certificate != nil {
		t.Errorf("certificate = %+v without TLS", status.Certificate)
	}
}

func TestComputeEndpointStatusTransitionTimes(t *testing.T) {
	endpoint := statusEndpoint()
	first := ComputeEndpointStatus(endpoint, factsFixture(withDeployment(deploymentFixture(withReplicaStatus(2, 2, 1, 1)))), endpointStatusEarlier)
	endpoint.Status = first
	endpoint.Generation = endpointStatusGeneration + 1

	// Still rolling, with another message: no condition flips.
	second := ComputeEndpointStatus(endpoint, factsFixture(withDeployment(deploymentFixture(withReplicaStatus(2, 2, 0, 0)))), endpointStatusNow)
	for _, c := range second.Conditions {
		if !c.LastTransitionTime.Equal(&endpointStatusEarlier) {
			t.Errorf("%s moved its transition time to %v without flipping", c.Type, c.LastTransitionTime)
		}
		if c.ObservedGeneration != endpointStatusGeneration+1 {
			t.Errorf("%s observedGeneration = %d", c.Type, c.ObservedGeneration)
		}
	}
	if got := meta.FindStatusCondition(second.Conditions, fulfillmentv1alpha1.ConditionReady); got.Message != "0/2 replicas available" {
		t.Errorf("Ready message = %q", got.Message)
	}
	if &first.Conditions[0] == &second.Conditions[0] || meta.FindStatusCondition(first.Conditions, fulfillmentv1alpha1.ConditionReady).Message != "1/2 replicas available" {
		t.Errorf("the second computation changed the first status")
	}

	// Available: Ready and DeploymentAvailable flip, the others keep their time.
	endpoint.Status = second
	later := metav1.NewTime(endpointStatusNow.Add(time.Minute))
	third := ComputeEndpointStatus(endpoint, factsFixture(), later)
	for _, c := range third.Conditions {
		flipped := c.Type == fulfillmentv1alpha1.ConditionReady || c.Type == fulfillmentv1alpha1.ConditionDeploymentAvailable
		if want := map[bool]metav1.Time{true: later, false: endpointStatusEarlier}[flipped]; !c.LastTransitionTime.Equal(&want) {
			t.Errorf("%s transition time = %v, want %v", c.Type, c.LastTransitionTime, want)
		}
	}
	if meta.FindStatusCondition(third.Conditions, fulfillmentv1alpha1.ConditionReconciling) != nil {
		t.Errorf("Reconciling left behind once ready")
	}
}

func TestStatusConditionMessageIsBounded(t *testing.T) {
	long := strings.Repeat("é", maxConditionMessage) // two bytes each
	got := conditionMessage(long)
	if len(got) > maxConditionMessage || !utf8.ValidString(got) || !strings.HasSuffix(got, " …") {
		t.Errorf("conditionMessage gave %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
	if short := "2/2 replicas available"; conditionMessage(short) != short {
		t.Errorf("a short message changed")
	}
}

func TestEndpointStatusReadyNeedsTheCurrentGeneration(t *testing.T) {
	endpoint := statusEndpoint()
	endpoint.Status = ComputeEndpointStatus(endpoint, factsFixture(), endpointStatusNow)
	if !EndpointIsReady(endpoint) {
		t.Fatal("not ready")
	}
	endpoint.Generation++
	if EndpointIsReady(endpoint) {
		t.Error("ready for a generation it has not observed")
	}
	if EndpointReadyCondition(&fulfillmentv1alpha1.WebhookEndpointStatus{}) != nil {
		t.Error("a Ready condition in an empty status")
	}
}

// appliedStatus is the status of an endpoint that was Ready at generation endpointStatusGeneration, computed at
// endpointStatusEarlier.
func appliedStatus(modify ...func(*fulfillmentv1alpha1.WebhookEndpoint)) fulfillmentv1alpha1.WebhookEndpointStatus {
	endpoint := statusEndpoint(modify...)
	return ComputeEndpointStatus(endpoint, factsFixture(), endpointStatusEarlier)
}

// atNextGeneration is an endpoint whose spec changed after it was Ready (generation endpointStatusGeneration+1).
func atNextGeneration(modify ...func(*fulfillmentv1alpha1.WebhookEndpoint)) *fulfillmentv1alpha1.WebhookEndpoint {
	endpoint := statusEndpoint(modify...)
	endpoint.Status = appliedStatus(modify...)
	endpoint.Generation = endpointStatusGeneration + 1
	return endpoint
}

// unread are facts of a reconcile whose first read (the IntentRoutes) failed: nothing else was read.
func unread(f *EndpointFacts) {
	*f = EndpointFacts{ServiceURL: f.ServiceURL, ConfigHash: f.ConfigHash, ReadError: "reading the IntentRoutes: etcdserver: request timed out"}
}

func notApplied(f *EndpointFacts) { f.Applied = false }

// TestComputeEndpointStatusSaysWhatHappened: the status of a reconcile that failed or stopped early reports what
// was read, Unknown for what was not, and moves observedGeneration only when the spec was applied or stalled.
func TestComputeEndpointStatusSaysWhatHappened(t *testing.T) {
	bearer := func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Auth.Bearer = &fulfillmentv1alpha1.BearerAuth{SecretRef: fulfillmentv1alpha1.SecretKeySelector{Name: "bank-api-token", Key: "token"}}
	}
	certManager := withTLS(fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeCertManager,
		IssuerRef: &fulfillmentv1alpha1.IssuerReference{Name: "letsencrypt"}})
	refused := `applying Deployment bank: admission webhook "policy.example.com" denied the request: pods labelled tier=forbidden are not allowed`
	const next = endpointStatusGeneration + 1

	tests := map[string]struct {
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		facts    EndpointFacts
		want     map[string]wantCondition
		// wantObserved is status.observedGeneration; wantReadyGeneration the Ready condition's.
		wantObserved, wantReadyGeneration int64
		// wantReadyKept: Ready is the previous one, transition time included.
		wantReadyKept bool
	}{
		"an apply refused at a new generation: ApplyFailed, observedGeneration stays": {
			endpoint: atNextGeneration(),
			facts:    factsFixture(notApplied, func(f *EndpointFacts) { f.ApplyError = refused }),
			want: and(reconciling(fulfillmentv1alpha1.ReasonApplyFailed, "="+refused),
				fulfillmentv1alpha1.ConditionDeploymentAvailable, wantCondition{metav1.ConditionTrue, fulfillmentv1alpha1.ReasonAvailable, "=2/2 replicas available"}),
			wantObserved: endpointStatusGeneration, wantReadyGeneration: next,
		},
		"another failure after the reads: ReconcileFailed, observedGeneration stays": {
			endpoint:     atNextGeneration(),
			facts:        factsFixture(notApplied, func(f *EndpointFacts) { f.ReconcileError = "deleting HorizontalPodAutoscaler bank: timeout" }),
			want:         reconciling(fulfillmentv1alpha1.ReasonReconcileFailed, "=deleting HorizontalPodAutoscaler bank: timeout"),
			wantObserved: endpointStatusGeneration, wantReadyGeneration: next,
		},
		"the IntentRoutes could not be listed: Unknown details, Ready kept, no made-up DeploymentNotCreated": {
			endpoint: atNextGeneration(),
			facts:    factsFixture(unread),
			want: map[string]wantCondition{
				fulfillmentv1alpha1.ConditionReady:               {metav1.ConditionTrue, fulfillmentv1alpha1.ReasonAvailable, "2/2 replicas available"},
				fulfillmentv1alpha1.ConditionReconciling:         {metav1.ConditionTrue, fulfillmentv1alpha1.ReasonReadFailed, "=could not read the referenced Secrets: reading the IntentRoutes: etcdserver: request timed out; retrying"},
				fulfillmentv1alpha1.ConditionStalled:             {},
				fulfillmentv1alpha1.ConditionDeploymentAvailable: {metav1.ConditionUnknown, fulfillmentv1alpha1.ReasonReadFailed, "=could not read Deployment bank: reading the IntentRoutes: etcdserver: request timed out; retrying"},
				fulfillmentv1alpha1.ConditionSecretsReady:        {metav1.ConditionUnknown, fulfillmentv1alpha1.ReasonReadFailed, "could not read the referenced Secrets"},
				fulfillmentv1alpha1.ConditionRoutesAccepted:      {metav1.ConditionUnknown, fulfillmentv1alpha1.ReasonReadFailed, "could not read the IntentRoutes"},
			},
			wantObserved: endpointStatusGeneration, wantReadyGeneration: endpointStatusGeneration, wantReadyKept: true,
		},
		"nothing read on a new endpoint: Ready Unknown": {
			endpoint: statusEndpoint(),
			facts:    factsFixture(unread),
			want: map[string]wantCondition{
				fulfillmentv1alpha1.ConditionReady:               {metav1.ConditionUnknown, fulfillmentv1alpha1.ReasonReadFailed, "could not read the referenced Secrets"},
				fulfillmentv1alpha1.ConditionReconciling:         {metav1.ConditionTrue, fulfillmentv1alpha1.ReasonReadFailed, ""},
				fulfillmentv1alpha1.ConditionDeploymentAvailable: {metav1.ConditionUnknown, fulfillmentv1alpha1.ReasonReadFailed, ""},
			},
			wantObserved: 0, wantReadyGeneration: endpointStatusGeneration,
		},
		"the Deployment could not be read after the routes were: only it is Unknown": {
			endpoint: atNextGeneration(),
			facts: factsFixture(notApplied, func(f *EndpointFacts) {
				f.Deployment, f.DeploymentRead, f.SecretsRead = nil, false, false
				f.ReadError = "reading Deployment bank: connection refused"
			}),
			want: map[string]wantCondition{
				fulfillmentv1alpha1.ConditionReady:               {metav1.ConditionTrue, fulfillmentv1alpha1.ReasonAvailable, ""},
				fulfillmentv1alpha1.ConditionDeploymentAvailable: {metav1.ConditionUnknown, fulfillmentv1alpha1.ReasonReadFailed, "connection refused"},
				fulfillmentv1alpha1.ConditionRoutesAccepted:      {metav1.ConditionTrue, fulfillmentv1alpha1.ReasonRoutesAccepted, "=2 IntentRoutes accepted"},
			},
			wantObserved: endpointStatusGeneration, wantReadyGeneration: endpointStatusGeneration, wantReadyKept: true,
		},
		"a missing Secret is waited for: Reconciling, not Stalled, observedGeneration stays": {
			endpoint:     atNextGeneration(bearer),
			facts:        factsFixture(notApplied, withMissingSecrets("bank-api-token/token")),
			want:         reconciling(fulfillmentv1alpha1.ReasonSecretNotFound, "=Secret bank-api-token with key token not found: create it or fix spec.auth.bearer.secretRef"),
			wantObserved: endpointStatusGeneration, wantReadyGeneration: next,
		},
		"a Secret the endpoint may not reference stalls: that generation is decided": {
			endpoint: atNextGeneration(bearer),
			facts: factsFixture(notApplied, func(f *EndpointFacts) {
				f.UnlabelledSecrets = []string{"bank-api-token"}
				f.StalledReason, f.StalledMessage = fulfillmentv1alpha1.ReasonRefNotPermitted, "spec.auth.bearer.secretRef: not labelled"
			}),
			want:         stalled(fulfillmentv1alpha1.ReasonRefNotPermitted, "=spec.auth.bearer.secretRef: not labelled"),
			wantObserved: next, wantReadyGeneration: next,
		},
		"applied and still rolling out: observedGeneration advances": {
			endpoint:     atNextGeneration(),
			facts:        factsFixture(withDeployment(deploymentFixture(withReplicaStatus(3, 1, 2, 2)))),
			want:         reconciling(fulfillmentv1alpha1.ReasonRollingOut, ""),
			wantObserved: next, wantReadyGeneration: next,
		},
		"TLS: a certificate not looked at keeps its condition": {
			endpoint: func() *fulfillmentv1alpha1.WebhookEndpoint {
				e := atNextGeneration(certManager)
				e.Status = ComputeEndpointStatus(statusEndpoint(certManager), factsFixture(withCertificate(true, endpointStatusNow.Add(time.Hour))), endpointStatusEarlier)
				return e
			}(),
			facts: factsFixture(notApplied, withMissingSecrets("bank-api-token")),
			want: and(reconciling(fulfillmentv1alpha1.ReasonSecretNotFound, ""),
				fulfillmentv1alpha1.ConditionCertificateReady, wantCondition{metav1.ConditionTrue, fulfillmentv1alpha1.ReasonCertificateValid, ""}),
			wantObserved: endpointStatusGeneration, wantReadyGeneration: next,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := tc.endpoint.DeepCopy()
			status := ComputeEndpointStatus(tc.endpoint, tc.facts, endpointStatusNow)
			checkConditions(t, status.Conditions, tc.want)
			if status.ObservedGeneration != tc.wantObserved {
				t.Errorf("observedGeneration = %d, want %d", status.ObservedGeneration, tc.wantObserved)
			}
			ready := meta.FindStatusCondition(status.Conditions, fulfillmentv1alpha1.ConditionReady)
			if ready.ObservedGeneration != tc.wantReadyGeneration {
				t.Errorf("Ready observedGeneration = %d, want %d", ready.ObservedGeneration, tc.wantReadyGeneration)
			}
			if previous := meta.FindStatusCondition(before.Status.Conditions, fulfillmentv1alpha1.ConditionReady); tc.wantReadyKept &&
				(previous == nil || !apiequality.Semantic.DeepEqual(*previous, *ready)) {
				t.Errorf("Ready = %+v, want the previous %+v", ready, previous)
			}
			if !apiequality.Semantic.DeepEqual(before, tc.endpoint) {
				t.Errorf("ComputeEndpointStatus modified the endpoint")
			}
			tc.endpoint.Status = status
			if EndpointIsReady(tc.endpoint) {
				t.Errorf("EndpointIsReady after a reconcile that did not apply generation %d", tc.endpoint.Generation)
			}
		})
	}
}

// TestComputeEndpointStatusKeepsWhatWasNotRead: the counts and replicas of facts not read are the previous ones.
func TestComputeEndpointStatusKeepsWhatWasNotRead(t *testing.T) {
	endpoint := atNextGeneration()
	endpoint.Status.Routes = &fulfillmentv1alpha1.RouteCounts{Accepted: 2, Rejected: 1}
	endpoint.Status.Replicas, endpoint.Status.ReadyReplicas = 2, 2
	status := ComputeEndpointStatus(endpoint, factsFixture(unread), endpointStatusNow)
	if !apiequality.Semantic.DeepEqual(status.Routes, endpoint.Status.Routes) || status.Replicas != 2 || status.ReadyReplicas != 2 {
		t.Errorf("routes %+v, replicas %d/%d: want the previous ones", status.Routes, status.ReadyReplicas, status.Replicas)
	}
	// Read, a Deployment that is gone has no replicas.
	status = ComputeEndpointStatus(endpoint, factsFixture(withDeployment(nil)), endpointStatusNow)
	if status.Replicas != 0 || status.ReadyReplicas != 0 {
		t.Errorf("replicas %d/%d without a Deployment", status.ReadyReplicas, status.Replicas)
	}
}

// checkConditions compares conditions with the wanted ones (status "" means absent).
func checkConditions(t *testing.T, conditions []metav1.Condition, want map[string]wantCondition) {
	t.Helper()
	for conditionType, want := range want {
		got := meta.FindStatusCondition(conditions, conditionType)
		if want.status == "" {
			if got != nil {
				t.Errorf("%s = %+v, want absent", conditionType, *got)
			}
			continue
		}
		if got == nil {
			t.Errorf("no %s condition, want %s %s", conditionType, want.status, want.reason)
			continue
		}
		if got.Status != want.status || got.Reason != want.reason {
			t.Errorf("%s = %s %s (%s), want %s %s", conditionType, got.Status, got.Reason, got.Message, want.status, want.reason)
		}
		checkMessage(t, conditionType, got.Message, []string{want.message})
	}
}

// TestSuspendedSecretsReadyIsRead: a suspended endpoint's referenced Secrets are still read, so SecretsReady
// says what they are instead of Unknown "could not read ...; retrying" when nothing failed and nothing retries.
func TestSuspendedSecretsReadyIsRead(t *testing.T) {
	endpoint := endpointFixture(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.UID = "endpoint-uid"
		e.Spec.Suspend = true
		e.Spec.Auth.Basic = &fulfillmentv1alpha1.BasicAuth{SecretRef: fulfillmentv1alpha1.LocalObjectReference{Name: "bank-basic"}}
	})
	r, c, _ := fakeReconciler(t, endpoint, interceptor.Funcs{})
	if _, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKeyFromObject(endpoint)}); err != nil {
		t.Fatal(err)
	}
	got := &fulfillmentv1alpha1.WebhookEndpoint{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(endpoint), got); err != nil {
		t.Fatal(err)
	}
	secrets := meta.FindStatusCondition(got.Status.Conditions, fulfillmentv1alpha1.ConditionSecretsReady)
	if secrets == nil || secrets.Status != metav1.ConditionFalse || secrets.Reason != fulfillmentv1alpha1.ReasonSecretNotFound {
		t.Errorf("SecretsReady = %+v, want False SecretNotFound for the missing bank-basic", secrets)
	}
	if ready := EndpointReadyCondition(&got.Status); ready != nil {
		t.Errorf("Ready = %+v, want none while suspended with no pods", ready)
	}
}
