package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
)

// endpointStep is one named step of an endpoint's reconcile. A step reads, decides or applies one thing and
// records what it learned in the reconcile's state; an error stops the reconcile (Reconcile turns it into
// status), and a step may end the reconcile early, without error, when nothing after it may run yet.
type endpointStep struct {
	name string
	run  func(ctx context.Context, rec *endpointReconcile) error
}

// endpointSteps are the steps of an endpoint's reconcile, in order. Reads come first, so that the status can
// say what is wrong even when nothing may be written; then ownership, because nothing is written while an
// object the endpoint would write belongs to someone else; then the inputs of the pods (Secrets, keys, TLS,
// configuration); then the objects themselves, each kind after what its pods need.
func (r *WebhookEndpointReconciler) endpointSteps() []endpointStep {
	return []endpointStep{
		{"read routes", r.readRoutes},
		{"read workloads", r.readWorkloads},
		{"check ownership", r.checkOwnershipStep},
		{"read secrets", r.readSecrets},
		{"suspend", r.suspendStep},
		{"check secrets", r.checkSecrets},
		{"check expressions", r.checkExpressions},
		{"reconcile keys", r.reconcileKeysStep},
		{"reconcile tls", r.reconcileTLSStep},
		{"render configuration", r.renderConfiguration},
		{"read queue volumes", r.readQueueVolumes},
		{"replace statefulset", r.replaceStatefulSetStep},
		{"apply workload", r.applyWorkload},
		{"remove retired workload", r.removeRetiredWorkloadStep},
		{"apply optional objects", r.applyOptionalObjects},
		{"apply httproute", r.applyHTTPRoute},
		{"schedule rechecks", r.scheduleRechecks},
	}
}

// endpointReconcile is the state of one reconcile of an endpoint: what its steps read and decided so far.
type endpointReconcile struct {
	endpoint *fulfillmentv1alpha1.WebhookEndpoint
	// facts are what the status is computed from. Each says whether it was read (EndpointFacts), so that a
	// failed read is reported as unknown rather than as what a nil would suggest.
	facts EndpointFacts
	// local: the endpoint runs as a StatefulSet (a Local queue).
	local    bool
	accepted []fulfillmentv1alpha1.IntentRoute
	tls      tlsFacts
	// retirement is what happens to pods that go away with events on their volumes.
	retirement retirement
	// config and configHash are the rendered configuration (RenderConfig).
	config     []byte
	configHash string
	// requeueAfter is when to reconcile again: the shortest any step asked for, 0 for none.
	requeueAfter time.Duration
	// done ends the reconcile after the current step, without error.
	done bool
}

// requeue asks for a reconcile after d, unless a step asked for an earlier one.
func (rec *endpointReconcile) requeue(d time.Duration) {
	if d > 0 && (rec.requeueAfter == 0 || d < rec.requeueAfter) {
		rec.requeueAfter = d
	}
}

// readFailed records a failed read in the facts and returns it as the step's error.
func (rec *endpointReconcile) readFailed(what string, err error) error {
	rec.facts.ReadError = fmt.Sprintf("reading %s: %v", what, err)
	return fmt.Errorf("reading %s: %w", what, err)
}

// reconcileSteps runs the endpoint's steps in order and returns the facts the status is computed from. It
// stops at the first error; facts.Applied is set only when every step ran, or by a step that ends the
// reconcile with this generation's spec in place (suspend).
func (r *WebhookEndpointReconciler) reconcileSteps(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint) (EndpointFacts, time.Duration, error) {
	// The external URL depends on the Gateways, read after the routes: until then it is the last one known.
	rec := &endpointReconcile{endpoint: endpoint, local: UsesLocalQueue(&endpoint.Spec), facts: EndpointFacts{
		HMACSecretName: HMACSecretName(endpoint), ServiceURL: serviceURL(endpoint), ExternalURL: endpoint.Status.ExternalURL,
		LastKeyRotationTime: endpoint.Status.LastKeyRotationTime, ConfigHash: endpoint.Status.ConfigHash,
	}}
	steps := r.endpointSteps()
	if endpoint.Spec.GatewayRef != nil {
		steps = r.gatewaySteps()
	}
	for _, step := range steps {
		if err := step.run(ctx, rec); err != nil {
			return rec.facts, 0, err
		}
		if rec.done {
			return rec.facts, rec.requeueAfter, nil
		}
	}
	return rec.facts, rec.requeueAfter, nil
}

// readRoutes reads the endpoint's accepted routes and the Gateways its HTTPRoute attaches to.
func (r *WebhookEndpointReconciler) readRoutes(ctx context.Context, rec *endpointReconcile) error {
	accepted, counts, err := r.acceptedRoutes(ctx, rec.endpoint)
	if err != nil {
		return rec.readFailed("the IntentRoutes", err)
	}
	rec.accepted = accepted
	rec.facts.RoutesAccepted, rec.facts.RoutesRejected, rec.facts.RoutesRead = counts.Accepted, counts.Rejected, true
	rec.facts.Gateways = r.readGateways(ctx, rec.endpoint)
	rec.facts.ExternalURL = ExternalURL(rec.endpoint, rec.facts.Gateways)
	return nil
}

// readWorkloads reads the endpoint's Deployment and StatefulSet. Only the endpoint's own workload says whether
// it serves: one of the same name that someone else owns runs their pods, not ours. Both kinds are read: while
// an endpoint moves to a StatefulSet, its Deployment's pods deliver what they queued before they go.
func (r *WebhookEndpointReconciler) readWorkloads(ctx context.Context, rec *endpointReconcile) error {
	endpoint := rec.endpoint
	onGateway := endpoint.Spec.GatewayRef != nil
	deployment, conflict, err := readWorkload(ctx, r.Client, endpoint, &appsv1.Deployment{}, "Deployment", !rec.local && !onGateway)
	if err != nil {
		return rec.readFailed("Deployment "+endpoint.Name, err)
	}
	// The StatefulSet's replica count decides which pods are retired (planRetirement): a stale cached copy from
	// before the last scale-down would bring a retired pod back, so it is read from the API server.
	var setReader client.Reader = r.Client
	if rec.local && r.APIReader != nil {
		setReader = r.APIReader
	}
	set, setConflict, err := readWorkload(ctx, setReader, endpoint, &appsv1.StatefulSet{}, "StatefulSet", rec.local && !onGateway)
	if err != nil {
		return rec.readFailed("StatefulSet "+endpoint.Name, err)
	}
	rec.facts.Deployment, rec.facts.StatefulSet, rec.facts.DeploymentConflict = deployment, set, conflict+setConflict
	rec.facts.DeploymentRead = true
	return nil
}

// checkOwnershipStep stops the reconcile while an object the endpoint would write belongs to someone else. Any
// other error is a read of one of those objects that failed: reported like the reads before it.
func (r *WebhookEndpointReconciler) checkOwnershipStep(ctx context.Context, rec *endpointReconcile) error {
	err := r.checkOwnership(ctx, rec.endpoint)
	if conflict := (*conflictError)(nil); err != nil && !errors.As(err, &conflict) {
		rec.facts.ReadError = err.Error()
	}
	return err
}

// readSecrets reads the referenced Secrets. They are read when suspended too, so that SecretsReady says what
// they are rather than that they were not read.
func (r *WebhookEndpointReconciler) readSecrets(ctx context.Context, rec *endpointReconcile) error {
	missing, unlabelled, invalid, err := r.unusableSecrets(ctx, rec.endpoint, rec.accepted)
	if err != nil {
		return rec.readFailed("the referenced Secrets", err)
	}
	rec.facts.MissingSecrets, rec.facts.UnlabelledSecrets, rec.facts.InvalidSecrets, rec.facts.SecretsRead = missing, unlabelled, invalid, true
	return nil
}

// suspendStep scales a suspended endpoint's Deployment to zero and ends the reconcile. An endpoint with a Local
// queue is not suspended here: its pods drain first (planRetirement).
func (r *WebhookEndpointReconciler) suspendStep(ctx context.Context, rec *endpointReconcile) error {
	if !rec.endpoint.Spec.Suspend || rec.local {
		return nil
	}
	if err := r.suspend(ctx, rec.endpoint, rec.facts.Deployment); err != nil {
		return &applyError{err: err}
	}
	rec.facts.Applied = true
	rec.done = true
	return nil
}

// checkSecrets holds the rollout until the referenced Secrets can be used: pods that mount them must not roll
// out before. A missing one is waited for: the running pods keep serving the previous configuration, the
// status says which Secret (Reconciling), and the Secret watch brings the endpoint back when it is created,
// so there is nothing to retry. An unlabelled or invalid one stalls the endpoint until the user fixes it.
func (r *WebhookEndpointReconciler) checkSecrets(_ context.Context, rec *endpointReconcile) error {
	switch facts := &rec.facts; {
	case len(facts.MissingSecrets) > 0:
		rec.done = true
	case len(facts.UnlabelledSecrets) > 0:
		return &stalledError{reason: fulfillmentv1alpha1.ReasonRefNotPermitted, message: secretsCheck(rec.endpoint, nil, facts.UnlabelledSecrets, nil).message}
	case len(facts.InvalidSecrets) > 0:
		// The pods could not load the configuration: the running pods keep serving the previous one.
		return &stalledError{reason: secretKeyProblemsReason(facts.InvalidSecrets), message: secretKeyProblemsMessage(facts.InvalidSecrets)}
	}
	return nil
}

// checkExpressions compiles environmentFrom and versionFrom as the server will, so that an expression the pods
// would refuse stalls the endpoint with its field named, and the running pods keep the previous configuration.
func (r *WebhookEndpointReconciler) checkExpressions(_ context.Context, rec *endpointReconcile) error {
	if _, err := routespec.CompileRequestFields(r.Env, &rec.endpoint.Spec); err != nil {
		return &stalledError{reason: fulfillmentv1alpha1.ReasonInvalidExpression, message: err.Error()}
	}
	return nil
}

// reconcileKeysStep creates and rotates the generated HMAC key, when the operator generates it.
func (r *WebhookEndpointReconciler) reconcileKeysStep(ctx context.Context, rec *endpointReconcile) error {
	endpoint := rec.endpoint
	if endpoint.Spec.Auth.HMAC == nil || endpoint.Spec.Auth.HMAC.SecretRef != nil {
		r.warnIgnoredRotateKey(endpoint)
		return nil
	}
	state, err := r.reconcileHMACKeys(ctx, endpoint)
	if err != nil {
		return err
	}
	rotatedAt := metav1.NewTime(state.RotatedAt)
	rec.facts.LastKeyRotationTime = &rotatedAt
	rec.requeue(state.NextCheck)
	// The generated key is kept as it is found, so a hand-edited one in the wrong format would make the pods
	// refuse the configuration.
	if invalid := CheckSecretKeys(requirementsOf(EndpointSecretRequirements(endpoint), HMACSecretName(endpoint)), state.Data); len(invalid) > 0 {
		rec.facts.InvalidSecrets = invalid
		return &stalledError{reason: secretKeyProblemsReason(invalid), message: secretKeyProblemsMessage(invalid)}
	}
	return nil
}

// reconcileTLSStep makes sure the serving certificate exists (reconcileTLS).
func (r *WebhookEndpointReconciler) reconcileTLSStep(ctx context.Context, rec *endpointReconcile) error {
	tls, err := r.reconcileTLS(ctx, rec.endpoint)
	if err != nil {
		return err
	}
	rec.tls = tls
	rec.facts.CertificateNotAfter, rec.facts.CertificateReady, rec.facts.CertificateSecret, rec.facts.CABundle = tls.notAfter, tls.ready, tls.secretName, tls.caBundle
	rec.requeue(tls.requeueAfter)
	return nil
}

// renderConfiguration renders the configuration the pods load. The pods being retired are planned first,
// because the configuration names them: they must deliver their events before they go.
func (r *WebhookEndpointReconciler) renderConfiguration(ctx context.Context, rec *endpointReconcile) error {
	endpoint, accepted := rec.endpoint, rec.accepted
	reports := r.readPodReports(ctx, endpoint, &rec.facts)
	retirement := r.planWorkloads(endpoint, &rec.facts, reports)
	rec.retirement = retirement
	data, hash, err := RenderConfig(endpoint, accepted, retirement.drain)
	if err != nil {
		return &stalledError{reason: fulfillmentv1alpha1.ReasonInvalidConfiguration, message: "rendering the configuration: " + err.Error()}
	}
	rec.config, rec.configHash = data, hash
	return nil
}

// replaceStatefulSetStep waits while the endpoint's StatefulSet is being replaced (the garbage collector
// orphans its pods first), and replaces it when its volume claim templates, which are immutable, changed.
func (r *WebhookEndpointReconciler) replaceStatefulSetStep(ctx context.Context, rec *endpointReconcile) error {
	set := rec.facts.StatefulSet
	if !rec.local || set == nil {
		return nil
	}
	switch {
	case !set.DeletionTimestamp.IsZero():
	case claimTemplatesChanged(set, DesiredStatefulSet(r.deploymentInputs(rec), rec.retirement.replicas)):
		if err := r.replaceStatefulSet(ctx, rec.endpoint, set); err != nil {
			return err
		}
	default:
		return nil
	}
	rec.requeue(time.Second)
	rec.done = true
	return nil
}

// applyWorkload applies the objects the pods need and then the pods' workload. Objects that can fail on their
// own (a Service without a free cluster IP, a quota) come before the Deployment, whose pods would serve nobody
// without them, and the NetworkPolicy is in place before the pods start. A failure stops the reconcile; the
// retry skips what already succeeded (applyIfChanged).
func (r *WebhookEndpointReconciler) applyWorkload(ctx context.Context, rec *endpointReconcile) error {
	endpoint := rec.endpoint
	inputs := r.deploymentInputs(rec)
	var workload client.Object = DesiredDeployment(inputs)
	if rec.local {
		workload = DesiredStatefulSet(inputs, rec.retirement.replicas)
	}
	if err := r.applyStep(ctx, DesiredServiceAccount(endpoint)); err != nil {
		return err
	}
	configMap, service := DesiredConfigMap(endpoint, rec.config, rec.configHash), DesiredService(endpoint)
	existing := &corev1.ConfigMap{}
	switch err := r.cache().Get(ctx, client.ObjectKeyFromObject(configMap), existing); {
	case err != nil || existing.Labels[LabelGateway] == "":
	case leavingGateway(existing, rec):
		// The gateway it leaves keeps serving the endpoint, at both URLs, until its own pods do.
		gateway := existing.Labels[LabelGateway]
		joinConfigMap(configMap, endpoint, gateway)
		service = aliasService(endpoint, gateway)
		rec.requeue(configurationLoadingRecheck)
	default:
		// Its own pods serve it; the gateway lets go once no caller's connection leads there any more.
		wait, err := r.leaveGateway(ctx, rec, existing, configMap)
		if err != nil {
			return rec.readFailed("the WebhookGateway "+existing.Labels[LabelGateway]+" the endpoint leaves", err)
		}
		rec.requeue(wait)
	}
	if err := r.applyStep(ctx, configMap); err != nil {
		return err
	}
	rec.facts.ConfigHash = rec.configHash // the ConfigMap holds it now
	for _, obj := range []client.Object{service, DesiredNetworkPolicy(endpoint, r.OperatorNamespace), workload} {
		if err := r.applyStep(ctx, obj); err != nil {
			return err
		}
	}
	return nil
}

// deploymentInputs are what the pods' workload is rendered from. The pods mount the serving certificate; one
// cert-manager has not issued yet is mounted by name and the pods start once it exists.
func (r *WebhookEndpointReconciler) deploymentInputs(rec *endpointReconcile) DeploymentInputs {
	tlsSecret := rec.tls.secretName
	if tlsSecret == "" && rec.tls.ready != nil {
		tlsSecret = CertificateSecretName(rec.endpoint)
	}
	return DeploymentInputs{Endpoint: rec.endpoint, Image: r.Image, Secrets: ReferencedSecrets(rec.endpoint, rec.accepted),
		ConfigMaps: ReferencedConfigMaps(rec.accepted), TLSSecretName: tlsSecret}
}

// removeRetiredWorkloadStep deletes the Deployment an endpoint with a Local queue no longer runs as, once its
// pods hold nothing.
func (r *WebhookEndpointReconciler) removeRetiredWorkloadStep(ctx context.Context, rec *endpointReconcile) error {
	return r.removeRetiredWorkload(ctx, rec.endpoint, rec.retirement)
}

// applyOptionalObjects applies the objects the spec asks for only sometimes (PodDisruptionBudget,
// HorizontalPodAutoscaler, Ingress), and deletes the endpoint's own when it no longer does.
func (r *WebhookEndpointReconciler) applyOptionalObjects(ctx context.Context, rec *endpointReconcile) error {
	endpoint := rec.endpoint
	optional := []struct {
		desired client.Object
		empty   client.Object
	}{
		{nilIfNil(DesiredPodDisruptionBudget(endpoint)), &policyv1.PodDisruptionBudget{}},
		{nilIfNil(DesiredHorizontalPodAutoscaler(endpoint)), &autoscalingv2.HorizontalPodAutoscaler{}},
		{nilIfNil(DesiredIngress(endpoint)), &networkingv1.Ingress{}},
	}
	for _, o := range optional {
		if o.desired != nil {
			if err := r.applyStep(ctx, o.desired); err != nil {
				return err
			}
			continue
		}
		o.empty.SetNamespace(endpoint.Namespace)
		o.empty.SetName(endpoint.Name)
		if err := deleteUnwanted(ctx, r.Client, r.cache(), o.empty, endpoint); err != nil {
			return err
		}
	}
	return nil
}

// applyHTTPRoute applies the endpoint's HTTPRoute, or deletes it once spec.httpRoute is removed.
func (r *WebhookEndpointReconciler) applyHTTPRoute(ctx context.Context, rec *endpointReconcile) error {
	route := DesiredHTTPRoute(rec.endpoint)
	if route == nil {
		return r.deleteHTTPRoute(ctx, rec.endpoint)
	}
	if _, err := applyIfChanged(ctx, r.Client, r.cache(), route); err != nil {
		if meta.IsNoMatchError(err) {
			return &stalledError{reason: fulfillmentv1alpha1.ReasonGatewayAPINotInstalled,
				message: "spec.httpRoute needs the Gateway API CRDs (gateway.networking.k8s.io), which are not installed"}
		}
		return &applyError{err: err}
	}
	r.noGatewayAPI.Store(false)
	return nil
}

// scheduleRechecks marks this generation's spec applied and asks to read the pods again when they are
// expected to change (podsRecheck).
func (r *WebhookEndpointReconciler) scheduleRechecks(_ context.Context, rec *endpointReconcile) error {
	rec.facts.Applied = true
	rec.requeue(podsRecheck(rec.endpoint, &rec.facts, rec.retirement))
	return nil
}
