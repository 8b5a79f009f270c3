package v1alpha1

// Condition types of a WebhookEndpoint. Ready, Reconciling and Stalled follow kstatus, so that `kubectl wait
// --for=condition=Ready`, Flux health checks and Argo CD read them; the others are details that roll up into
// Ready.
const (
	ConditionReady               = "Ready"
	ConditionReconciling         = "Reconciling"
	ConditionStalled             = "Stalled"
	ConditionDeploymentAvailable = "DeploymentAvailable"
	ConditionSecretsReady        = "SecretsReady"
	ConditionCertificateReady    = "CertificateReady"
	ConditionRoutesAccepted      = "RoutesAccepted"
	// ConditionInsecureExposure is True when the endpoint is reachable from outside the cluster (Ingress,
	// HTTPRoute, LoadBalancer or NodePort Service) with no TLS on the way. It has negative polarity and does not
	// roll up into Ready: TLS may end at a load balancer the operator cannot see
	// (spec.exposure.plaintextAcknowledged).
	ConditionInsecureExposure = "InsecureExposure"
	// ConditionQueueDurable says, for an Async endpoint, whether every event it acknowledges (202) survives a
	// crash of the queue's store, as its pods report it: True for a Local queue (fsynced before the 202) and for
	// Redis with appendonly yes and appendfsync always; False, with Redis's settings in the reason (EverySecond,
	// OSFlush, Snapshots, None), when a Redis crash or restart can lose acknowledged events, or Evicts, when a
	// full Redis deletes keys (maxmemory with an allkeys-* policy), or NodeLocalVolume, when a Local queue's
	// volumes live on one node only (hostPath, local, a hostname affinity); Unknown when the pods could not read
	// the settings. It does not roll up into Ready: the Redis server is not the operator's.
	ConditionQueueDurable = "QueueDurable"
)

// Condition types of an IntentRoute. Accepted and ResolvedRefs are the decision, as the Gateway API's routes
// have them; the route also has Ready (both True) and Stalled (rejected: only a change of the route, its
// endpoint or a Secret can help), the kstatus conditions that `kubectl wait` and Flux read.
const (
	ConditionAccepted     = "Accepted"
	ConditionResolvedRefs = "ResolvedRefs"
)

// Reasons of the IntentRoute Accepted condition.
const (
	ReasonAccepted          = "Accepted"
	ReasonEndpointNotFound  = "EndpointNotFound"
	ReasonInvalidExpression = "InvalidExpression"
	ReasonConflict          = "Conflict"
	ReasonInvalidTarget     = "InvalidTarget"
	// ReasonConfigurationTooLarge: the route is valid, but the endpoint's rendered configuration with it would
	// exceed what a ConfigMap holds (1 MiB) after the routes before it in the server's order.
	ReasonConfigurationTooLarge = "ConfigurationTooLarge"
)

// Reason of an IntentRoute rejected without a reason of its own: AcceptRoute always gives one of the reasons
// above; only a zero Acceptance gets this one.
const ReasonRejected = "Rejected"

// Reasons of the IntentRoute ResolvedRefs condition, and of the WebhookEndpoint SecretsReady condition when a
// referenced Secret cannot be used.
const (
	// ReasonRefsResolved: every Secret key the route reads exists.
	ReasonRefsResolved = "ResolvedRefs"
	// ReasonSecretNotFound: a referenced Secret, or its key, does not exist. Also a reason of the endpoint's
	// SecretsReady, Ready and Reconciling conditions.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonRefNotPermitted: a referenced Secret lacks the fulfillment.dev/reference label while the
	// operator requires it (the Gateway API's reason for a reference its policy does not allow). Also a reason
	// of the endpoint's SecretsReady, Ready and Stalled conditions.
	ReasonRefNotPermitted = "RefNotPermitted"
	// ReasonSecretKeyMissing: the Secret exists without a key the server reads.
	ReasonSecretKeyMissing = "SecretKeyMissing"
	// ReasonSecretKeyInvalid: the key exists, but its value is not in the format the server needs (empty
	// credential, malformed HMAC key, not a Redis URL, no PEM certificate, a line break in a header value).
	ReasonSecretKeyInvalid = "SecretKeyInvalid"
	// ReasonConfigMapNotFound: a ConfigMap a route reads (a CA bundle), or its key, does not exist.
	ReasonConfigMapNotFound = "ConfigMapNotFound"
	// ReasonConfigMapKeyInvalid: the ConfigMap key exists, but holds no valid PEM certificate.
	ReasonConfigMapKeyInvalid = "ConfigMapKeyInvalid"
)

// Reasons of the WebhookEndpoint conditions. Ready, and Reconciling or Stalled when present, carry the reason
// and message of the check that decided them, so `kubectl get whe -o wide` says what is wrong.
const (
	// ReasonAvailable: every desired replica runs the current pod template and is available.
	ReasonAvailable = "Available"
	// ReasonDeploymentNotCreated: the Deployment does not exist yet.
	ReasonDeploymentNotCreated = "DeploymentNotCreated"
	// ReasonRollingOut: the Deployment is rolling out a new pod template.
	ReasonRollingOut = "RollingOut"
	// ReasonReplicasUnavailable: the pods run the current template but not all of them are available yet.
	ReasonReplicasUnavailable = "ReplicasUnavailable"
	// ReasonProgressDeadlineExceeded: the Deployment made no progress within its deadline (kstatus calls such a
	// Deployment Failed).
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	// ReasonSuspended: spec.suspend is true.
	ReasonSuspended = "Suspended"
	// ReasonScaledToZero: spec.replicas is 0.
	ReasonScaledToZero = "ScaledToZero"
	// ReasonQueueDraining: a scale-down (or suspend) waits for the pods it retires to deliver their queued events.
	ReasonQueueDraining = "QueueDraining"
	// ReasonSecretsFound: every referenced Secret exists with the keys the server reads, in its format.
	ReasonSecretsFound = "SecretsFound"
	// ReasonCertificateValid, ReasonCertificateNotReady, ReasonCertificateExpired: the serving certificate.
	ReasonCertificateValid    = "CertificateValid"
	ReasonCertificateNotReady = "CertificateNotReady"
	ReasonCertificateExpired  = "CertificateExpired"
	// ReasonCertManagerNotInstalled: spec.tls.mode is CertManager but cert-manager's CRDs are not installed.
	ReasonCertManagerNotInstalled = "CertManagerNotInstalled"
	// ReasonInvalidTLSMode: spec.tls.mode is not a mode the operator knows.
	ReasonInvalidTLSMode = "InvalidTLSMode"
	// ReasonCertificateSecretInvalid: the TLS Secret does not hold a usable certificate and key.
	ReasonCertificateSecretInvalid = "CertificateSecretInvalid"
	// ReasonRoutesAccepted, ReasonNoRoutes, ReasonRoutesRejected: the RoutesAccepted detail.
	ReasonRoutesAccepted = "RoutesAccepted"
	ReasonNoRoutes       = "NoRoutes"
	ReasonRoutesRejected = "RoutesRejected"
	// ReasonStalled replaces a stall reason that is not a valid condition reason.
	ReasonStalled = "Stalled"
	// ReasonObjectConflict: an object with one of the endpoint's names exists and is not the endpoint's; the
	// operator leaves it untouched until the user renames one of them or deletes the object.
	ReasonObjectConflict = "ObjectConflict"
	// ReasonInvalidConfiguration: the endpoint's configuration could not be rendered.
	ReasonInvalidConfiguration = "InvalidConfiguration"
	// ReasonGatewayAPINotInstalled: spec.httpRoute is set but the Gateway API CRDs are not installed.
	ReasonGatewayAPINotInstalled = "GatewayAPINotInstalled"
	// ReasonApplyFailed: the API server refused to apply one of the endpoint's objects (an admission webhook or
	// policy, a quota, a schema); the message is the API server's.
	ReasonApplyFailed = "ApplyFailed"
	// ReasonReconcileFailed: another step of the reconcile failed (the message says which); retried.
	ReasonReconcileFailed = "ReconcileFailed"
	// ReasonReadFailed: what a condition describes could not be read (a transient API error); the condition is
	// Unknown, never a guess.
	ReasonReadFailed = "ReadFailed"
)

// Reasons of Ready while the operator confirms that the pods serve the configuration it rendered.
const (
	// ReasonConfigurationLoading: some ready pods still serve an earlier configuration (the kubelet updates a
	// mounted ConfigMap after a delay, and the server reloads soon after).
	ReasonConfigurationLoading = "ConfigurationLoading"
	// ReasonConfigurationRefused: a pod refused the configuration, or the Secrets it reads, and keeps serving
	// the previous one.
	ReasonConfigurationRefused = "ConfigurationRefused"
	// ReasonConfigurationUnconfirmed: a pod's report could not be read (GET /statusz on its metrics port).
	ReasonConfigurationUnconfirmed = "ConfigurationUnconfirmed"
)

// Reasons of the InsecureExposure condition.
const (
	// ReasonPlaintextExposure: a way in from outside the cluster carries plain HTTP.
	ReasonPlaintextExposure = "PlaintextExposure"
	// ReasonNotExposed: only a ClusterIP Service reaches the endpoint.
	ReasonNotExposed = "NotExposed"
	// ReasonEncrypted: every way in from outside the cluster is HTTPS.
	ReasonEncrypted = "Encrypted"
	// ReasonPlaintextAcknowledged: spec.exposure.plaintextAcknowledged is true.
	ReasonPlaintextAcknowledged = "PlaintextAcknowledged"
	// ReasonGatewayUnknown: a Gateway the HTTPRoute attaches to could not be read, so its listeners are unknown.
	ReasonGatewayUnknown = "GatewayUnknown"
)

// ReasonEventsAtRisk is the reason of the Warning event recorded when an endpoint's queue can lose acknowledged
// events (QueueDurable turned False).
const ReasonEventsAtRisk = "EventsAtRisk"

// Reasons of a WebhookEndpoint served by a WebhookGateway (spec.gatewayRef).
const (
	// ReasonGatewayNotFound: the WebhookGateway the endpoint names does not exist.
	ReasonGatewayNotFound = "GatewayNotFound"
	// ReasonPathConflict: an older endpoint of the same gateway has the endpoint's path.
	ReasonPathConflict = "PathConflict"
	// ReasonGatewayFull: the gateway's configuration would exceed what a ConfigMap holds with the endpoint.
	ReasonGatewayFull = "GatewayFull"
	// ReasonGatewayLoading: the gateway's pods do not serve the endpoint's current configuration yet.
	ReasonGatewayLoading = "GatewayLoading"
	// ReasonGatewayServing: the gateway's pods serve the endpoint's current configuration.
	ReasonGatewayServing = "GatewayServing"
)
