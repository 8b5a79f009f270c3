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
	// OSFlush, Snapshots, None), when a Redis crash or restart can lose acknowledged events; Unknown when the pods
	// could not read the settings. It does not roll up into Ready: the Redis server is not the operator's.
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
