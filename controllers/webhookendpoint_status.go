package controllers

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// maxConditionMessage bounds a condition message (the API allows 32768 bytes).
const maxConditionMessage = 4096

// EndpointFacts is what the reconciler observed about an endpoint's objects; ComputeEndpointStatus reads
// nothing else.
type EndpointFacts struct {
	// Deployment as observed, only when the endpoint controls it; nil when it is not created yet (or not read,
	// or someone else's).
	Deployment *appsv1.Deployment
	// DeploymentConflict says that a Deployment with the endpoint's name exists and is someone else's (the
	// ObjectConflict message): its replicas are not the endpoint's, so DeploymentAvailable is False, stalled.
	DeploymentConflict string
	// DeploymentRead, RoutesRead and SecretsRead say whether the Deployment, the endpoint's IntentRoutes and the
	// referenced Secrets were read. What was not read is Unknown (reason ReadFailed, message ReadError), never
	// a made-up NotCreated or NotFound, and the status fields it would fill keep their previous values.
	DeploymentRead, RoutesRead, SecretsRead bool
	// ReadError is why the first failed read failed.
	ReadError string
	// ApplyError is the API server's message when it refused an apply: Ready=False, reason ApplyFailed.
	// ReconcileError is another failure after the reads (deleting an object no longer wanted, reading a
	// generated Secret): Ready=False, reason ReconcileFailed. Both are retried with backoff.
	ApplyError, ReconcileError string
	// Applied says that every object the spec of this generation asks for was applied (or, suspended, scaled
	// down). Only then, or when the generation is stalled, does status.observedGeneration advance: a GitOps
	// tool never reads an unapplied spec as current.
	Applied bool
	// MissingSecrets are the referenced Secrets that do not exist or lack a key, as "name" or "name/key".
	MissingSecrets []string
	// UnlabelledSecrets are the referenced Secrets without LabelSecretReference while the operator requires it.
	UnlabelledSecrets []string
	// InvalidSecrets are the keys of existing referenced Secrets that are missing or not in the format the
	// server needs (reasons SecretKeyMissing, SecretKeyInvalid): they stall the endpoint.
	InvalidSecrets []SecretKeyProblem
	// StalledReason and StalledMessage describe an error only the user can fix (e.g. an invalid reference);
	// empty otherwise.
	StalledReason, StalledMessage string
	// RoutesAccepted and RoutesRejected count the endpoint's IntentRoutes (AcceptedRoutes).
	RoutesAccepted, RoutesRejected int32
	// ConfigHash is the hash of the rendered configuration.
	ConfigHash string
	// HMACSecretName is the Secret with the HMAC keys, "" without HMAC.
	HMACSecretName string
	// LastKeyRotationTime is when the generated HMAC key was last rotated (KeyState.RotatedAt).
	LastKeyRotationTime *metav1.Time
	// ServiceURL is the in-cluster URL, ExternalURL the one through the Ingress or HTTPRoute.
	ServiceURL, ExternalURL string
	// CertificateNotAfter is when the serving certificate expires, when known.
	CertificateNotAfter *metav1.Time
	// CertificateReady says whether the serving certificate is issued and mounted; nil when TLS is off.
	CertificateReady *bool
	// CertificateSecret is the Secret the pods serve, and CABundle the CA callers must trust (SelfSigned).
	CertificateSecret string
	CABundle          string
	// Gateways are the Gateways the HTTPRoute attaches to, for InsecureExposure.
	Gateways GatewayFacts
	// StatefulSet as observed, only when the endpoint controls it: the endpoint's pods run as a StatefulSet when
	// it has a Local queue (UsesLocalQueue).
	StatefulSet *appsv1.StatefulSet
	// QueueDraining says what a scale-down waits for (pods delivering their queued events before they are
	// removed), "" when nothing waits.
	QueueDraining string
	// SharedGateway is what an endpoint on a WebhookGateway (spec.gatewayRef) observed of it; nil otherwise, or
	// when the reconcile stopped before it.
	SharedGateway *GatewayMembership
	// PodReports are the reports of the running pods (GET /statusz); PodsRead says they were read.
	PodReports []PodReport
	PodsRead   bool
	// QueueReports are, for an Async endpoint on a WebhookGateway, the reports of the gateway's pods, which
	// deliver its queue; QueueReportsRead says they were read. They say nothing of the endpoint's configuration.
	QueueReports     []PodReport
	QueueReportsRead bool
	// NodeLocalClaims are the claims of a Local queue bound to volumes of one node only, described for the
	// QueueDurable message; QueueVolumesRead says the claims were read.
	NodeLocalClaims  []string
	QueueVolumesRead bool
}

// queueReports are the reports status.queue and QueueDurable are computed from: those of the gateway's pods
// for an endpoint on one, of its own pods otherwise.
func queueReports(endpoint *fulfillmentv1alpha1.WebhookEndpoint, facts EndpointFacts) ([]PodReport, bool) {
	if endpoint.Spec.GatewayRef != nil {
		return facts.QueueReports, facts.QueueReportsRead
	}
	return facts.PodReports, facts.PodsRead
}

// endpointCheck is one link of the readiness chain.
type endpointCheck struct {
	ok              bool
	reason, message string
	// stalled: only the user can fix it (Stalled=True). idle: not ready, yet nothing is wrong or in progress
	// (suspended, scaled to zero): neither Reconciling nor Stalled, so that kstatus reads Current. unknown: what
	// it checks was not read (Unknown). Otherwise a failed check is transient: Reconciling=True.
	stalled, idle, unknown bool
}

// unreadCheck is a check whose facts could not be read.
func unreadCheck(what, why string) endpointCheck {
	message := "could not read " + what
	if why != "" {
		message += ": " + why
	}
	return endpointCheck{reason: fulfillmentv1alpha1.ReasonReadFailed, message: message + "; retrying", unknown: true}
}

// ComputeEndpointStatus computes an endpoint's status from what was observed, with kstatus semantics:
//
//   - Ready=True only when the spec of this generation was applied, the Deployment has rolled out the current
//     pod template with every desired replica available, every ready pod serves the rendered configuration
//     (facts.PodConfigurations, when read), the referenced Secrets exist, the serving certificate (with TLS) is
//     valid, and nothing is stalled. Otherwise Ready=False with the reason and message of the first failing
//     check, in the order: stalled, apply refused (ApplyFailed, the API server's message), suspended, Secrets,
//     certificate, Deployment, configuration (a missing Secret or certificate is why pods do not start, so it is
//     the more useful answer). A pod that refuses the configuration stalls the endpoint (ConfigurationRefused).
//   - Stalled=True for what only the user can fix: facts.StalledReason, a Secret the endpoint may not reference
//     (RefNotPermitted), a Deployment past its progress deadline (kstatus calls it Failed), and an expired
//     certificate in a user Secret (tls.mode Secret).
//   - Reconciling=True for transient states: an apply the API server refused (retried with backoff), the
//     Deployment not created yet or rolling out, replicas not yet available, Secrets missing but expected (a
//     GitOps tool or a secrets operator usually creates them shortly after; the Secret watch brings the
//     endpoint back), a certificate not issued yet.
//   - What was not read (facts.DeploymentRead, RoutesRead, SecretsRead false) is Unknown with reason
//     ReadFailed; when it decides Ready, Ready keeps its previous verdict (Unknown when there is none): a
//     failed read says nothing about the endpoint, so it never flips Ready to a made-up reason nor records a
//     Warning. Reconciling=True says a retry is under way.
//   - Suspended (spec.suspend) or spec.replicas 0, once the pods are gone: no Ready, Reconciling or Stalled
//     condition, and DeploymentAvailable=False with reason Suspended or ScaledToZero. kstatus (Flux health
//     checks) reads Current: nothing is in progress or failing (with Ready=False it would read in progress
//     forever). `kubectl wait --for=condition=Ready` never succeeds on an endpoint that answers nothing, and
//     Argo CD's health script shows Suspended from DeploymentAvailable.
//
// status.observedGeneration advances to endpoint.Generation only when the spec of that generation was fully
// applied (facts.Applied) or the generation is stalled (a verdict only the user can change), Flux's rule:
// a refused apply, a missing Secret or a failed read leave it at the last generation that was.
//
// Reconciling and Stalled are removed when false, as in Flux and kstatus, where absent means false.
// RoutesAccepted is informational and never blocks Ready: a rejected route is left out of the configuration
// while the others serve. It is True when no route is rejected (also with no routes at all) and False with the
// count otherwise. InsecureExposure (exposureCondition) is informational too: TLS may end where the operator
// cannot see. CertificateReady is present only when TLS is on, and kept as it was when the certificate was not
// looked at (the reconcile stopped before it).
//
// Conditions follow meta.SetStatusCondition (LastTransitionTime kept unless the status flips), starting from
// endpoint.Status.Conditions, which are not modified; every condition set carries endpoint.Generation. The
// other fields are copied from facts, or kept from the previous status when their facts were not read.
func ComputeEndpointStatus(endpoint *fulfillmentv1alpha1.WebhookEndpoint, facts EndpointFacts, now metav1.Time) fulfillmentv1alpha1.WebhookEndpointStatus {
	previous := &endpoint.Status
	status := fulfillmentv1alpha1.WebhookEndpointStatus{
		ObservedGeneration: previous.ObservedGeneration,
		Conditions:         slices.Clone(previous.Conditions),
		URL:                facts.ServiceURL,
		ExternalURL:        facts.ExternalURL,
		HMACSecretName:     facts.HMACSecretName,
		Routes:             previous.Routes.DeepCopy(),
		Replicas:           previous.Replicas,
		ReadyReplicas:      previous.ReadyReplicas,
		ConfigHash:         facts.ConfigHash,
		LastKeyRotationTime: func() *metav1.Time {
			if facts.LastKeyRotationTime == nil {
				return nil
			}
			return facts.LastKeyRotationTime.DeepCopy()
		}(),
	}
	if facts.RoutesRead {
		status.Routes = &fulfillmentv1alpha1.RouteCounts{Accepted: facts.RoutesAccepted, Rejected: facts.RoutesRejected}
	}
	if facts.DeploymentRead {
		status.Replicas, status.ReadyReplicas = 0, 0
		if d := facts.Deployment; d != nil {
			status.Replicas, status.ReadyReplicas = d.Status.Replicas, d.Status.ReadyReplicas
		}
		if set := facts.StatefulSet; set != nil {
			status.Replicas, status.ReadyReplicas = status.Replicas+set.Status.Replicas, status.ReadyReplicas+set.Status.ReadyReplicas
		}
	}
	status.Queue = previous.Queue.DeepCopy()
	if reports, read := queueReports(endpoint, facts); read {
		status.Queue = queueStatus(endpoint.Namespace+"/"+endpoint.Name, reports)
	}
	if facts.CertificateReady != nil && (facts.CertificateNotAfter != nil || facts.CertificateSecret != "") {
		status.Certificate = &fulfillmentv1alpha1.CertificateStatus{NotAfter: facts.CertificateNotAfter.DeepCopy(),
			SecretName: facts.CertificateSecret, CABundle: facts.CABundle}
	} else if facts.CertificateReady == nil && tlsEnabled(endpoint) {
		status.Certificate = previous.Certificate.DeepCopy()
	}

	set := func(conditionType string, c endpointCheck) {
		conditionStatus := metav1.ConditionFalse
		switch {
		case c.unknown:
			conditionStatus = metav1.ConditionUnknown
		case c.ok:
			conditionStatus = metav1.ConditionTrue
		}
		setConditionStatus(&status.Conditions, conditionType, conditionStatus, c.reason, c.message, endpoint.Generation, now)
	}
	deployment := unreadCheck("Deployment "+endpoint.Name, facts.ReadError)
	switch {
	case facts.DeploymentRead && facts.DeploymentConflict != "":
		deployment = endpointCheck{reason: fulfillmentv1alpha1.ReasonObjectConflict, message: facts.DeploymentConflict, stalled: true}
	case endpoint.Spec.GatewayRef != nil:
		deployment = gatewayCheck(endpoint, facts.SharedGateway)
		if g := facts.SharedGateway; g != nil {
			status.Replicas, status.ReadyReplicas = g.Replicas, g.ReadyReplicas
		}
	case facts.DeploymentRead && UsesLocalQueue(&endpoint.Spec):
		deployment = statefulSetCheck(endpoint, facts.StatefulSet, facts.QueueDraining)
	case facts.DeploymentRead:
		deployment = deploymentCheck(endpoint, facts.Deployment)
	}
	secrets := unreadCheck("the referenced Secrets", facts.ReadError)
	if facts.SecretsRead {
		secrets = secretsCheck(endpoint, facts.MissingSecrets, facts.UnlabelledSecrets, facts.InvalidSecrets)
	}
	routes := unreadCheck("the IntentRoutes", facts.ReadError)
	if facts.RoutesRead {
		routes = routesCheck(endpoint, facts.RoutesAccepted, facts.RoutesRejected)
	}
	set(fulfillmentv1alpha1.ConditionDeploymentAvailable, deployment)
	set(fulfillmentv1alpha1.ConditionSecretsReady, secrets)
	chain := []endpointCheck{}
	if facts.StalledReason != "" {
		chain = append(chain, endpointCheck{
			reason:  conditionReason(facts.StalledReason, fulfillmentv1alpha1.ReasonStalled),
			message: facts.StalledMessage,
			stalled: true,
		})
	}
	if facts.ApplyError != "" {
		chain = append(chain, endpointCheck{reason: fulfillmentv1alpha1.ReasonApplyFailed, message: facts.ApplyError})
	}
	if facts.ReconcileError != "" {
		chain = append(chain, endpointCheck{reason: fulfillmentv1alpha1.ReasonReconcileFailed, message: facts.ReconcileError})
	}
	if endpoint.Spec.Suspend {
		chain = append(chain, deployment)
	}
	chain = append(chain, secrets)
	switch {
	case facts.CertificateReady != nil:
		certificate := certificateCheck(endpoint, *facts.CertificateReady, facts.CertificateNotAfter, now.Time)
		set(fulfillmentv1alpha1.ConditionCertificateReady, certificate)
		chain = append(chain, certificate)
	case !tlsEnabled(endpoint):
		meta.RemoveStatusCondition(&status.Conditions, fulfillmentv1alpha1.ConditionCertificateReady)
	}
	chain = append(chain, deployment)
	readyMessage := readyMessage(deployment, facts.ServiceURL)
	if configuration := configurationCheck(facts.ConfigHash, facts.PodReports); facts.PodsRead && deployment.ok && configuration.reason != "" {
		chain = append(chain, configuration)
		readyMessage += "; " + configuration.message
	}
	set(fulfillmentv1alpha1.ConditionRoutesAccepted, routes)
	exposure, reason, message := exposureCondition(endpoint, facts.Gateways)
	setConditionStatus(&status.Conditions, fulfillmentv1alpha1.ConditionInsecureExposure, exposure, reason, message, endpoint.Generation, now)
	if reports, read := queueReports(endpoint, facts); read {
		if durable, reason, message, ok := queueDurability(endpoint.Namespace+"/"+endpoint.Name, reports); ok {
			if durable == metav1.ConditionTrue && facts.QueueVolumesRead && len(facts.NodeLocalClaims) > 0 {
				durable, reason, message = metav1.ConditionFalse, ReasonNodeLocalVolume, nodeLocalMessage(facts.NodeLocalClaims)
			}
			setConditionStatus(&status.Conditions, fulfillmentv1alpha1.ConditionQueueDurable, durable, reason, message, endpoint.Generation, now)
		} else if endpoint.Spec.Delivery == nil || endpoint.Spec.Delivery.Mode != fulfillmentv1alpha1.DeliveryAsync {
			meta.RemoveStatusCondition(&status.Conditions, fulfillmentv1alpha1.ConditionQueueDurable)
		}
	}

	ready := endpointCheck{ok: true, reason: fulfillmentv1alpha1.ReasonAvailable, message: readyMessage}
	for _, c := range chain {
		if !c.ok {
			ready = c
			break
		}
	}
	switch {
	case ready.unknown:
		// The last verdict from facts that were read stands, with its own observedGeneration.
		if meta.FindStatusCondition(status.Conditions, fulfillmentv1alpha1.ConditionReady) == nil {
			set(fulfillmentv1alpha1.ConditionReady, ready)
		}
	case ready.idle:
		// Nothing serves on purpose and nothing is in progress: no Ready condition at all, so that kstatus (Flux
		// health checks) reads Current instead of in progress forever, while `kubectl wait
		// --for=condition=Ready` still waits; DeploymentAvailable says why.
		meta.RemoveStatusCondition(&status.Conditions, fulfillmentv1alpha1.ConditionReady)
	default:
		set(fulfillmentv1alpha1.ConditionReady, ready)
	}
	switch {
	case ready.ok || ready.idle:
		meta.RemoveStatusCondition(&status.Conditions, fulfillmentv1alpha1.ConditionStalled)
		meta.RemoveStatusCondition(&status.Conditions, fulfillmentv1alpha1.ConditionReconciling)
	case ready.stalled:
		set(fulfillmentv1alpha1.ConditionStalled, endpointCheck{ok: true, reason: ready.reason, message: ready.message})
		meta.RemoveStatusCondition(&status.Conditions, fulfillmentv1alpha1.ConditionReconciling)
	default:
		set(fulfillmentv1alpha1.ConditionReconciling, endpointCheck{ok: true, reason: ready.reason, message: ready.message})
		meta.RemoveStatusCondition(&status.Conditions, fulfillmentv1alpha1.ConditionStalled)
	}
	if facts.Applied || ready.stalled {
		status.ObservedGeneration = endpoint.Generation
	}
	return status
}

// ReadyEventType is the type of the event announcing a change of Ready: Warning only when a person must act,
// so that teams can alert on Warnings. That is a stalled endpoint (an invalid reference, an object conflict, a
// Deployment past its progress deadline) or a failed apply or reconcile step; progress (not created yet,
// rolling out, replicas starting, a Secret or certificate awaited) and Ready=True are Normal.
func ReadyEventType(status fulfillmentv1alpha1.WebhookEndpointStatus) string {
	return readyEventType(status.Conditions)
}

// readyEventType is ReadyEventType for the conditions of an endpoint or a gateway.
func readyEventType(conditions []metav1.Condition) string {
	ready := meta.FindStatusCondition(conditions, fulfillmentv1alpha1.ConditionReady)
	if ready == nil || ready.Status == metav1.ConditionTrue {
		return corev1.EventTypeNormal
	}
	if meta.IsStatusConditionTrue(conditions, fulfillmentv1alpha1.ConditionStalled) {
		return corev1.EventTypeWarning
	}
	switch ready.Reason {
	case fulfillmentv1alpha1.ReasonApplyFailed, fulfillmentv1alpha1.ReasonReconcileFailed:
		return corev1.EventTypeWarning
	}
	return corev1.EventTypeNormal
}

// tlsEnabled tells whether the endpoint's pods serve HTTPS.
func tlsEnabled(endpoint *fulfillmentv1alpha1.WebhookEndpoint) bool {
	tls := endpoint.Spec.TLS
	return tls != nil && tls.Mode != "" && tls.Mode != fulfillmentv1alpha1.TLSModeDisabled
}

func readyMessage(deployment endpointCheck, url string) string {
	if url == "" {
		return deployment.message
	}
	return fmt.Sprintf("serving %s: %s", url, deployment.message)
}

// deploymentCheck is DeploymentAvailable: the Deployment has observed its spec, every desired replica runs the
// current pod template, no old replica is left, and every desired replica is available (the conditions kstatus
// puts on a Deployment being Current).
func deploymentCheck(endpoint *fulfillmentv1alpha1.WebhookEndpoint, deployment *appsv1.Deployment) endpointCheck {
	if deployment == nil {
		if endpoint.Spec.Suspend {
			return endpointCheck{reason: fulfillmentv1alpha1.ReasonSuspended, message: "spec.suspend is true: no pod serves requests", idle: true}
		}
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonDeploymentNotCreated, message: fmt.Sprintf("Deployment %s is not created yet", endpoint.Name)}
	}
	status := deployment.Status
	if endpoint.Spec.Suspend {
		if status.Replicas > 0 {
			return endpointCheck{reason: fulfillmentv1alpha1.ReasonSuspended, message: fmt.Sprintf(
				"spec.suspend is true: scaling down, %s left", plural(status.Replicas, "pod", "pods"))}
		}
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonSuspended, message: "spec.suspend is true: scaled to zero, no pod serves requests", idle: true}
	}
	desired := int32(1)
	if deployment.Spec.Replicas != nil {
		desired = *deployment.Spec.Replicas
	}
	if status.ObservedGeneration < deployment.Generation {
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonRollingOut, message: fmt.Sprintf(
			"waiting for the Deployment controller to observe Deployment %s generation %d", deployment.Name, deployment.Generation)}
	}
	for _, c := range deployment.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == fulfillmentv1alpha1.ReasonProgressDeadlineExceeded {
			return endpointCheck{reason: fulfillmentv1alpha1.ReasonProgressDeadlineExceeded, stalled: true, message: fmt.Sprintf(
				"Deployment %s made no progress within its deadline (%d/%d replicas available): %s; check its pods' events "+
					"(image, resources, scheduling)", deployment.Name, status.AvailableReplicas, desired, c.Message)}
		}
	}
	if desired == 0 {
		if status.Replicas > 0 {
			return endpointCheck{reason: fulfillmentv1alpha1.ReasonScaledToZero, message: fmt.Sprintf(
				"spec.replicas is 0: scaling down, %s left", plural(status.Replicas, "pod", "pods"))}
		}
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonScaledToZero, message: "spec.replicas is 0: no pod serves requests", idle: true}
	}
	if status.UpdatedReplicas < desired {
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonRollingOut, message: fmt.Sprintf(
			"rolling out: %d/%d replicas updated, %d/%d available", status.UpdatedReplicas, desired, status.AvailableReplicas, desired)}
	}
	if old := status.Replicas - status.UpdatedReplicas; old > 0 {
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonRollingOut, message: fmt.Sprintf(
			"rolling out: waiting for %s to terminate", plural(old, "old replica", "old replicas"))}
	}
	if status.AvailableReplicas < desired {
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonReplicasUnavailable, message: fmt.Sprintf(
			"%d/%d replicas available", status.AvailableReplicas, desired)}
	}
	return endpointCheck{ok: true, reason: fulfillmentv1alpha1.ReasonAvailable, message: fmt.Sprintf("%d/%d replicas available", status.AvailableReplicas, desired)}
}

// secretsCheck is SecretsReady. A missing Secret is transient: GitOps tools and secrets operators create
// Secrets alongside or shortly after the endpoint, and the Secret watch brings the endpoint back. A Secret the
// endpoint may not reference (unlabelled, with --require-secret-reference-label) stalls it: only a person can
// label it or change the reference. So does a key the server reads that is missing or not in its format
// (invalid): the pods could not load the configuration until someone fixes the Secret.
func secretsCheck(endpoint *fulfillmentv1alpha1.WebhookEndpoint, missing, unlabelled []string, invalid []SecretKeyProblem) endpointCheck {
	missing = slices.Compact(slices.Sorted(slices.Values(missing)))
	unlabelled = slices.Compact(slices.Sorted(slices.Values(unlabelled)))
	if len(missing) == 0 && len(unlabelled) == 0 && len(invalid) > 0 {
		return endpointCheck{reason: secretKeyProblemsReason(invalid), message: secretKeyProblemsMessage(invalid), stalled: true}
	}
	if len(missing) == 0 && len(unlabelled) == 0 {
		return endpointCheck{ok: true, reason: fulfillmentv1alpha1.ReasonSecretsFound, message: "every referenced Secret exists with the keys the server reads"}
	}
	fields := endpointSecretFields(endpoint)
	generated := ""
	if h := endpoint.Spec.Auth.HMAC; h != nil && h.SecretRef == nil {
		generated = HMACSecretName(endpoint)
	}
	problems := make([]string, 0, len(missing)+len(unlabelled))
	for _, ref := range missing {
		name, key, hasKey := strings.Cut(ref, "/")
		switch {
		case name == generated:
			problems = append(problems, fmt.Sprintf("Secret %s with the generated HMAC keys is not created yet", name))
		case hasKey:
			problems = append(problems, fmt.Sprintf("Secret %s with key %s not found: create it or fix %s",
				name, key, fieldsOr(fields[name], "the reference")))
		default:
			problems = append(problems, fmt.Sprintf("Secret %s not found: create it or fix %s",
				name, fieldsOr(fields[name], "the reference")))
		}
	}
	for _, name := range unlabelled {
		problems = append(problems, fieldsOr(fields[name], "an IntentRoute")+": "+unlabelledSecretProblem(name))
	}
	if len(missing) == 0 {
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonRefNotPermitted, message: problemList(problems), stalled: true}
	}
	return endpointCheck{reason: fulfillmentv1alpha1.ReasonSecretNotFound, message: problemList(problems)}
}

func fieldsOr(fields []string, otherwise string) string {
	if len(fields) == 0 {
		return otherwise
	}
	return strings.Join(fields, " or ")
}

// endpointSecretFields maps each Secret an endpoint references to the fields that reference it.
func endpointSecretFields(endpoint *fulfillmentv1alpha1.WebhookEndpoint) map[string][]string {
	fields := map[string][]string{}
	add := func(name, field string) {
		if name != "" {
			fields[name] = append(fields[name], field)
		}
	}
	spec := &endpoint.Spec
	if b := spec.Auth.Basic; b != nil {
		add(b.SecretRef.Name, "spec.auth.basic.secretRef")
	}
	if b := spec.Auth.Bearer; b != nil {
		add(b.SecretRef.Name, "spec.auth.bearer.secretRef")
	}
	if o := spec.Auth.OAuth2; o != nil {
		add(o.Introspection.SecretRef.Name, "spec.auth.oauth2.introspection.secretRef")
	}
	if h := spec.Auth.HMAC; h != nil && h.SecretRef != nil {
		add(h.SecretRef.Name, "spec.auth.hmac.secretRef")
	}
	if t := spec.TLS; t != nil {
		add(t.SecretName, "spec.tls.secretName")
		if c := t.ClientAuth; c != nil && c.CASecretRef != nil {
			add(c.CASecretRef.Name, "spec.tls.clientAuth.caSecretRef")
		}
	}
	if r := spec.Redis; r != nil && r.URLSecretRef != nil {
		add(r.URLSecretRef.Name, "spec.redis.urlSecretRef")
	}
	for _, req := range TracingSecretRequirements(endpoint) {
		add(req.Secret, req.Field)
	}
	return fields
}

// certificateCheck is CertificateReady, for an endpoint with TLS.
func certificateCheck(endpoint *fulfillmentv1alpha1.WebhookEndpoint, ready bool, notAfter *metav1.Time, now time.Time) endpointCheck {
	mode := fulfillmentv1alpha1.TLSModeDisabled
	if endpoint.Spec.TLS != nil {
		mode = endpoint.Spec.TLS.Mode
	}
	if notAfter != nil && !now.Before(notAfter.Time) {
		c := endpointCheck{reason: fulfillmentv1alpha1.ReasonCertificateExpired}
		if mode == fulfillmentv1alpha1.TLSModeSecret {
			// Nobody but the user renews a certificate they supplied.
			c.stalled = true
			c.message = fmt.Sprintf("the serving certificate in Secret %s expired at %s: put a renewed certificate in it",
				endpoint.Spec.TLS.SecretName, notAfter.UTC().Format(time.RFC3339))
		} else {
			c.message = fmt.Sprintf("the serving certificate expired at %s; waiting for its renewal", notAfter.UTC().Format(time.RFC3339))
		}
		return c
	}
	if !ready {
		message := "waiting for the serving certificate"
		switch mode {
		case fulfillmentv1alpha1.TLSModeCertManager:
			message = "waiting for cert-manager to issue the serving certificate"
		case fulfillmentv1alpha1.TLSModeSelfSigned:
			message = "waiting for the operator's CA to issue the serving certificate"
		case fulfillmentv1alpha1.TLSModeSecret:
			message = fmt.Sprintf("waiting for a serving certificate in Secret %s", endpoint.Spec.TLS.SecretName)
		}
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonCertificateNotReady, message: message}
	}
	if notAfter == nil {
		return endpointCheck{ok: true, reason: fulfillmentv1alpha1.ReasonCertificateValid, message: "the serving certificate is ready"}
	}
	return endpointCheck{ok: true, reason: fulfillmentv1alpha1.ReasonCertificateValid, message: fmt.Sprintf(
		"the serving certificate is valid until %s", notAfter.UTC().Format(time.RFC3339))}
}

// routesCheck is RoutesAccepted, informational only.
func routesCheck(endpoint *fulfillmentv1alpha1.WebhookEndpoint, accepted, rejected int32) endpointCheck {
	switch {
	case rejected > 0:
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonRoutesRejected, message: fmt.Sprintf(
			"%d of %d IntentRoutes rejected, %d served; see their Accepted condition: kubectl get intentroutes -n %s",
			rejected, accepted+rejected, accepted, endpoint.Namespace)}
	case accepted == 0:
		return endpointCheck{ok: true, reason: fulfillmentv1alpha1.ReasonNoRoutes, message: "no IntentRoute references this endpoint: every request gets the fallback"}
	default:
		return endpointCheck{ok: true, reason: fulfillmentv1alpha1.ReasonRoutesAccepted, message: fmt.Sprintf("%s accepted", plural(accepted, "IntentRoute", "IntentRoutes"))}
	}
}

func plural(n int32, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// conditionReasonPattern is metav1.Condition's reason format.
var conditionReasonPattern = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`)

// conditionReason returns reason when the API accepts it as a condition reason, else fallback: a status
// update with an invalid reason would be refused as a whole.
func conditionReason(reason, fallback string) string {
	if len(reason) <= 1024 && conditionReasonPattern.MatchString(reason) {
		return reason
	}
	return fallback
}

// conditionMessage bounds a message, cutting at a character boundary.
func conditionMessage(message string) string {
	if len(message) <= maxConditionMessage {
		return message
	}
	const ellipsis = " …"
	cut := maxConditionMessage - len(ellipsis)
	for cut > 0 && !isRuneStart(message[cut]) {
		cut--
	}
	return message[:cut] + ellipsis
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// setCondition sets one condition with meta.SetStatusCondition semantics: LastTransitionTime is now when the
// status changes (or the condition is new) and kept otherwise.
func setCondition(conditions *[]metav1.Condition, conditionType string, ok bool, reason, message string, generation int64, now metav1.Time) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	setConditionStatus(conditions, conditionType, status, reason, message, generation, now)
}

// setConditionStatus is setCondition for a condition that may also be Unknown.
func setConditionStatus(conditions *[]metav1.Condition, conditionType string, status metav1.ConditionStatus, reason, message string, generation int64, now metav1.Time) {
	meta.SetStatusCondition(conditions, metav1.Condition{
		Type:               conditionType,
		Status:             status,
		ObservedGeneration: generation,
		LastTransitionTime: now,
		Reason:             reason,
		Message:            conditionMessage(message),
	})
}

// EndpointReadyCondition returns the endpoint's Ready condition, or nil.
func EndpointReadyCondition(status *fulfillmentv1alpha1.WebhookEndpointStatus) *metav1.Condition {
	return meta.FindStatusCondition(status.Conditions, fulfillmentv1alpha1.ConditionReady)
}

// EndpointIsReady tells whether the endpoint is Ready for its current spec: Ready=True, observed at the
// endpoint's generation.
func EndpointIsReady(endpoint *fulfillmentv1alpha1.WebhookEndpoint) bool {
	ready := EndpointReadyCondition(&endpoint.Status)
	return ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == endpoint.Generation &&
		endpoint.Status.ObservedGeneration == endpoint.Generation
}
