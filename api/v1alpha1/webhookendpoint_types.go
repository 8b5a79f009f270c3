package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Dialect is the request and answer format of the calling platform.
// +kubebuilder:validation:Enum=DialogflowES;DialogflowCX;Rasa;Generic
type Dialect string

const (
	// DialectDialogflowES is the Dialogflow ES v2 WebhookRequest / WebhookResponse format.
	DialectDialogflowES Dialect = "DialogflowES"
	// DialectDialogflowCX is the Dialogflow CX v3 WebhookRequest / WebhookResponse format.
	DialectDialogflowCX Dialect = "DialogflowCX"
	// DialectRasa is the Rasa action server format (next_action, tracker -> events, responses).
	DialectRasa Dialect = "Rasa"
	// DialectGeneric is a JSON (or form, or XML) event {event, intent, session, timestamp, data...}.
	DialectGeneric Dialect = "Generic"
)

// HTTPMethod is an HTTP method a webhook accepts. HEAD and OPTIONS are not among them: the server answers OPTIONS
// itself (204 with Allow), and a HEAD would run routes and their actions for an answer nobody reads.
// +kubebuilder:validation:Enum=GET;POST;PUT;PATCH;DELETE
type HTTPMethod string

// WebhookEndpointSpec says how a platform calls in: request format, authentication, TLS, deadline, idempotency,
// delivery and scaling.
//
// +kubebuilder:validation:XValidation:rule="has(self.auth.basic) || has(self.auth.bearer) || has(self.auth.hmac) || has(self.auth.oidc) || has(self.auth.oauth2) || (has(self.tls) && has(self.tls.clientAuth) && has(self.tls.clientAuth.mode) && self.tls.clientAuth.mode == 'Require') || (has(self.auth.allowUnauthenticated) && self.auth.allowUnauthenticated)",message="spec.auth needs at least one method (basic, bearer, hmac, oidc, oauth2, or tls.clientAuth.mode: Require); to accept unauthenticated requests on purpose, set auth.allowUnauthenticated: true",fieldPath=".auth"
// +kubebuilder:validation:XValidation:rule="!has(self.auth.hmac) || !(self.dialect in ['DialogflowES', 'DialogflowCX'])",message="spec.auth.hmac: Dialogflow never signs requests with HMAC; use basic, bearer, oidc or tls.clientAuth for the Dialogflow dialects",fieldPath=".auth.hmac"
// +kubebuilder:validation:XValidation:rule="!has(self.timeout) || self.dialect != 'DialogflowES' || duration(self.timeout) <= duration('10s')",message="spec.timeout: Dialogflow ES waits at most 5s for a webhook (10s for Actions on Google); use at most 10s",fieldPath=".timeout"
// +kubebuilder:validation:XValidation:rule="self.dialect == 'Generic' || !has(self.methods) || self.methods.all(m, m == 'POST')",message="spec.methods: only the Generic dialect accepts GET, PUT, PATCH or DELETE; Dialogflow and Rasa always POST, so set methods: [POST] or leave it out",fieldPath=".methods"
// +kubebuilder:validation:XValidation:rule="!has(self.delivery) || !has(self.delivery.mode) || self.delivery.mode == 'Sync' || self.dialect == 'Generic'",message="spec.delivery.mode: Async is only for Generic event webhooks; chatbot dialects need the answer in the response, use Sync",fieldPath=".delivery.mode"
// +kubebuilder:validation:XValidation:rule="!(has(self.idempotency) && has(self.idempotency.store) && self.idempotency.store == 'Redis') || has(self.redis)",message="spec.redis is required when spec.idempotency.store is Redis",fieldPath=".idempotency.store"
// +kubebuilder:validation:XValidation:rule="!(has(self.delivery) && has(self.delivery.queue) && self.delivery.queue == 'Redis') || has(self.redis)",message="spec.redis is required when spec.delivery.queue is Redis",fieldPath=".delivery.queue"
// +kubebuilder:validation:XValidation:rule="!has(self.autoscaling) || !has(self.delivery) || !has(self.delivery.mode) || self.delivery.mode != 'Async' || (has(self.delivery.queue) && self.delivery.queue == 'Redis')",message="spec.autoscaling cannot scale an Async endpoint with a Local queue: each pod keeps its events on its own volume, and the operator retires a pod only once its queue is empty, which an autoscaler does not wait for; use delivery.queue: Redis (shared by every replica) to autoscale, or set spec.replicas",fieldPath=".autoscaling"
// +kubebuilder:validation:XValidation:rule="!(has(oldSelf.delivery) && has(oldSelf.delivery.mode) && oldSelf.delivery.mode == 'Async' && (!has(oldSelf.delivery.queue) || oldSelf.delivery.queue == 'Local')) || (has(self.delivery) && has(self.delivery.mode) && self.delivery.mode == 'Async' && (!has(self.delivery.queue) || self.delivery.queue == 'Local'))",message="spec.delivery: an Async endpoint with a Local queue keeps it: its pods' volumes hold events it acknowledged, which only that queue delivers. To change the delivery, create another endpoint, move the senders to it, and delete this one once kubectl get whe -o wide shows nothing queued",fieldPath=".delivery"
// +kubebuilder:validation:XValidation:rule="!has(self.httpRoute) || !has(self.ingress)",message="spec.ingress and spec.httpRoute are alternatives: expose the endpoint with one of them",fieldPath=".httpRoute"
// +kubebuilder:validation:XValidation:rule="!has(self.gatewayRef) || !(has(self.replicas) || has(self.autoscaling) || has(self.resources) || has(self.podTemplate) || (has(self.tls) && (self.tls.mode != 'Disabled' || has(self.tls.clientAuth))) || (has(self.service) && (has(self.service.type) && self.service.type != 'ClusterIP' || has(self.service.port) || has(self.service.annotations))) || has(self.ingress) || has(self.httpRoute) || has(self.observability))",message="spec.gatewayRef: the gateway's pods serve this endpoint, so replicas, autoscaling, resources, podTemplate, tls, service, ingress, httpRoute and observability are set on the WebhookGateway; remove them here, or remove gatewayRef to give the endpoint pods of its own",fieldPath=".gatewayRef"
// +kubebuilder:validation:XValidation:rule="!has(self.gatewayRef) || !has(self.delivery) || !has(self.delivery.mode) || self.delivery.mode != 'Async' || (has(self.delivery.queue) && self.delivery.queue == 'Redis')",message="spec.gatewayRef: an Async endpoint on a gateway needs delivery.queue: Redis; a Local queue lives on the volumes of an endpoint's own pods",fieldPath=".gatewayRef"
type WebhookEndpointSpec struct {
	// dialect is the request and answer format of the calling platform: DialogflowES, DialogflowCX, Rasa or
	// Generic (JSON events).
	// +required
	Dialect Dialect `json:"dialect"`

	// path is the HTTP path the platform calls: a slash, then letters, digits and -._~!$&'()*+,;=:@/, with no
	// %-escapes, no empty segment (//) and no . or .. segment. An Ingress refuses such paths (and a %2F), and the
	// server and a proxy would not agree on what they match.
	// +optional
	// +kubebuilder:default="/webhook"
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^/[A-Za-z0-9._~!$&\\'()*+,;=:@/-]*$') && !self.contains('//') && !self.contains('/./') && !self.contains('/../') && !self.endsWith('/.') && !self.endsWith('/..')",message="spec.path must be a slash followed by letters, digits and -._~!$&'()*+,;=:@/ without %-escapes, without an empty segment (//) and without . or .. segments (/./, /../, or a trailing /. or /..), e.g. /webhook or /bots/bank-v2: an Ingress refuses the others, and a proxy and the server would not match them alike"
	// +kubebuilder:validation:XValidation:rule="!(self in ['/healthz', '/readyz', '/metrics'])",message="spec.path must not be /healthz, /readyz or /metrics: those paths are reserved for the server"
	Path string `json:"path,omitempty"`

	// methods are the HTTP methods accepted on path: POST, GET, PUT, PATCH, DELETE. All but POST are for Generic
	// endpoints only. A Generic request without a body reads its event from the query string; with a body, query
	// fields fill in what the body does not set (the body wins), except on an endpoint with auth.hmac, whose
	// signature covers the body only: there the query is only request.query. Routes see the method as
	// request.method. Another method is answered 405 with Allow; OPTIONS is answered 204 with Allow.
	// +optional
	// +kubebuilder:default={POST}
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=5
	Methods []HTTPMethod `json:"methods,omitempty"`

	// timeout is the fulfillment deadline: before it passes the server answers, with the fallback if the action is
	// not done. When unset: 4.5s for the Dialogflow dialects (which wait 5s) and 10s otherwise. At most 30s.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('100ms') && duration(self) <= duration('30s')",message="spec.timeout must be between 100ms and 30s"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// fallback is answered when no route matches (Rasa answers 404 unknown action instead) and, in the Dialogflow
	// and Rasa dialects, when an action fails or the deadline is near. A Generic action failure is answered 502
	// (422 when the event lacks what the route reads), so that the sender retries, unless the route has a fallback.
	// +optional
	Fallback *Fallback `json:"fallback,omitempty"`

	// environmentFrom is a CEL expression over request that gives request.environment, the environment routes
	// select with match.environments, for example `request.headers["x-env"]` or `request.body.mode`. It
	// overrides the dialect's own: Dialogflow's session path (.../environments/E/..., else "draft"), a Stripe
	// event's livemode ("live" or "test"). A result that is not a string, or an error, gives "".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	EnvironmentFrom string `json:"environmentFrom,omitempty"`

	// versionFrom is a CEL expression over request that gives request.version, the payload version routes
	// select with match.versions, for example `request.body.meta.schema`. It overrides the dialect's own:
	// Dialogflow ES's API ("v2", or "v2beta1" for a request with v2beta1-only fields; '"v2beta1"' declares an
	// agent with beta features on), Rasa's version, a Generic event's api_version or version. A result that is
	// not a string, or an error, gives "".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	VersionFrom string `json:"versionFrom,omitempty"`

	// auth says how callers authenticate. Every configured method must pass. It may be left out only when
	// tls.clientAuth.mode is Require (mutual TLS as the only method).
	// +optional
	// +kubebuilder:default={}
	Auth EndpointAuth `json:"auth"`

	// tls configures HTTPS on the server and, with clientAuth, mutual TLS.
	// +optional
	// +kubebuilder:default={mode: Disabled}
	TLS *EndpointTLS `json:"tls,omitempty"`

	// idempotency processes a request once and answers duplicates with the stored answer. It is on when left out
	// ({enabled: true, ttl: 24h, store: Memory, failurePolicy: Fail}): platforms send a webhook again when its
	// answer is late or lost, and the retry must not run the action twice. Set enabled: false to process every
	// request, duplicates included.
	// +optional
	// +kubebuilder:default={enabled: true}
	Idempotency *Idempotency `json:"idempotency,omitempty"`

	// delivery says whether a request is processed before answering (Sync) or queued durably and answered 202
	// (Async, Generic events only).
	// +optional
	// +kubebuilder:default={mode: Sync}
	Delivery *Delivery `json:"delivery,omitempty"`

	// redis is the Redis server shared by every replica for the Redis idempotency store and queue.
	// +optional
	Redis *RedisConnection `json:"redis,omitempty"`

	// limits protect the server from oversized and excessive requests.
	// +optional
	// +kubebuilder:default={}
	Limits *Limits `json:"limits,omitempty"`

	// observability configures the fulfillment pods' telemetry beyond their metrics and logs: tracing.
	// +optional
	Observability *Observability `json:"observability,omitempty"`

	// replicas is the number of fulfillment pods when autoscaling is not set (default 2).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`

	// autoscaling, when set, runs a HorizontalPodAutoscaler on CPU utilization instead of fixed replicas.
	// +optional
	Autoscaling *Autoscaling `json:"autoscaling,omitempty"`

	// resources of the webhookserver container. When unset, small requests and a memory limit are used.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// podTemplate adds scheduling and metadata to the fulfillment pods.
	// +optional
	PodTemplate *PodTemplateOverrides `json:"podTemplate,omitempty"`

	// service configures the Service in front of the fulfillment pods.
	// +optional
	// +kubebuilder:default={}
	Service *ServiceSettings `json:"service,omitempty"`

	// ingress, when set, exposes the endpoint through an Ingress.
	// +optional
	Ingress *IngressSettings `json:"ingress,omitempty"`

	// httpRoute, when set, exposes the endpoint through a Gateway API HTTPRoute.
	// +optional
	HTTPRoute *HTTPRouteSettings `json:"httpRoute,omitempty"`

	// exposure states what the operator cannot see about the way in from outside the cluster.
	// +optional
	Exposure *Exposure `json:"exposure,omitempty"`

	// suspend scales the fulfillment pods to zero and stops the operator from changing anything else. On a
	// gateway, the endpoint is left out of the gateway's configuration.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// gatewayRef names a WebhookGateway in the same namespace whose pods serve this endpoint on its path,
	// instead of pods of its own. The gateway's pods, Service, exposure and TLS are then the gateway's, so the
	// fields about them (replicas, autoscaling, resources, podTemplate, tls, service, ingress, httpRoute,
	// observability) are refused here; a Local queue too (use delivery.queue: Redis). Moving an endpoint in or
	// out is without a gap: its own pods serve until the gateway's serve it, and back (docs/gateways.md).
	// +optional
	GatewayRef *LocalObjectReference `json:"gatewayRef,omitempty"`
}

// Exposure states what the operator cannot see about the way in from outside the cluster.
type Exposure struct {
	// plaintextAcknowledged says that requests from outside the cluster are encrypted on a part of the way the
	// operator does not manage (a cloud load balancer or CDN that ends TLS in front of the Ingress, Gateway or
	// Service), so that an Ingress, HTTPRoute, LoadBalancer or NodePort Service without TLS is not reported
	// with the InsecureExposure condition.
	// +optional
	PlaintextAcknowledged bool `json:"plaintextAcknowledged,omitempty"`
}

// EndpointAuth lists the authentication methods of an endpoint. Every configured method must pass.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.allowUnauthenticated) && self.allowUnauthenticated) || !(has(self.basic) || has(self.bearer) || has(self.hmac) || has(self.oidc) || has(self.oauth2))",message="spec.auth.allowUnauthenticated: true cannot be combined with an auth method; remove it or the methods",fieldPath=".allowUnauthenticated"
type EndpointAuth struct {
	// basic is HTTP basic authentication with the `username` and `password` keys of a Secret.
	// +optional
	Basic *BasicAuth `json:"basic,omitempty"`

	// bearer is a token compared in constant time with a header.
	// +optional
	Bearer *BearerAuth `json:"bearer,omitempty"`

	// hmac checks a signature of the body made with a shared key.
	// +optional
	HMAC *HMACAuth `json:"hmac,omitempty"`

	// oidc checks an OpenID Connect ID token in the Authorization header (for example the Dialogflow CX service
	// agent token).
	// +optional
	OIDC *OIDCAuth `json:"oidc,omitempty"`

	// oauth2 checks an OAuth 2.0 access token in the Authorization header by asking the authorization server
	// about it (token introspection, RFC 7662), for platforms that send opaque tokens.
	// +optional
	OAuth2 *EndpointOAuth2 `json:"oauth2,omitempty"`

	// ipAllowlist admits only clients from these networks. It narrows the other methods; it is not a method on
	// its own.
	// +optional
	IPAllowlist *IPAllowlist `json:"ipAllowlist,omitempty"`

	// allowUnauthenticated must be true to run an endpoint without any authentication method, so that an open
	// endpoint is a decision and never an accident.
	// +optional
	AllowUnauthenticated bool `json:"allowUnauthenticated,omitempty"`
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	// secretRef names a Secret with the keys `username` and `password`.
	// +required
	SecretRef LocalObjectReference `json:"secretRef"`
}

// BearerAuth is a token sent in a header.
type BearerAuth struct {
	// secretRef selects the Secret key that holds the token.
	// +required
	SecretRef SecretKeySelector `json:"secretRef"`

	// header carries the token. `Authorization` (the default) expects `Bearer <token>`; any other header is
	// compared with the raw token.
	// +optional
	// +kubebuilder:default=Authorization
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`
	Header string `json:"header,omitempty"`
}

// HMACScheme is a body signature scheme.
// +kubebuilder:validation:Enum=StandardWebhooks;GitHub;Stripe;Slack;Shopify;Generic
type HMACScheme string

const (
	HMACSchemeStandardWebhooks HMACScheme = "StandardWebhooks"
	HMACSchemeGitHub           HMACScheme = "GitHub"
	HMACSchemeStripe           HMACScheme = "Stripe"
	HMACSchemeSlack            HMACScheme = "Slack"
	HMACSchemeShopify          HMACScheme = "Shopify"
	HMACSchemeGeneric          HMACScheme = "Generic"
)

// HMACAuth checks a signature of the request body.
//
// +kubebuilder:validation:XValidation:rule="(self.scheme == 'Generic') == has(self.generic)",message="spec.auth.hmac.generic is required when scheme is Generic and not allowed for the other schemes",fieldPath=".generic"
// +kubebuilder:validation:XValidation:rule="!has(self.secretRef) || !has(self.rotation)",message="spec.auth.hmac.rotation applies only to the key the operator generates; remove secretRef to let the operator generate and rotate the key, or remove rotation",fieldPath=".rotation"
type HMACAuth struct {
	// scheme is the signature format: StandardWebhooks (webhook-signature, also Svix), GitHub
	// (X-Hub-Signature-256), Stripe (Stripe-Signature), Slack (X-Slack-Signature), Shopify
	// (X-Shopify-Hmac-Sha256) or Generic.
	// +required
	Scheme HMACScheme `json:"scheme"`

	// generic describes the signature when scheme is Generic.
	// +optional
	Generic *GenericHMAC `json:"generic,omitempty"`

	// secretRef names a Secret whose key `secret` holds the signing key and, during a rotation, key `previous`
	// the key before it. When omitted the operator generates the Secret `<endpoint>-hmac` and rotates it per
	// rotation.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// rotation of the generated key.
	// +optional
	Rotation *KeyRotation `json:"rotation,omitempty"`

	// tolerance is the replay window for schemes that sign a timestamp (StandardWebhooks, Stripe, Slack): an
	// older or future timestamp is refused.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('1h')",message="spec.auth.hmac.tolerance must be between 1s and 1h"
	Tolerance *metav1.Duration `json:"tolerance,omitempty"`
}

// HMACAlgorithm is the hash of a Generic HMAC.
// +kubebuilder:validation:Enum=SHA256;SHA512;SHA1
type HMACAlgorithm string

// SignatureEncoding is how a Generic HMAC is written in its header.
// +kubebuilder:validation:Enum=Hex;Base64
type SignatureEncoding string

// GenericHMAC is an HMAC of the raw body in a header of your choice.
type GenericHMAC struct {
	// header carries the signature.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`
	Header string `json:"header"`

	// algorithm is the hash: SHA256 (default), SHA512 or SHA1 (legacy senders only).
	// +optional
	// +kubebuilder:default=SHA256
	Algorithm HMACAlgorithm `json:"algorithm,omitempty"`

	// encoding of the signature: Hex (default) or Base64.
	// +optional
	// +kubebuilder:default=Hex
	Encoding SignatureEncoding `json:"encoding,omitempty"`

	// prefix written before the signature, for example `sha256=`.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Prefix string `json:"prefix,omitempty"`
}

// KeyRotation rotates the generated HMAC key.
//
// +kubebuilder:validation:XValidation:rule="duration(self.gracePeriod) < duration(self.interval)",message="spec.auth.hmac.rotation.gracePeriod must be shorter than interval, so at most two keys are valid at once",fieldPath=".gracePeriod"
type KeyRotation struct {
	// interval between two rotations, at least 1h.
	// +required
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h')",message="spec.auth.hmac.rotation.interval must be at least 1h"
	Interval metav1.Duration `json:"interval"`

	// gracePeriod during which the previous key stays valid after a rotation, so that senders can switch.
	// +optional
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	GracePeriod metav1.Duration `json:"gracePeriod,omitempty"`
}

// OIDCAuth checks an OpenID Connect ID token.
type OIDCAuth struct {
	// issuer is the https URL of the token issuer; its keys are found by OpenID discovery.
	// +required
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^https://[^\s]+$`
	Issuer string `json:"issuer"`

	// audiences accepted in the token's `aud` claim; at least one must match.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	Audiences []string `json:"audiences"`

	// allowedSubjects, when set, admits only tokens whose `sub` or `email` claim is listed.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	AllowedSubjects []string `json:"allowedSubjects,omitempty"`

	// requiredScopes, when set, admits only tokens that grant every listed scope, for JWT access tokens (RFC
	// 9068): the `scope` claim (a space-separated string), or `scp` (a list, as some issuers write it). A token
	// without one of them is refused with 403 insufficient_scope.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:Pattern=`^[!#-\[\]-~]+$`
	RequiredScopes []string `json:"requiredScopes,omitempty"`
}

// EndpointOAuth2 checks OAuth 2.0 access tokens sent as `Authorization: Bearer <token>`.
type EndpointOAuth2 struct {
	// introspection asks the authorization server whether a token is active (RFC 7662).
	// +required
	Introspection TokenIntrospection `json:"introspection"`
}

// TokenIntrospection is an RFC 7662 introspection endpoint and what an active token must grant.
type TokenIntrospection struct {
	// url of the introspection endpoint. It must be https; plain http is accepted only to a loopback address
	// (localhost, 127.0.0.0/8, ::1), for an authorization server beside a standalone server. The token and the
	// client credentials are sent there.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^https://[^/?#]+([/?#].*)?$') || self.matches('^http://(localhost|127[.][0-9]+[.][0-9]+[.][0-9]+|[[]::1[]])(:[0-9]+)?([/?#].*)?$')",message="spec.auth.oauth2.introspection.url must be an https URL (http only to localhost, 127.0.0.0/8 or ::1): the token and the client secret travel in it"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@')",message="spec.auth.oauth2.introspection.url must not contain credentials: put the client ID and secret in the Secret of secretRef"
	URL string `json:"url"`

	// secretRef names a Secret with the keys `clientID` and `clientSecret`: the server's own client
	// credentials, sent to the introspection endpoint with HTTP basic authentication.
	// +required
	SecretRef LocalObjectReference `json:"secretRef"`

	// requiredScopes, when set, admits only tokens whose `scope` grants every listed scope; a token without one
	// of them is refused with 403 insufficient_scope.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:Pattern=`^[!#-\[\]-~]+$`
	RequiredScopes []string `json:"requiredScopes,omitempty"`

	// audience, when set, admits only tokens whose `aud` names it; another token is refused with 401
	// invalid_token.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Audience string `json:"audience,omitempty"`

	// cacheTTL is the longest an answer is reused for the same token, so that a revoked token is refused at the
	// latest this long after; an active answer is never reused past the token's `exp`, an inactive one at most
	// 10s. 0s asks the authorization server on every request.
	// +optional
	// +kubebuilder:default="60s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('1h')",message="spec.auth.oauth2.introspection.cacheTTL must be at most 1h: a revoked token is accepted for as long as its answer is reused"
	CacheTTL *metav1.Duration `json:"cacheTTL,omitempty"`
}

// IPAllowlist admits only clients from the listed networks.
type IPAllowlist struct {
	// cidrs admitted, for example 10.0.0.0/8 or 2001:db8::/32.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c))",message="spec.auth.ipAllowlist.cidrs must be CIDRs such as 10.0.0.0/8 or 2001:db8::/32"
	CIDRs []string `json:"cidrs"`

	// trustedProxies are the networks of proxies whose X-Forwarded-For header is believed. Without it the
	// client address is the TCP peer.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c))",message="spec.auth.ipAllowlist.trustedProxies must be CIDRs such as 10.0.0.0/8"
	TrustedProxies []string `json:"trustedProxies,omitempty"`
}

// TLSMode says where the serving certificate comes from.
// +kubebuilder:validation:Enum=Disabled;Secret;CertManager;SelfSigned
type TLSMode string

const (
	TLSModeDisabled    TLSMode = "Disabled"
	TLSModeSecret      TLSMode = "Secret"
	TLSModeCertManager TLSMode = "CertManager"
	TLSModeSelfSigned  TLSMode = "SelfSigned"
)

// EndpointTLS configures HTTPS and mutual TLS.
//
// +kubebuilder:validation:XValidation:rule="(self.mode == 'Secret') == has(self.secretName)",message="spec.tls.secretName is required when mode is Secret and not allowed for the other modes",fieldPath=".secretName"
// +kubebuilder:validation:XValidation:rule="(self.mode == 'CertManager') == has(self.issuerRef)",message="spec.tls.issuerRef is required when mode is CertManager and not allowed for the other modes",fieldPath=".issuerRef"
// +kubebuilder:validation:XValidation:rule="self.mode in ['CertManager', 'SelfSigned'] || !(has(self.dnsNames) || has(self.duration) || has(self.renewBefore))",message="spec.tls.dnsNames, duration and renewBefore apply only to modes CertManager and SelfSigned",fieldPath=".mode"
// +kubebuilder:validation:XValidation:rule="!has(self.duration) || !has(self.renewBefore) || duration(self.renewBefore) < duration(self.duration)",message="spec.tls.renewBefore must be shorter than duration",fieldPath=".renewBefore"
// +kubebuilder:validation:XValidation:rule="has(self.duration) || !has(self.renewBefore) || duration(self.renewBefore) < duration('2160h')",message="spec.tls.renewBefore must be shorter than the default duration of 2160h (90 days); set duration too for a longer one",fieldPath=".renewBefore"
// +kubebuilder:validation:XValidation:rule="self.mode != 'Disabled' || !has(self.clientAuth) || self.clientAuth.mode == 'None'",message="spec.tls.clientAuth needs TLS: set tls.mode to Secret, CertManager or SelfSigned",fieldPath=".clientAuth"
type EndpointTLS struct {
	// mode: Disabled (plain HTTP, for example behind an ingress that terminates TLS), Secret (your
	// kubernetes.io/tls Secret), CertManager (a cert-manager Certificate the operator creates) or SelfSigned (the
	// operator's own CA issues and renews the certificate).
	// +optional
	// +kubebuilder:default=Disabled
	Mode TLSMode `json:"mode,omitempty"`

	// secretName of a kubernetes.io/tls Secret with the serving certificate (mode Secret).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName,omitempty"`

	// issuerRef is the cert-manager issuer that signs the certificate (mode CertManager).
	// +optional
	IssuerRef *IssuerReference `json:"issuerRef,omitempty"`

	// dnsNames of the certificate. When unset, the DNS names of the endpoint's Service.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	DNSNames []string `json:"dnsNames,omitempty"`

	// duration of the certificate (default 90 days for CertManager and SelfSigned).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h')",message="spec.tls.duration must be at least 1h"
	Duration *metav1.Duration `json:"duration,omitempty"`

	// renewBefore is how long before expiry the certificate is renewed (default a third of duration).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5m')",message="spec.tls.renewBefore must be at least 5m"
	RenewBefore *metav1.Duration `json:"renewBefore,omitempty"`

	// clientAuth is mutual TLS: callers present a client certificate.
	// +optional
	ClientAuth *ClientAuth `json:"clientAuth,omitempty"`
}

// IssuerReference names a cert-manager issuer.
type IssuerReference struct {
	// name of the issuer.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// kind of the issuer: Issuer (default, same namespace), ClusterIssuer, or the kind of an external issuer.
	// +optional
	// +kubebuilder:default=Issuer
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Z][A-Za-z0-9]*$`
	Kind string `json:"kind,omitempty"`

	// group of the issuer (default cert-manager.io).
	// +optional
	// +kubebuilder:default=cert-manager.io
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group,omitempty"`
}

// ClientAuthMode says whether callers must present a client certificate.
// +kubebuilder:validation:Enum=None;Optional;Require
type ClientAuthMode string

const (
	ClientAuthNone     ClientAuthMode = "None"
	ClientAuthOptional ClientAuthMode = "Optional"
	ClientAuthRequire  ClientAuthMode = "Require"
)

// ClientAuth configures mutual TLS.
//
// +kubebuilder:validation:XValidation:rule="self.mode == 'None' || has(self.caSecretRef)",message="spec.tls.clientAuth.caSecretRef is required when mode is Optional or Require: it holds the CA bundle that client certificates are checked against",fieldPath=".caSecretRef"
type ClientAuth struct {
	// mode: None (default), Optional (a presented certificate must be valid) or Require.
	// +optional
	// +kubebuilder:default=None
	Mode ClientAuthMode `json:"mode,omitempty"`

	// caSecretRef selects the Secret key holding the PEM bundle of CAs that sign client certificates.
	// +optional
	CASecretRef *SecretKeySelector `json:"caSecretRef,omitempty"`

	// allowedSubjects, when set, admits only client certificates whose subject common name or a DNS or URI
	// subject alternative name is listed. With a public CA this matters more than the CA itself.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	AllowedSubjects []string `json:"allowedSubjects,omitempty"`
}

// IdempotencyStore keeps the answers of processed requests.
// +kubebuilder:validation:Enum=Memory;Redis
type IdempotencyStore string

const (
	IdempotencyStoreMemory IdempotencyStore = "Memory"
	IdempotencyStoreRedis  IdempotencyStore = "Redis"
)

// IdempotencyFailurePolicy is what happens when the idempotency store is unavailable.
// +kubebuilder:validation:Enum=Fail;Ignore
type IdempotencyFailurePolicy string

const (
	IdempotencyFailurePolicyFail   IdempotencyFailurePolicy = "Fail"
	IdempotencyFailurePolicyIgnore IdempotencyFailurePolicy = "Ignore"
)

// Idempotency processes a request once and replays its answer to duplicates.
type Idempotency struct {
	// enabled turns idempotency on (default true, also when idempotency is left out).
	// +optional
	// +kubebuilder:default=true
	Enabled bool `json:"enabled"`

	// ttl is how long an answer is kept for duplicates.
	// +optional
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('168h')",message="spec.idempotency.ttl must be between 1s and 168h (7 days)"
	TTL *metav1.Duration `json:"ttl,omitempty"`

	// store: Memory (per pod, bounded) or Redis (shared by every replica; needs spec.redis).
	// +optional
	// +kubebuilder:default=Memory
	Store IdempotencyStore `json:"store,omitempty"`

	// failurePolicy says what happens when the store cannot be reached (Redis down): Fail (default) answers 503,
	// so that the sender retries later and nothing is processed twice; Ignore processes the request without
	// idempotency, for bots where an answer matters more than a duplicate.
	// +optional
	// +kubebuilder:default=Fail
	FailurePolicy IdempotencyFailurePolicy `json:"failurePolicy,omitempty"`

	// key is a CEL expression giving the idempotency key. When unset, the dialect's delivery id: Standard
	// Webhooks `webhook-id`, Dialogflow ES `responseId`, Dialogflow CX `detectIntentResponseId` plus tag, Rasa
	// sender plus latest event time plus next_action, Generic `id`. A request without one is never taken for a
	// duplicate.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Key string `json:"key,omitempty"`
}

// DeliveryMode says when the caller gets its answer.
// +kubebuilder:validation:Enum=Sync;Async
type DeliveryMode string

const (
	DeliverySync  DeliveryMode = "Sync"
	DeliveryAsync DeliveryMode = "Async"
)

// QueueKind is the durable queue of Async delivery.
// +kubebuilder:validation:Enum=Local;Redis
type QueueKind string

const (
	QueueLocal QueueKind = "Local"
	QueueRedis QueueKind = "Redis"
)

// Delivery configures synchronous or queued processing.
//
// +kubebuilder:validation:XValidation:rule="self.mode == 'Async' || !(has(self.queue) || has(self.maxAttempts) || has(self.backoff) || has(self.storage))",message="spec.delivery.queue, maxAttempts, backoff and storage apply only when mode is Async",fieldPath=".mode"
// +kubebuilder:validation:XValidation:rule="!has(self.storage) || !has(self.queue) || self.queue == 'Local'",message="spec.delivery.storage is the volume of a Local queue; a Redis queue keeps its events in Redis",fieldPath=".storage"
type Delivery struct {
	// mode: Sync (default) answers after processing; Async answers 202 once the event is durably queued, then
	// processes it with retries and a dead-letter list.
	// +optional
	// +kubebuilder:default=Sync
	Mode DeliveryMode `json:"mode,omitempty"`

	// queue: Local or Redis. Default Local.
	// Local: each pod keeps its events in an on-disk store on a PersistentVolumeClaim of its own (the endpoint
	// runs as a StatefulSet), so a restarted, rescheduled or replaced pod finds them again; on a scale-down the
	// operator retires a pod only once it has delivered every event it holds. Redis: streams shared by every
	// replica (needs spec.redis); as durable as the Redis server's persistence.
	// What an acknowledged (202) event survives: a container restart (crash, OOM kill, SIGKILL), a pod deletion
	// (rollout, eviction, node drain) and a scale-down: both queues; the loss of a node: Redis, and Local with
	// network-attached volumes (not with node-local ones, condition QueueDurable); a Redis restart: only with appendonly yes and
	// appendfsync always (condition QueueDurable says what the Redis server keeps); the loss of the volume or of
	// Redis's data: neither.
	// +optional
	Queue QueueKind `json:"queue,omitempty"`

	// storage is the PersistentVolumeClaim of each pod's Local queue.
	// +optional
	Storage *QueueStorage `json:"storage,omitempty"`

	// maxAttempts before an event moves to the dead-letter list (default 10).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MaxAttempts *int32 `json:"maxAttempts,omitempty"`

	// backoff between attempts: exponential from initial to max, with jitter.
	// +optional
	Backoff *Backoff `json:"backoff,omitempty"`
}

// QueueStorage is the volume each pod of an Async Local endpoint keeps its queue on.
type QueueStorage struct {
	// size requested for each pod's volume (default 1Gi). Events are kept until delivered, dead letters until
	// replayed or purged; a full volume makes the endpoint answer 503, so that senders retry.
	// +optional
	// +kubebuilder:default="1Gi"
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).compareTo(quantity('64Mi')) >= 0",message="spec.delivery.storage.size must be at least 64Mi"
	Size *resource.Quantity `json:"size,omitempty"`

	// storageClassName of the volumes; the cluster's default class when unset. Use a class whose volumes
	// outlive a node (network-attached) for the queue to survive the loss of a node: on volumes of one node
	// (hostPath, local) the endpoint is QueueDurable=False with reason NodeLocalVolume.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	StorageClassName *string `json:"storageClassName,omitempty"`
}

// Backoff is an exponential backoff with jitter.
//
// +kubebuilder:validation:XValidation:rule="!has(self.initial) || !has(self.max) || duration(self.initial) <= duration(self.max)",message="backoff.initial must not be longer than backoff.max",fieldPath=".initial"
type Backoff struct {
	// initial delay before the first retry.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1ms')",message="backoff.initial must be at least 1ms"
	Initial *metav1.Duration `json:"initial,omitempty"`

	// max delay between two attempts.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('24h')",message="backoff.max must be at most 24h"
	Max *metav1.Duration `json:"max,omitempty"`
}

// RedisConnection says how to reach Redis.
//
// +kubebuilder:validation:XValidation:rule="has(self.url) != has(self.urlSecretRef)",message="spec.redis needs exactly one of url or urlSecretRef"
type RedisConnection struct {
	// url of the Redis server, redis://host:port/db or rediss:// for TLS, without a password.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^rediss?://[^\s]+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^rediss?://[^/@]*:[^/@]*@')",message="spec.redis.url must not contain a password: put the whole URL in a Secret and use urlSecretRef"
	URL string `json:"url,omitempty"`

	// urlSecretRef selects a Secret key holding the URL, for URLs that carry credentials.
	// +optional
	URLSecretRef *SecretKeySelector `json:"urlSecretRef,omitempty"`
}

// Limits protect the server.
//
// +kubebuilder:validation:XValidation:rule="!has(self.burst) || has(self.requestsPerSecond)",message="spec.limits.burst needs requestsPerSecond",fieldPath=".burst"
type Limits struct {
	// maxBodyBytes is the largest request body accepted; a larger one is refused with 413 before it is read.
	// +optional
	// +kubebuilder:default="1Mi"
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isInteger() && quantity(string(self)).compareTo(quantity('1Ki')) >= 0 && quantity(string(self)).compareTo(quantity('32Mi')) <= 0",message="spec.limits.maxBodyBytes must be a whole number of bytes between 1Ki and 32Mi"
	MaxBodyBytes *resource.Quantity `json:"maxBodyBytes,omitempty"`

	// requestsPerSecond per endpoint and pod; more are refused with 429 and Retry-After. Unset means no limit.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	RequestsPerSecond *int32 `json:"requestsPerSecond,omitempty"`

	// burst of requests allowed above requestsPerSecond (default requestsPerSecond).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	Burst *int32 `json:"burst,omitempty"`
}

// Autoscaling runs a HorizontalPodAutoscaler.
//
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="spec.autoscaling.minReplicas must not be greater than maxReplicas",fieldPath=".minReplicas"
type Autoscaling struct {
	// minReplicas (default 2).
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// maxReplicas.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MaxReplicas int32 `json:"maxReplicas"`

	// targetCPUUtilizationPercentage of the requested CPU (default 75).
	// +optional
	// +kubebuilder:default=75
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=100
	TargetCPUUtilizationPercentage *int32 `json:"targetCPUUtilizationPercentage,omitempty"`
}

// PodTemplateOverrides adds metadata and scheduling to the fulfillment pods.
type PodTemplateOverrides struct {
	// metadata adds labels and annotations to the pods.
	// +optional
	Metadata *PodMetadata `json:"metadata,omitempty"`

	// nodeSelector of the pods.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations of the pods.
	// +optional
	// +listType=atomic
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// affinity of the pods.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// priorityClassName of the pods.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	PriorityClassName string `json:"priorityClassName,omitempty"`

	// topologySpreadConstraints of the pods.
	// +optional
	// +listType=atomic
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
}

// PodMetadata is extra pod metadata.
type PodMetadata struct {
	// labels added to the pods. The operator's own selector labels cannot be overridden.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="!self.exists(k, k.startsWith('app.kubernetes.io/'))",message="spec.podTemplate.metadata.labels must not set app.kubernetes.io/ labels: the operator uses them to select the pods"
	Labels map[string]string `json:"labels,omitempty"`

	// annotations added to the pods.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ServiceType is the type of the endpoint's Service.
// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer
type ServiceType string

// ServiceSettings configures the Service.
type ServiceSettings struct {
	// type of the Service (default ClusterIP).
	// +optional
	// +kubebuilder:default=ClusterIP
	Type ServiceType `json:"type,omitempty"`

	// port of the Service (default 443 with TLS, 80 without).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`

	// annotations of the Service, for example for a cloud load balancer.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Annotations map[string]string `json:"annotations,omitempty"`
}

// IngressSettings exposes the endpoint through an Ingress.
type IngressSettings struct {
	// className of the ingress controller.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ClassName string `json:"className,omitempty"`

	// host name the Ingress serves, for example bot.example.com.
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$`
	Host string `json:"host"`

	// tlsSecretName, when set, is the kubernetes.io/tls Secret the ingress controller serves for host.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	TLSSecretName string `json:"tlsSecretName,omitempty"`

	// annotations of the Ingress.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Annotations map[string]string `json:"annotations,omitempty"`
}

// HTTPRouteSettings exposes the endpoint through a Gateway API HTTPRoute.
type HTTPRouteSettings struct {
	// parentRefs are the Gateways (or other parents) the route attaches to.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	ParentRefs []ParentReference `json:"parentRefs"`

	// hostnames the route matches.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Hostnames []string `json:"hostnames,omitempty"`
}

// ParentReference names a Gateway API parent, as in gateway.networking.k8s.io/v1 ParentReference.
type ParentReference struct {
	// group of the parent (default gateway.networking.k8s.io).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Group *string `json:"group,omitempty"`

	// kind of the parent (default Gateway).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Kind *string `json:"kind,omitempty"`

	// namespace of the parent (default the endpoint's namespace).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace *string `json:"namespace,omitempty"`

	// name of the parent.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// sectionName is a listener of the parent.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SectionName *string `json:"sectionName,omitempty"`

	// port of the parent listener.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port *int32 `json:"port,omitempty"`
}

// WebhookEndpointStatus is what the operator observed. It never holds a secret value.
type WebhookEndpointStatus struct {
	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Reconciling and Stalled (kstatus) plus detail conditions DeploymentAvailable,
	// SecretsReady, CertificateReady, RoutesAccepted and InsecureExposure (True when the endpoint is reachable
	// from outside the cluster without TLS on the way; it does not affect Ready).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// url of the endpoint inside the cluster.
	// +optional
	URL string `json:"url,omitempty"`

	// externalURL of the endpoint through the Ingress or HTTPRoute: the scheme and port are those of the Ingress
	// TLS or of the Gateway listener the route attaches to (HTTPS preferred); absent when they cannot be known
	// (no host, a parent Gateway that cannot be read).
	// +optional
	ExternalURL string `json:"externalURL,omitempty"`

	// hmacSecretName is the Secret holding the HMAC keys (generated or referenced).
	// +optional
	HMACSecretName string `json:"hmacSecretName,omitempty"`

	// routes counts the IntentRoutes of this endpoint.
	// +optional
	Routes *RouteCounts `json:"routes,omitempty"`

	// replicas of the fulfillment Deployment.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// readyReplicas of the fulfillment Deployment.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// configHash is the hash of the rendered configuration the pods run.
	// +optional
	ConfigHash string `json:"configHash,omitempty"`

	// certificate describes the serving certificate when TLS is on.
	// +optional
	Certificate *CertificateStatus `json:"certificate,omitempty"`

	// lastKeyRotationTime is when the generated HMAC key was last rotated.
	// +optional
	LastKeyRotationTime *metav1.Time `json:"lastKeyRotationTime,omitempty"`

	// queue counts the events of an Async endpoint's queue, as its pods report them.
	// +optional
	Queue *QueueStatus `json:"queue,omitempty"`
}

// QueueStatus counts the events an Async endpoint has acknowledged (202) and not yet delivered. With a Local
// queue it is the sum over the pods; with Redis, the shared queue's.
type QueueStatus struct {
	// waiting events: pending, in flight, or waiting for a retry.
	Waiting int64 `json:"waiting"`
	// deadLetters exhausted their attempts and wait for a replay or a purge (webhookserver deadletters).
	DeadLetters int64 `json:"deadLetters"`
	// oldestEventTime is when the oldest waiting event was received; absent when none waits.
	// +optional
	OldestEventTime *metav1.Time `json:"oldestEventTime,omitempty"`
}

// RouteCounts counts accepted and rejected IntentRoutes.
type RouteCounts struct {
	// accepted routes, served by the endpoint.
	Accepted int32 `json:"accepted"`
	// rejected routes, see their Accepted condition.
	Rejected int32 `json:"rejected"`
}

// CertificateStatus describes the serving certificate.
type CertificateStatus struct {
	// secretName is the kubernetes.io/tls Secret the pods serve.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// notAfter is when the certificate expires.
	// +optional
	NotAfter *metav1.Time `json:"notAfter,omitempty"`

	// caBundle is the PEM CA certificate callers must trust (tls.mode SelfSigned; also in the ConfigMap
	// <endpoint>-ca-bundle). Public, not a secret.
	// +optional
	CABundle string `json:"caBundle,omitempty"`
}

// WebhookEndpoint is how a chatbot or automation platform calls in: request format, authentication, TLS,
// deadline, idempotency, delivery and scaling. The operator runs a fulfillment Deployment for it (a StatefulSet,
// with a volume per pod, for Async delivery with a Local queue).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=whe,categories=fulfillment
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be at most 63 characters of lowercase letters, digits and '-', starting with a letter and ending with a letter or digit (a DNS-1035 label): it names the endpoint's Service and is the value of its app.kubernetes.io/instance label, both limited to 63 characters without dots; the Secrets and ConfigMaps named after it (<name>-config, -hmac, -tls, -ca, -ca-bundle) fit then too"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.gatewayRef) || self.spec.gatewayRef.name != self.metadata.name",message="spec.gatewayRef.name must not be the endpoint's own name: the endpoint's configuration and the gateway's are both the ConfigMap <name>-config, so neither could be written; rename the endpoint or use another gateway",fieldPath=".spec.gatewayRef.name"
// +kubebuilder:printcolumn:name="Dialect",type=string,JSONPath=`.spec.dialect`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="Routes",type=integer,JSONPath=`.status.routes.accepted`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Queued",type=integer,JSONPath=`.status.queue.waiting`,priority=1
// +kubebuilder:printcolumn:name="Oldest",type=date,JSONPath=`.status.queue.oldestEventTime`,priority=1
// +kubebuilder:printcolumn:name="Insecure",type=string,JSONPath=`.status.conditions[?(@.type=="InsecureExposure")].status`,priority=1
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
type WebhookEndpoint struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says how the platform calls in.
	// +required
	Spec WebhookEndpointSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status WebhookEndpointStatus `json:"status,omitempty"`
}

// WebhookEndpointList is a list of WebhookEndpoints.
//
// +kubebuilder:object:root=true
type WebhookEndpointList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WebhookEndpoint `json:"items"`
}
