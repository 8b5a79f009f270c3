package v1alpha1_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// validEndpoint and validRoute are the smallest valid objects; each table entry changes them with a JSON merge
// patch (written in YAML, null deletes a field) so that it breaks exactly one rule.
const validEndpoint = `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata:
  generateName: bot-
spec:
  dialect: Generic
  auth:
    bearer:
      secretRef: {name: bot-token, key: token}
`

const validGateway = `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookGateway
metadata:
  generateName: shared-
`

const validRoute = `
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata:
  generateName: route-
spec:
  endpointRef: {name: bot}
  match:
    intents: [Welcome]
  respond:
    text: Hello
`

// patched returns base with the YAML merge patch applied.
func patched(base, patch string) *unstructured.Unstructured {
	GinkgoHelper()
	baseJSON, err := yaml.YAMLToJSON([]byte(base))
	Expect(err).NotTo(HaveOccurred())
	patchJSON, err := yaml.YAMLToJSON([]byte(patch))
	Expect(err).NotTo(HaveOccurred())
	merged, err := jsonpatch.MergePatch(baseJSON, patchJSON)
	Expect(err).NotTo(HaveOccurred(), "invalid patch %s", patch)
	obj := &unstructured.Unstructured{}
	Expect(obj.UnmarshalJSON(merged)).To(Succeed())
	return obj
}

// createIn creates obj in namespace and returns the API server's error.
func createIn(namespace string, obj *unstructured.Unstructured) error {
	obj.SetNamespace(namespace)
	return k8sClient.Create(ctx, obj)
}

// newNamespace creates a namespace of the spec's own and deletes it when the spec ends, so that no spec sees
// another's objects.
func newNamespace(prefix string) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	DeferCleanup(func(cleanup SpecContext) {
		Expect(client.IgnoreNotFound(k8sClient.Delete(cleanup, ns))).To(Succeed())
	})
	return ns.Name
}

var _ = Describe("Admission", func() {
	var namespace string
	BeforeEach(func() { namespace = newNamespace("admission") })

	It("accepts the smallest valid objects, so that every refusal below is caused by its own patch", func() {
		Expect(createIn(namespace, patched(validEndpoint, `{}`))).To(Succeed())
		Expect(createIn(namespace, patched(validRoute, `{}`))).To(Succeed())
	})

	// Each entry breaks one rule; the refusal must name the field and say what is allowed.
	refused := func(base, patch string, wantInMessage ...string) {
		err := createIn(namespace, patched(base, patch))
		Expect(err).To(HaveOccurred(), "the API server accepted an invalid object")
		GinkgoWriter.Println(err.Error())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
		for _, want := range wantInMessage {
			Expect(err.Error()).To(ContainSubstring(want))
		}
	}

	DescribeTable("refuses an invalid WebhookEndpoint",
		func(patch string, wantInMessage ...string) { refused(validEndpoint, patch, wantInMessage...) },
		Entry("no dialect", `spec: {dialect: null}`,
			`spec.dialect: Required value`),
		Entry("unknown dialect", `spec: {dialect: Lex}`,
			`spec.dialect: Unsupported value: "Lex"`, `"DialogflowES", "DialogflowCX", "Rasa", "Generic"`),
		Entry("no auth method", `spec: {auth: {bearer: null}}`,
			`spec.auth`, `needs at least one method`, `allowUnauthenticated: true`),
		Entry("auth left out without mTLS", `spec: {auth: null}`,
			`spec.auth`, `needs at least one method`),
		Entry("only an IP allowlist, which is not a method", `spec: {auth: {bearer: null, ipAllowlist: {cidrs: [10.0.0.0/8]}}}`,
			`spec.auth`, `needs at least one method`),
		Entry("allowUnauthenticated with a method", `spec: {auth: {allowUnauthenticated: true}}`,
			`spec.auth.allowUnauthenticated`, `cannot be combined with an auth method`),
		Entry("HMAC for Dialogflow", `spec: {dialect: DialogflowES, auth: {hmac: {scheme: GitHub}}}`,
			`spec.auth.hmac`, `Dialogflow never signs requests with HMAC`),
		Entry("unknown HMAC scheme", `spec: {auth: {hmac: {scheme: Twilio}}}`,
			`spec.auth.hmac.scheme: Unsupported value: "Twilio"`, `"StandardWebhooks"`),
		Entry("Generic HMAC without its description", `spec: {auth: {hmac: {scheme: Generic}}}`,
			`spec.auth.hmac.generic`, `required when scheme is Generic`),
		Entry("Generic description with another scheme", `spec: {auth: {hmac: {scheme: GitHub, generic: {header: X-Sig}}}}`,
			`spec.auth.hmac.generic`, `not allowed for the other schemes`),
		Entry("unknown Generic HMAC algorithm", `spec: {auth: {hmac: {scheme: Generic, generic: {header: X-Sig, algorithm: MD5}}}}`,
			`spec.auth.hmac.generic.algorithm: Unsupported value: "MD5"`, `"SHA256", "SHA512", "SHA1"`),
		Entry("rotation of a user-provided key", `spec: {auth: {hmac: {scheme: GitHub, secretRef: {name: k}, rotation: {interval: 720h}}}}`,
			`spec.auth.hmac.rotation`, `applies only to the key the operator generates`),
		Entry("rotation grace period not shorter than the interval", `spec: {auth: {hmac: {scheme: GitHub, rotation: {interval: 2h, gracePeriod: 2h}}}}`,
			`spec.auth.hmac.rotation.gracePeriod`, `must be shorter than interval`),
		Entry("rotation more often than hourly", `spec: {auth: {hmac: {scheme: GitHub, rotation: {interval: 10m, gracePeriod: 1m}}}}`,
			`spec.auth.hmac.rotation.interval`, `at least 1h`),
		Entry("replay window of two hours", `spec: {auth: {hmac: {scheme: Stripe, tolerance: 2h}}}`,
			`spec.auth.hmac.tolerance`, `between 1s and 1h`),
		Entry("bearer without a Secret key", `spec: {auth: {bearer: {secretRef: {key: null}}}}`,
			`spec.auth.bearer.secretRef.key: Required value`),
		Entry("bearer header that is not a header name", `spec: {auth: {bearer: {header: "X Token"}}}`,
			`spec.auth.bearer.header`, `should match`),
		Entry("OIDC issuer over plain HTTP", `spec: {auth: {oidc: {issuer: "http://accounts.example.com", audiences: [bot]}}}`,
			`spec.auth.oidc.issuer`, `^https://`),
		Entry("OIDC without audiences", `spec: {auth: {oidc: {issuer: "https://accounts.google.com"}}}`,
			`spec.auth.oidc.audiences: Required value`),
		Entry("OIDC required scope that is empty", `spec: {auth: {oidc: {issuer: "https://accounts.google.com", audiences: [bot], requiredScopes: [""]}}}`,
			`spec.auth.oidc.requiredScopes[0]`, `at least 1 chars long`),
		Entry("OIDC required scope with a space", `spec: {auth: {oidc: {issuer: "https://accounts.google.com", audiences: [bot], requiredScopes: ["a b"]}}}`,
			`spec.auth.oidc.requiredScopes[0]`, `should match`),
		Entry("oauth2 without introspection", `spec: {auth: {oauth2: {}}}`,
			`spec.auth.oauth2.introspection: Required value`),
		Entry("introspection without a URL", `spec: {auth: {oauth2: {introspection: {secretRef: {name: c}}}}}`,
			`spec.auth.oauth2.introspection.url: Required value`),
		Entry("introspection without a Secret", `spec: {auth: {oauth2: {introspection: {url: "https://auth.example.com/introspect"}}}}`,
			`spec.auth.oauth2.introspection.secretRef: Required value`),
		Entry("introspection over plain HTTP", `spec: {auth: {oauth2: {introspection: {url: "http://auth.example.com/introspect", secretRef: {name: c}}}}}`,
			`spec.auth.oauth2.introspection.url`, `must be an https URL (http only to localhost, 127.0.0.0/8 or ::1)`),
		Entry("introspection over plain HTTP to a name that starts like loopback",
			`spec: {auth: {oauth2: {introspection: {url: "http://127.0.0.1.example.com/introspect", secretRef: {name: c}}}}}`,
			`spec.auth.oauth2.introspection.url`, `must be an https URL`),
		Entry("introspection URL that is not a URL", `spec: {auth: {oauth2: {introspection: {url: "auth.example.com", secretRef: {name: c}}}}}`,
			`spec.auth.oauth2.introspection.url`, `must be an https URL`),
		Entry("introspection URL with credentials",
			`spec: {auth: {oauth2: {introspection: {url: "https://bot:secret@auth.example.com/introspect", secretRef: {name: c}}}}}`,
			`spec.auth.oauth2.introspection.url`, `must not contain credentials`),
		Entry("introspection required scope that is empty",
			`spec: {auth: {oauth2: {introspection: {url: "https://auth.example.com/i", secretRef: {name: c}, requiredScopes: [read, ""]}}}}`,
			`spec.auth.oauth2.introspection.requiredScopes[1]`, `at least 1 chars long`),
		Entry("introspection required scope with a quote",
			`spec: {auth: {oauth2: {introspection: {url: "https://auth.example.com/i", secretRef: {name: c}, requiredScopes: ['a"b']}}}}`,
			`spec.auth.oauth2.introspection.requiredScopes[0]`, `should match`),
		Entry("introspection audience that is empty",
			`spec: {auth: {oauth2: {introspection: {url: "https://auth.example.com/i", secretRef: {name: c}, audience: ""}}}}`,
			`spec.auth.oauth2.introspection.audience`, `at least 1 chars long`),
		Entry("introspection answers cached over an hour",
			`spec: {auth: {oauth2: {introspection: {url: "https://auth.example.com/i", secretRef: {name: c}, cacheTTL: 2h}}}}`,
			`spec.auth.oauth2.introspection.cacheTTL`, `at most 1h`),
		Entry("allowUnauthenticated with introspection",
			`spec: {auth: {bearer: null, allowUnauthenticated: true, oauth2: {introspection: {url: "https://auth.example.com/i", secretRef: {name: c}}}}}`,
			`spec.auth.allowUnauthenticated`, `cannot be combined with an auth method`),
		Entry("IP allowlist entry that is not a CIDR", `spec: {auth: {ipAllowlist: {cidrs: [10.0.0.0/33]}}}`,
			`spec.auth.ipAllowlist.cidrs`, `must be CIDRs`),
		Entry("timeout over 30s", `spec: {timeout: 45s}`,
			`spec.timeout`, `between 100ms and 30s`),
		Entry("timeout that is not a duration", `spec: {timeout: soon}`,
			`spec.timeout`, `should match`),
		Entry("Dialogflow ES timeout over 10s", `spec: {dialect: DialogflowES, auth: {bearer: null, basic: {secretRef: {name: b}}}, timeout: 12s}`,
			`spec.timeout`, `Dialogflow ES waits at most 5s`),
		Entry("GET for Dialogflow CX", `spec: {dialect: DialogflowCX, methods: [POST, GET]}`,
			`spec.methods`, `only the Generic dialect accepts GET, PUT, PATCH or DELETE`, `methods: [POST]`),
		Entry("DELETE for Dialogflow ES", `spec: {dialect: DialogflowES, auth: {bearer: null, basic: {secretRef: {name: b}}}, methods: [DELETE]}`,
			`spec.methods`, `only the Generic dialect accepts GET, PUT, PATCH or DELETE`),
		Entry("PUT for Rasa", `spec: {dialect: Rasa, methods: [PUT]}`,
			`spec.methods`, `only the Generic dialect accepts`, `Dialogflow and Rasa always POST`),
		Entry("HEAD method", `spec: {methods: [HEAD]}`,
			`spec.methods[0]: Unsupported value: "HEAD"`, `"GET", "POST", "PUT", "PATCH", "DELETE"`),
		Entry("OPTIONS method", `spec: {methods: [POST, OPTIONS]}`,
			`spec.methods[1]: Unsupported value: "OPTIONS"`),
		Entry("lower-case method", `spec: {methods: [get]}`,
			`spec.methods[0]: Unsupported value: "get"`),
		Entry("a method twice", `spec: {methods: [GET, GET]}`,
			`spec.methods[1]: Duplicate value: "GET"`),
		Entry("no method", `spec: {methods: []}`,
			`spec.methods`, `should have at least 1 items`),
		Entry("path without a leading slash", `spec: {path: webhook}`,
			`spec.path`, `must be a slash followed by letters, digits`),
		Entry("path with an empty segment", `spec: {path: //hooks}`,
			`spec.path`, `without an empty segment (//)`),
		Entry("path with a dot segment", `spec: {path: /a/./b}`,
			`spec.path`, `without . or .. segments`),
		Entry("path with a dot-dot segment", `spec: {path: /a/../b}`,
			`spec.path`, `without . or .. segments`),
		Entry("path ending in a dot segment", `spec: {path: /a/.}`,
			`spec.path`, `a trailing /. or /..`),
		Entry("path ending in a dot-dot segment", `spec: {path: /a/..}`,
			`spec.path`, `a trailing /. or /..`),
		Entry("path with an escaped slash", `spec: {path: /x%2Fy}`,
			`spec.path`, `without %-escapes`),
		Entry("path with another escape", `spec: {path: /caf%C3%A9}`,
			`spec.path`, `without %-escapes`),
		Entry("name of 64 characters", `metadata: {generateName: null, name: `+strings.Repeat("a", 64)+`}`,
			`metadata.name must be at most 63 characters`, `app.kubernetes.io/instance`),
		Entry("name of 253 characters", `metadata: {generateName: null, name: `+strings.Repeat("a", 253)+`}`,
			`metadata.name must be at most 63 characters`),
		Entry("name with a dot", `metadata: {generateName: null, name: bank.bot}`,
			`metadata.name must be`, `DNS-1035 label`, `without dots`),
		Entry("name starting with a digit", `metadata: {generateName: null, name: 1bot}`,
			`metadata.name must be`, `starting with a letter`),
		Entry("reserved path", `spec: {path: /metrics}`,
			`spec.path`, `reserved for the server`),
		Entry("async delivery for a chatbot dialect", `spec: {dialect: Rasa, delivery: {mode: Async}}`,
			`spec.delivery.mode`, `Async is only for Generic event webhooks`),
		Entry("queue settings with synchronous delivery", `spec: {delivery: {mode: Sync, maxAttempts: 5}}`,
			`spec.delivery.mode`, `apply only when mode is Async`),
		Entry("backoff that starts above its maximum", `spec: {delivery: {mode: Async, backoff: {initial: 10m, max: 1m}}}`,
			`spec.delivery.backoff.initial`, `must not be longer than backoff.max`),
		Entry("Redis queue without Redis", `spec: {delivery: {mode: Async, queue: Redis}}`,
			`spec.delivery.queue`, `spec.redis is required`),
		Entry("autoscaling a Local queue", `spec: {delivery: {mode: Async}, autoscaling: {maxReplicas: 4}}`,
			`spec.autoscaling`, `cannot scale an Async endpoint with a Local queue`),
		Entry("storage of a Redis queue", `spec: {redis: {url: "redis://r:6379"}, delivery: {mode: Async, queue: Redis, storage: {size: 2Gi}}}`,
			`spec.delivery.storage`, `volume of a Local queue`),
		Entry("storage with synchronous delivery", `spec: {delivery: {mode: Sync, storage: {size: 2Gi}}}`,
			`spec.delivery.mode`, `apply only when mode is Async`),
		Entry("a queue volume too small", `spec: {delivery: {mode: Async, storage: {size: 1Mi}}}`,
			`spec.delivery.storage.size`, `at least 64Mi`),
		Entry("Redis idempotency store without Redis", `spec: {idempotency: {store: Redis}}`,
			`spec.idempotency.store`, `spec.redis is required`),
		Entry("idempotency kept for a month", `spec: {idempotency: {ttl: 720h}}`,
			`spec.idempotency.ttl`, `between 1s and 168h`),
		Entry("Redis URL with a password", `spec: {redis: {url: "redis://default:hunter2@redis:6379/0"}}`,
			`spec.redis.url`, `must not contain a password`, `urlSecretRef`),
		Entry("Redis URL and Secret together", `spec: {redis: {url: "redis://redis:6379", urlSecretRef: {name: r, key: url}}}`,
			`spec.redis`, `exactly one of url or urlSecretRef`),
		Entry("TLS from a Secret without its name", `spec: {tls: {mode: Secret}}`,
			`spec.tls.secretName`, `required when mode is Secret`),
		Entry("cert-manager without an issuer", `spec: {tls: {mode: CertManager}}`,
			`spec.tls.issuerRef`, `required when mode is CertManager`),
		Entry("certificate settings with TLS disabled", `spec: {tls: {mode: Disabled, dnsNames: [bot.example.com]}}`,
			`spec.tls.mode`, `apply only to modes CertManager and SelfSigned`),
		Entry("renewal not before expiry", `spec: {tls: {mode: SelfSigned, duration: 24h, renewBefore: 48h}}`,
			`spec.tls.renewBefore`, `must be shorter than duration`),
		Entry("renewal not before the default expiry", `spec: {tls: {mode: SelfSigned, renewBefore: 2400h}}`,
			`spec.tls.renewBefore`, `default duration of 2160h`),
		Entry("mTLS without TLS", `spec: {tls: {clientAuth: {mode: Require, caSecretRef: {name: ca, key: ca.crt}}}}`,
			`spec.tls.clientAuth`, `needs TLS`),
		Entry("mTLS without a CA", `spec: {tls: {mode: SelfSigned, clientAuth: {mode: Require}}}`,
			`spec.tls.clientAuth.caSecretRef`, `required when mode is Optional or Require`),
		Entry("body limit over 32Mi", `spec: {limits: {maxBodyBytes: 64Mi}}`,
			`spec.limits.maxBodyBytes`, `between 1Ki and 32Mi`),
		Entry("burst without a rate", `spec: {limits: {burst: 10}}`,
			`spec.limits.burst`, `needs requestsPerSecond`),
		Entry("negative replicas", `spec: {replicas: -1}`,
			`spec.replicas`, `greater than or equal to 0`),
		Entry("autoscaling minimum above maximum", `spec: {autoscaling: {minReplicas: 5, maxReplicas: 3}}`,
			`spec.autoscaling.minReplicas`, `must not be greater than maxReplicas`),
		Entry("pod labels that would break the selector", `spec: {podTemplate: {metadata: {labels: {app.kubernetes.io/name: other}}}}`,
			`spec.podTemplate.metadata.labels`, `must not set app.kubernetes.io/ labels`),
		Entry("service port out of range", `spec: {service: {port: 70000}}`,
			`spec.service.port`, `less than or equal to 65535`),
		Entry("Ingress and HTTPRoute together", `spec: {ingress: {host: bot.example.com}, httpRoute: {parentRefs: [{name: gw}]}}`,
			`spec.httpRoute`, `alternatives`),
		Entry("HTTPRoute without a parent", `spec: {httpRoute: {hostnames: [bot.example.com]}}`,
			`spec.httpRoute.parentRefs: Required value`),
		Entry("empty fallback", `spec: {fallback: {}}`,
			`spec.fallback`, `needs text or payload`),
		Entry("empty environmentFrom", `spec: {environmentFrom: ""}`,
			`spec.environmentFrom`, `at least 1 chars`),
		Entry("empty versionFrom", `spec: {versionFrom: ""}`,
			`spec.versionFrom`, `at least 1 chars`),
		Entry("versionFrom over 4096 characters", `spec: {versionFrom: "`+strings.Repeat("a", 4097)+`"}`,
			`spec.versionFrom`, `4096`),
		Entry("tracing without a receiver", `spec: {observability: {tracing: {samplingRatio: "0.1"}}}`,
			`spec.observability.tracing`, `needs exactly one of endpoint or endpointSecretRef`),
		Entry("tracing with both a URL and its Secret",
			`spec: {observability: {tracing: {endpoint: "http://collector:4318", endpointSecretRef: {name: otlp, key: url}}}}`,
			`spec.observability.tracing`, `needs exactly one of endpoint or endpointSecretRef`),
		Entry("a tracing receiver that is no URL", `spec: {observability: {tracing: {endpoint: "collector:4318"}}}`,
			`spec.observability.tracing.endpoint`, `must be an http or https URL`),
		Entry("a tracing receiver URL with credentials", `spec: {observability: {tracing: {endpoint: "https://user:token@otlp.example.com"}}}`,
			`spec.observability.tracing.endpoint`, `without credentials`, `endpointSecretRef`),
		Entry("a tracing receiver URL with a query", `spec: {observability: {tracing: {endpoint: "https://otlp.example.com/?api-key=x"}}}`,
			`spec.observability.tracing.endpoint`, `without credentials, query or fragment`),
		Entry("a sampling ratio over 1", `spec: {observability: {tracing: {endpoint: "http://collector:4318", samplingRatio: "1.5"}}}`,
			`spec.observability.tracing.samplingRatio`, `a decimal from 0 to 1`),
		Entry("a sampling ratio as a percentage", `spec: {observability: {tracing: {endpoint: "http://collector:4318", samplingRatio: "10%"}}}`,
			`spec.observability.tracing.samplingRatio`, `a decimal from 0 to 1`),
		Entry("a sampling ratio with seven decimals", `spec: {observability: {tracing: {endpoint: "http://collector:4318", samplingRatio: "0.1234567"}}}`,
			`spec.observability.tracing.samplingRatio`),
		Entry("a tracing headers Secret without a key", `spec: {observability: {tracing: {endpoint: "http://collector:4318", headersSecretRef: {name: otlp}}}}`,
			`spec.observability.tracing.headersSecretRef.key: Required value`),
		Entry("replicas on a gateway", `spec: {gatewayRef: {name: shared}, replicas: 3}`,
			`spec.gatewayRef`, `replicas, autoscaling, resources, podTemplate, tls, service, ingress, httpRoute and observability are set on the WebhookGateway`),
		Entry("autoscaling on a gateway", `spec: {gatewayRef: {name: shared}, autoscaling: {maxReplicas: 4}}`,
			`spec.gatewayRef`, `set on the WebhookGateway`),
		Entry("resources on a gateway", `spec: {gatewayRef: {name: shared}, resources: {limits: {memory: 256Mi}}}`,
			`spec.gatewayRef`, `set on the WebhookGateway`),
		Entry("a pod template on a gateway", `spec: {gatewayRef: {name: shared}, podTemplate: {nodeSelector: {pool: bots}}}`,
			`spec.gatewayRef`, `set on the WebhookGateway`),
		Entry("TLS on a gateway", `spec: {gatewayRef: {name: shared}, tls: {mode: SelfSigned}}`,
			`spec.gatewayRef`, `set on the WebhookGateway`),
		Entry("a LoadBalancer Service on a gateway", `spec: {gatewayRef: {name: shared}, service: {type: LoadBalancer}}`,
			`spec.gatewayRef`, `set on the WebhookGateway`),
		Entry("an Ingress on a gateway", `spec: {gatewayRef: {name: shared}, ingress: {host: bots.example.com}}`,
			`spec.gatewayRef`, `set on the WebhookGateway`),
		Entry("tracing on a gateway", `spec: {gatewayRef: {name: shared}, observability: {tracing: {endpoint: "http://collector:4318"}}}`,
			`spec.gatewayRef`, `set on the WebhookGateway`),
		Entry("a Local queue on a gateway", `spec: {gatewayRef: {name: shared}, delivery: {mode: Async}}`,
			`spec.gatewayRef`, `needs delivery.queue: Redis`),
		Entry("a gateway reference without a name", `spec: {gatewayRef: {name: ""}}`,
			`spec.gatewayRef.name`),
		Entry("a gateway of the endpoint's own name", `{metadata: {generateName: null, name: shared}, spec: {gatewayRef: {name: shared}}}`,
			`spec.gatewayRef.name`, `must not be the endpoint's own name`, `ConfigMap <name>-config`),
	)

	It("accepts an endpoint on a gateway with the settings that stay per endpoint", func() {
		onGateway := patched(validEndpoint, `spec: {gatewayRef: {name: shared}, path: /bots/bank, limits: {maxBodyBytes: 64Ki},
  idempotency: {enabled: true}, redis: {urlSecretRef: {name: redis, key: url}}, delivery: {mode: Async, queue: Redis}}`)
		Expect(createIn(namespace, onGateway)).To(Succeed())
	})

	DescribeTable("refuses an invalid WebhookGateway",
		func(patch string, wantInMessage ...string) { refused(validGateway, patch, wantInMessage...) },
		Entry("a name with a dot", `metadata: {generateName: null, name: shared.bots}`, `metadata.name`, `DNS-1035 label`),
		Entry("an Ingress and an HTTPRoute", `spec: {ingress: {host: bots.example.com}, httpRoute: {parentRefs: [{name: public}]}}`,
			`spec.ingress and spec.httpRoute are alternatives`),
		Entry("client certificates on the shared listener", `spec: {tls: {mode: SelfSigned, clientAuth: {mode: Require, caSecretRef: {name: ca, key: ca.crt}}}}`,
			`spec.tls.clientAuth`, `checked per endpoint`),
		Entry("more than 100 replicas", `spec: {replicas: 101}`, `spec.replicas`),
	)

	It("accepts a gateway with every setting, and an empty one", func() {
		Expect(createIn(namespace, patched(validGateway, `spec: {}`))).To(Succeed())
		full := patched(validGateway, `spec: {replicas: 3, resources: {limits: {memory: 512Mi}}, podTemplate: {nodeSelector: {pool: bots}},
  tls: {mode: SelfSigned}, service: {type: ClusterIP, port: 8443}, ingress: {host: bots.example.com, className: nginx},
  observability: {tracing: {endpoint: "http://collector:4318"}}}`)
		Expect(createIn(namespace, full)).To(Succeed())
		var got fulfillmentv1alpha1.WebhookGateway
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(full), &got)).To(Succeed())
		Expect(got.Spec.TLS.Mode).To(Equal(fulfillmentv1alpha1.TLSModeSelfSigned))
		Expect(got.Spec.Service.Port).To(Equal(int32(8443)))
	})

	DescribeTable("refuses an invalid IntentRoute",
		func(patch string, wantInMessage ...string) { refused(validRoute, patch, wantInMessage...) },
		Entry("no endpoint", `spec: {endpointRef: null}`,
			`spec.endpointRef: Required value`),
		Entry("no action", `spec: {respond: null}`,
			`needs exactly one action`, `spec.respond, spec.call or spec.forward`),
		Entry("two actions", `spec: {forward: {url: "http://backend:8080/"}}`,
			`needs exactly one action`),
		Entry("nothing to match", `spec: {match: {intents: null}}`,
			`spec.match`, `needs at least one of intents, actions, tags, events or when`),
		Entry("an empty intent list", `spec: {match: {intents: []}}`,
			`spec.match.intents`, `at least 1 items`),
		Entry("the same intent twice", `spec: {match: {intents: [Welcome, Welcome]}}`,
			`spec.match.intents[1]: Duplicate value: "Welcome"`),
		Entry("priority out of range", `spec: {priority: 5000}`,
			`spec.priority`, `less than or equal to 1000`),
		Entry("respond with nothing to answer", `spec: {respond: {text: null}}`,
			`spec.respond`, `respond needs something to answer`),
		Entry("respond with only false flags", `spec: {respond: {text: null, endInteraction: false, liveAgentHandoff: false}}`,
			`spec.respond`, `respond needs something to answer`),
		Entry("endInteraction that is not a boolean", `spec: {respond: {endInteraction: "yes"}}`,
			`spec.respond.endInteraction`, `must be of type boolean`),
		Entry("both CX targets", `spec: {respond: {targetPage: p, targetFlow: f}}`,
			`spec.respond.targetFlow`, `alternatives`),
		Entry("message with text and payload", `spec: {respond: {messages: [{text: hi, payload: {a: 1}}]}}`,
			`spec.respond.messages[0]`, `exactly one of text, payload, image`),
		Entry("message with no kind", `spec: {respond: {messages: [{platform: SLACK}]}}`,
			`spec.respond.messages[0]`, `exactly one of text, payload, image`),
		Entry("message platform unknown", `spec: {respond: {messages: [{text: hi, platform: MYSPACE}]}}`,
			`spec.respond.messages[0].platform`, `ACTIONS_ON_GOOGLE`),
		Entry("card without a title", `spec: {respond: {messages: [{card: {subtitle: s}}]}}`,
			`spec.respond.messages[0].card.title`, `Required`),
		Entry("quick replies without replies", `spec: {respond: {messages: [{quickReplies: {title: t, replies: []}}]}}`,
			`spec.respond.messages[0].quickReplies.replies`, `at least 1`),
		Entry("audio with text and ssml", `spec: {respond: {messages: [{outputAudioText: {text: a, ssml: "<speak/>"}}]}}`,
			`spec.respond.messages[0].outputAudioText`, `either text or ssml`),
		Entry("transfer to a phone number not in E.164", `spec: {respond: {messages: [{telephonyTransferCall: {phoneNumber: "555-1234"}}]}}`,
			`spec.respond.messages[0].telephonyTransferCall.phoneNumber`, `E.164`),
		Entry("transfer to a SIP URI, which Dialogflow CX has not", `spec: {respond: {messages: [{telephonyTransferCall: {sipURI: "sip:support@example.com"}}]}}`,
			`spec.respond.messages[0].telephonyTransferCall.phoneNumber`, `Required value`),
		Entry("Rasa response variable named as a response field", `spec: {respond: {messages: [{response: {name: utter_x, variables: {text: "1"}}}]}}`,
			`spec.respond.messages[0].response.variables`, `may not be named as a field`),
		Entry("context with a slash in its name", `spec: {respond: {contexts: [{name: "a/b"}]}}`,
			`spec.respond.contexts[0].name`, `should match`),
		Entry("context with a negative lifespan", `spec: {respond: {contexts: [{name: a, lifespanCount: -1}]}}`,
			`spec.respond.contexts[0].lifespanCount`, `greater than or equal to 0`),
		Entry("form parameter with nothing to do", `spec: {respond: {formParameters: [{name: promo}]}}`,
			`spec.respond.formParameters[0]`, `invalid, value or both`),
		Entry("Rasa event of two kinds", `spec: {respond: {events: [{restart: true, followupAction: action_x}]}}`,
			`spec.respond.events[0]`, `exactly one of followupAction`),
		Entry("Rasa event of no kind", `spec: {respond: {events: [{restart: false}]}}`,
			`spec.respond.events[0]`, `exactly one of followupAction`),
		Entry("reminder without a delay", `spec: {respond: {events: [{reminder: {intent: EXTERNAL_x}}]}}`,
			`spec.respond.events[0].reminder.after`, `Required`),
		Entry("cancelReminder naming nothing", `spec: {respond: {events: [{cancelReminder: {}}]}}`,
			`spec.respond.events[0].cancelReminder`, `a name, an intent or both`),
		Entry("call to a non-HTTP URL", `spec: {respond: null, call: {url: "ftp://files.example.com/x"}}`,
			`spec.call.url`, `absolute http:// or https:// URL`),
		Entry("call with a templated host", `spec: {respond: null, call: {url: "https://${params.host}/x"}}`,
			`spec.call.url`, `literal host`),
		Entry("call with an unknown method", `spec: {respond: null, call: {url: "https://api.example.com/", method: TRACE}}`,
			`spec.call.method: Unsupported value: "TRACE"`),
		Entry("call with an unknown body format", `spec: {respond: null, call: {url: "https://api.example.com/", bodyFormat: YAML}}`,
			`spec.call.bodyFormat: Unsupported value: "YAML"`, `"JSON", "Form", "XML"`),
		Entry("body format in the wrong case", `spec: {respond: null, call: {url: "https://api.example.com/", bodyFormat: xml}}`,
			`spec.call.bodyFormat: Unsupported value: "xml"`),
		Entry("header with a value and a Secret", `spec: {respond: null, call: {url: "https://api.example.com/", headers: [{name: X-Key, value: v, valueFrom: {secretKeyRef: {name: s, key: k}}}]}}`,
			`spec.call.headers[0]`, `exactly one of value or valueFrom`),
		Entry("call timeout over 30s", `spec: {respond: null, call: {url: "https://api.example.com/", timeout: 1m}}`,
			`spec.call.timeout`, `between 10ms and 30s`),
		Entry("eleven attempts", `spec: {respond: null, call: {url: "https://api.example.com/", retry: {attempts: 11}}}`,
			`spec.call.retry.attempts`, `less than or equal to 10`),
		Entry("forward to a URL and a Service", `spec: {respond: null, forward: {url: "http://backend/", service: {name: backend, port: 80}}}`,
			`spec.forward`, `exactly one of url or service`),
		Entry("forward to port 0", `spec: {respond: null, forward: {service: {name: backend, port: 0}}}`,
			`spec.forward.service.port`, `greater than or equal to 1`),
		Entry("empty route fallback", `spec: {fallback: {}}`,
			`spec.fallback`, `needs text or payload`),
		Entry("an empty environment", `spec: {match: {environments: [production, ""]}}`,
			`spec.match.environments[1]`, `at least 1 chars`),
		Entry("an empty environment list", `spec: {match: {environments: []}}`,
			`spec.match.environments`, `at least 1 items`),
		Entry("the same environment twice", `spec: {match: {environments: [test, test]}}`,
			`spec.match.environments[1]: Duplicate value: "test"`),
		Entry("an empty version", `spec: {match: {versions: [""]}}`,
			`spec.match.versions[0]`, `at least 1 chars`),
		Entry("a version over 256 characters", `spec: {match: {versions: ["`+strings.Repeat("9", 257)+`"]}}`,
			`spec.match.versions[0]`, `256`),
		Entry("environments alone, which only narrow", `spec: {match: {intents: null, environments: [production]}}`,
			`spec.match`, `needs at least one of intents, actions, tags, events or when`),
		Entry("call auth without oauth2", `spec: {respond: null, call: {url: "https://api.example.com/", auth: {}}}`,
			`spec.call.auth`, `auth needs oauth2`),
		Entry("oauth2 without tokenURL", `spec: {respond: null, call: {url: "https://api.example.com/", auth: {oauth2: {secretRef: {name: c}}}}}`,
			`spec.call.auth.oauth2.tokenURL: Required value`),
		Entry("oauth2 without secretRef", `spec: {respond: null, call: {url: "https://api.example.com/", auth: {oauth2: {tokenURL: "https://idp.example.com/token"}}}}`,
			`spec.call.auth.oauth2.secretRef: Required value`),
		Entry("oauth2 tokenURL that is no URL", `spec: {respond: null, call: {url: "https://api.example.com/", auth: {oauth2: {tokenURL: "idp/token", secretRef: {name: c}}}}}`,
			`spec.call.auth.oauth2.tokenURL`, `absolute http:// or https:// URL`),
		Entry("oauth2 with an unknown auth style", `spec: {respond: null, call: {url: "https://api.example.com/", auth: {oauth2: {tokenURL: "https://idp.example.com/token", secretRef: {name: c}, authStyle: AutoDetect}}}}`,
			`spec.call.auth.oauth2.authStyle: Unsupported value: "AutoDetect"`),
		Entry("oauth2 endpointParams setting the client secret", `spec: {respond: null, call: {url: "https://api.example.com/", auth: {oauth2: {tokenURL: "https://idp.example.com/token", secretRef: {name: c}, endpointParams: {client_secret: x}}}}}`,
			`spec.call.auth.oauth2.endpointParams`, `may not set grant_type, client_id, client_secret, scope or audience`),
		Entry("oauth2 scope with a space", `spec: {respond: null, call: {url: "https://api.example.com/", auth: {oauth2: {tokenURL: "https://idp.example.com/token", secretRef: {name: c}, scopes: ["a b"]}}}}`,
			`spec.call.auth.oauth2.scopes[0]`),
		Entry("forward oauth2 without tokenURL", `spec: {respond: null, forward: {url: "https://backend.example.com/", auth: {oauth2: {secretRef: {name: c}}}}}`,
			`spec.forward.auth.oauth2.tokenURL: Required value`),
		Entry("tls with nothing set", `spec: {respond: null, call: {url: "https://api.example.com/", tls: {}}}`,
			`spec.call.tls`, `tls needs at least one of caRef, clientCertificateSecretRef or serverName`),
		Entry("caRef naming no source", `spec: {respond: null, call: {url: "https://api.example.com/", tls: {caRef: {}}}}`,
			`spec.call.tls.caRef`, `caRef needs exactly one of secretKeyRef or configMapKeyRef`),
		Entry("caRef naming both sources", `spec: {respond: null, forward: {url: "https://backend.example.com/", tls: {caRef: {secretKeyRef: {name: ca, key: ca.crt}, configMapKeyRef: {name: ca, key: ca.crt}}}}}`,
			`spec.forward.tls.caRef`, `caRef needs exactly one of secretKeyRef or configMapKeyRef`),
		Entry("caRef ConfigMap without a key", `spec: {respond: null, call: {url: "https://api.example.com/", tls: {caRef: {configMapKeyRef: {name: ca}}}}}`,
			`spec.call.tls.caRef.configMapKeyRef.key: Required value`),
		Entry("caRef without a key", `spec: {respond: null, call: {url: "https://api.example.com/", tls: {caRef: {secretKeyRef: {name: ca}}}}}`,
			`spec.call.tls.caRef.secretKeyRef.key: Required value`),
		Entry("client certificate without a Secret name", `spec: {respond: null, call: {url: "https://api.example.com/", tls: {clientCertificateSecretRef: {}}}}`,
			`spec.call.tls.clientCertificateSecretRef.name: Required value`),
		Entry("tls on a plain http call", `spec: {respond: null, call: {url: "http://api.example.com/", tls: {serverName: api.example.com}}}`,
			`spec.call.tls`, `call.tls applies to an https:// url`),
		Entry("tls on a forward to a Service", `spec: {respond: null, forward: {service: {name: backend, port: 80}, tls: {serverName: backend}}}`,
			`spec.forward.tls`, `forward.tls applies to an https:// url`),
		Entry("a server name with a space", `spec: {respond: null, call: {url: "https://10.0.0.1/", tls: {serverName: "api example"}}}`,
			`spec.call.tls.serverName`),
	)

	DescribeTable("accepts valid combinations that are close to a rule",
		func(base, patch string) { Expect(createIn(namespace, patched(base, patch))).To(Succeed()) },
		Entry("async delivery with the default queue", validEndpoint, `spec: {delivery: {mode: Async}}`),
		Entry("a respond that only hands over", validRoute, `spec: {respond: {text: null, liveAgentHandoff: true}}`),
		Entry("every message kind", validRoute, `spec: {respond: {messages: [
			{text: hi, platform: SLACK}, {payload: {a: 1}}, {image: {url: "https://x/i.png"}},
			{card: {title: t, buttons: [{text: b}]}}, {quickReplies: {replies: ["yes", "no"]}},
			{outputAudioText: {ssml: "<speak>${params.x}</speak>"}}, {playAudio: {audioURI: "gs://b/a.wav"}},
			{telephonyTransferCall: {phoneNumber: "+15551234567"}},
			{telephonyTransferCall: {phoneNumber: "${params.phone}"}},
			{conversationSuccess: {}}, {liveAgentHandoff: {metadata: {queue: vip}}},
			{response: {name: utter_greet, variables: {name: params.name}}}]}}`),
		Entry("a respond that only sets a context", validRoute, `spec: {respond: {text: null, contexts: [{name: awaiting_pin}]}}`),
		Entry("a respond that only validates a form", validRoute,
			`spec: {respond: {text: null, formParameters: [{name: promo, invalid: "params.promo != 'X'"}]}}`),
		Entry("a respond that only sends Rasa events", validRoute, `spec: {respond: {text: null, events: [
			{followupAction: action_listen}, {activeLoop: {}}, {activeLoop: {name: promo_form}}, {restart: true},
			{sessionStarted: true}, {reminder: {intent: EXTERNAL_x, after: 5m, entities: {a: "1"}}},
			{cancelReminder: {name: r}}]}}`),
		Entry("a Local queue on a volume of its class", validEndpoint,
			`spec: {delivery: {mode: Async, queue: Local, storage: {size: 5Gi, storageClassName: fast-ssd}}}`),
		Entry("autoscaling with a Redis queue", validEndpoint,
			`spec: {redis: {url: "redis://r:6379"}, delivery: {mode: Async, queue: Redis}, autoscaling: {maxReplicas: 4}}`),
		Entry("mTLS as the only method", validEndpoint,
			`spec: {auth: {bearer: null}, tls: {mode: SelfSigned, clientAuth: {mode: Require, caSecretRef: {name: ca, key: ca.crt}}}}`),
		Entry("mTLS as the only method, auth left out", validEndpoint,
			`spec: {auth: null, tls: {mode: SelfSigned, clientAuth: {mode: Require, caSecretRef: {name: ca, key: ca.crt}}}}`),
		Entry("open on purpose", validEndpoint, `spec: {auth: {bearer: null, allowUnauthenticated: true}}`),
		Entry("introspection as the only method", validEndpoint,
			`spec: {auth: {bearer: null, oauth2: {introspection: {url: "https://auth.example.com/oauth2/introspect", secretRef: {name: c}}}}}`),
		Entry("introspection over http to 127.0.0.1", validEndpoint,
			`spec: {auth: {bearer: null, oauth2: {introspection: {url: "http://127.0.0.1:8081/introspect", secretRef: {name: c}}}}}`),
		Entry("introspection over http to localhost", validEndpoint,
			`spec: {auth: {bearer: null, oauth2: {introspection: {url: "http://localhost:8081/introspect", secretRef: {name: c}}}}}`),
		Entry("introspection over http to ::1", validEndpoint,
			`spec: {auth: {bearer: null, oauth2: {introspection: {url: "http://[::1]:8081/introspect", secretRef: {name: c}}}}}`),
		Entry("introspection with everything and no cache", validEndpoint,
			`spec: {auth: {bearer: null, oauth2: {introspection: {url: "https://auth.example.com/i", secretRef: {name: c}, `+
				`requiredScopes: ["fulfillment:write", bank.read], audience: "https://bot.example.com", cacheTTL: 0s}}}}`),
		Entry("introspection of an OIDC-verified JWT access token", validEndpoint,
			`spec: {auth: {bearer: null, oidc: {issuer: "https://auth.example.com", audiences: [bot], requiredScopes: [read]}, `+
				`oauth2: {introspection: {url: "https://auth.example.com/i", secretRef: {name: c}}}}}`),
		Entry("Dialogflow ES with the usual deadline", validEndpoint,
			`spec: {dialect: DialogflowES, timeout: 4500ms, auth: {bearer: null, basic: {secretRef: {name: b}}}}`),
		Entry("Dialogflow CX with the longest deadline", validEndpoint, `spec: {dialect: DialogflowCX, timeout: 30s}`),
		Entry("every method for Generic", validEndpoint, `spec: {methods: [GET, POST, PUT, PATCH, DELETE]}`),
		Entry("DELETE alone for Generic", validEndpoint, `spec: {methods: [DELETE]}`),
		Entry("POST spelt out for Rasa", validEndpoint, `spec: {dialect: Rasa, methods: [POST]}`),
		Entry("a name of 63 characters", validEndpoint, `metadata: {generateName: null, name: b`+strings.Repeat("0", 62)+`}`),
		Entry("a one-letter name", validEndpoint, `metadata: {generateName: null, name: b}`),
		Entry("a path with every allowed character", validEndpoint, `spec: {path: "/a-b._~!$&'()*+,;=:@/c"}`),
		Entry("a path with dots inside segments", validEndpoint, `spec: {path: /v1.2/..hidden/a.b./.well-known}`),
		Entry("a path ending in a slash", validEndpoint, `spec: {path: /hooks/}`),
		Entry("the root path", validEndpoint, `spec: {path: /}`),
		Entry("a guard alone", validRoute, `spec: {match: {intents: null, when: 'request.text.contains("refund")'}}`),
		Entry("a call with an IPv6 host and templated path", validRoute,
			`spec: {respond: null, call: {url: "http://[fd00::1]:8080/accounts/${params.account}?q=${request.text}"}}`),
		Entry("a call with OAuth2 and mutual TLS", validRoute,
			`spec: {respond: null, call: {url: "https://api.example.com/", auth: {oauth2: {tokenURL: "https://idp.example.com/oauth/token", `+
				`secretRef: {name: c, clientIDKey: id}, scopes: [accounts.read, "urn:x:y"], audience: https://api.example.com, `+
				`endpointParams: {resource: https://api.example.com}, authStyle: Body}}, `+
				`tls: {caRef: {secretKeyRef: {name: ca, key: ca.crt}}, clientCertificateSecretRef: {name: client-tls}, serverName: api.internal}}}`),
		Entry("a forward trusting the CA bundle another endpoint publishes", validRoute,
			`spec: {respond: null, forward: {url: "https://bank-bot.bots.svc:8443/webhook", tls: {caRef: {configMapKeyRef: {name: bank-bot-ca-bundle, key: ca.crt}}}}}`),
		Entry("OAuth2 on a plain http call", validRoute,
			`spec: {respond: null, call: {url: "http://api.internal:8080/", auth: {oauth2: {tokenURL: "http://idp.internal/token", secretRef: {name: c}}}}}`),
		Entry("tracing to an in-cluster collector, every trace", validEndpoint,
			`spec: {observability: {tracing: {endpoint: "http://otel-collector.observability:4318"}}}`),
		Entry("tracing to a vendor from Secrets, a sampled share", validEndpoint,
			`spec: {observability: {tracing: {endpointSecretRef: {name: otlp, key: url}, headersSecretRef: {name: otlp, key: headers}, samplingRatio: "0.05"}}}`),
		Entry("tracing of nothing started here", validEndpoint,
			`spec: {observability: {tracing: {endpoint: "https://otlp.example.com/base", samplingRatio: "0"}}}`),
		Entry("tracing of everything, written with decimals", validEndpoint,
			`spec: {observability: {tracing: {endpoint: "https://otlp.example.com", samplingRatio: "1.000"}}}`),
		Entry("a forward with OAuth2 and a server name", validRoute,
			`spec: {respond: null, forward: {url: "https://10.0.0.5:8443/hook", auth: {oauth2: {tokenURL: "https://idp.example.com/token", secretRef: {name: c}}}, tls: {serverName: backend.internal}}}`),
	)

	// A Local queue's pods' volumes hold acknowledged events: an endpoint keeps its Local queue.
	DescribeTable("keeps a Local queue's delivery",
		func(patch string) {
			local := patched(validEndpoint, `spec: {delivery: {mode: Async}}`)
			Expect(createIn(namespace, local)).To(Succeed())
			err := k8sClient.Patch(ctx, local, client.RawPatch(types.MergePatchType, []byte(patch)))
			Expect(err).To(HaveOccurred(), "the API server let %s leave the Local queue", patch)
			Expect(err.Error()).To(ContainSubstring("an Async endpoint with a Local queue keeps it"))
		},
		Entry("back to Sync", `{"spec":{"delivery":{"mode":"Sync"}}}`),
		Entry("to a Redis queue", `{"spec":{"redis":{"url":"redis://r:6379"},"delivery":{"queue":"Redis"}}}`),
		Entry("delivery left out", `{"spec":{"delivery":null}}`),
	)

	It("lets a Local queue's other settings change, and other endpoints move to a Local queue", func() {
		local := patched(validEndpoint, `spec: {delivery: {mode: Async}}`)
		Expect(createIn(namespace, local)).To(Succeed())
		Expect(k8sClient.Patch(ctx, local.DeepCopy(), client.RawPatch(types.MergePatchType,
			[]byte(`{"spec":{"delivery":{"maxAttempts":20,"storage":{"size":"2Gi"}}}}`)))).To(Succeed())
		synchronous := patched(validEndpoint, `{}`)
		Expect(createIn(namespace, synchronous)).To(Succeed())
		Expect(k8sClient.Patch(ctx, synchronous, client.RawPatch(types.MergePatchType,
			[]byte(`{"spec":{"delivery":{"mode":"Async"}}}`)))).To(Succeed())
	})

	// A gateway's pods have no volume of their own: a Local queue neither joins a gateway nor starts on one.
	It("keeps Local queues off gateways, on an update too", func() {
		local := patched(validEndpoint, `spec: {delivery: {mode: Async, queue: Local}}`)
		Expect(createIn(namespace, local)).To(Succeed())
		err := k8sClient.Patch(ctx, local.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"spec":{"gatewayRef":{"name":"shared"}}}`)))
		Expect(err).To(HaveOccurred(), "an Async endpoint with a Local queue joined a gateway")
		Expect(err.Error()).To(ContainSubstring("needs delivery.queue: Redis"))
		err = k8sClient.Patch(ctx, local.DeepCopy(), client.RawPatch(types.MergePatchType,
			[]byte(`{"spec":{"gatewayRef":{"name":"shared"},"redis":{"url":"redis://r:6379"},"delivery":{"queue":"Redis"}}}`)))
		Expect(err).To(HaveOccurred(), "an Async endpoint left its Local queue for a gateway")
		Expect(err.Error()).To(ContainSubstring("an Async endpoint with a Local queue keeps it"))

		onGateway := patched(validEndpoint, `spec: {gatewayRef: {name: shared}, redis: {url: "redis://r:6379"}, delivery: {mode: Async, queue: Redis}}`)
		Expect(createIn(namespace, onGateway)).To(Succeed())
		err = k8sClient.Patch(ctx, onGateway, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"redis":null,"delivery":{"queue":"Local"}}}`)))
		Expect(err).To(HaveOccurred(), "an Async endpoint on a gateway moved to a Local queue")
		Expect(err.Error()).To(ContainSubstring("needs delivery.queue: Redis"))
	})

	// Admission admits only paths whose rendered Ingress the Ingress API accepts.
	ingressFor := func(path string) *networkingv1.Ingress {
		endpoint := &fulfillmentv1alpha1.WebhookEndpoint{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "bot", UID: "uid"},
			Spec: fulfillmentv1alpha1.WebhookEndpointSpec{Dialect: fulfillmentv1alpha1.DialectGeneric, Path: path,
				Ingress: &fulfillmentv1alpha1.IngressSettings{Host: "bot.example.com"}},
		}
		ingress := controllers.DesiredIngress(endpoint)
		ingress.OwnerReferences = nil
		return ingress
	}
	DescribeTable("admits a path whose rendered Ingress the Ingress API accepts",
		func(path string) {
			Expect(createIn(namespace, patched(validEndpoint, `{spec: {path: "`+path+`"}}`))).To(Succeed(), path)
			Expect(k8sClient.Create(ctx, ingressFor(path), client.DryRunAll)).To(Succeed(), "the Ingress API refuses admitted path %s", path)
		},
		Entry(nil, "/webhook"), Entry(nil, "/"), Entry(nil, "/hooks/"), Entry(nil, "/a-b._~!$&'()*+,;=:@/c"),
		Entry(nil, "/v1.2/..hidden/a.b./.well-known"),
	)
	DescribeTable("refuses at admission a path the Ingress API refuses",
		func(path string) {
			Expect(k8sClient.Create(ctx, ingressFor(path), client.DryRunAll)).NotTo(Succeed(), "the Ingress API accepts %s", path)
			Expect(createIn(namespace, patched(validEndpoint, `{spec: {path: "`+path+`"}}`))).NotTo(Succeed(), path)
		},
		Entry(nil, "//hooks"), Entry(nil, "/a/./b"), Entry(nil, "/a/../b"), Entry(nil, "/a/."), Entry(nil, "/a/.."),
		Entry(nil, "/x%2Fy"), Entry(nil, "/x%2fy"),
	)

	It("accepts an endpoint that uses every feature together", func() {
		Expect(createIn(namespace, patched(validEndpoint, `
spec:
  path: /hooks/bot
  methods: [POST, GET]
  timeout: 20s
  fallback: {text: Sorry, payload: {retry: true}}
  auth:
    basic: {secretRef: {name: basic}}
    hmac: {scheme: Generic, generic: {header: X-Signature, algorithm: SHA512, encoding: Base64, prefix: "sha512="}, rotation: {interval: 720h, gracePeriod: 24h}}
    oidc: {issuer: "https://accounts.google.com", audiences: [bot], allowedSubjects: [service-1@gcp-sa-dialogflow.iam.gserviceaccount.com]}
    ipAllowlist: {cidrs: [10.0.0.0/8, "2001:db8::/32"], trustedProxies: [192.168.0.0/16]}
  tls:
    mode: CertManager
    issuerRef: {name: letsencrypt, kind: ClusterIssuer}
    dnsNames: [bot.example.com]
    duration: 2160h
    renewBefore: 360h
    clientAuth: {mode: Optional, caSecretRef: {name: ca, key: ca.crt}, allowedSubjects: [dialogflow.example.com]}
  idempotency: {enabled: true, ttl: 48h, store: Redis, key: 'request.headers["x-request-id"]'}
  delivery: {mode: Async, queue: Redis, maxAttempts: 12, backoff: {initial: 2s, max: 5m}}
  redis: {urlSecretRef: {name: redis, key: url}}
  limits: {maxBodyBytes: 2Mi, requestsPerSecond: 50, burst: 100}
  autoscaling: {minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 60}
  resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
  podTemplate:
    metadata: {labels: {team: bots}, annotations: {example.com/owner: bots}}
    nodeSelector: {kubernetes.io/os: linux}
    tolerations: [{key: dedicated, operator: Equal, value: bots, effect: NoSchedule}]
    priorityClassName: high
    topologySpreadConstraints: [{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway}]
  service: {type: LoadBalancer, port: 443, annotations: {example.com/lb: internal}}
  httpRoute: {parentRefs: [{name: gateway, namespace: infra, sectionName: https}], hostnames: [bot.example.com]}
`))).To(Succeed())
	})

	It("fills in the documented defaults", func() {
		endpoint := patched(validEndpoint, `spec: {auth: {hmac: {scheme: Generic, generic: {header: X-Signature}, rotation: {interval: 720h}}}, idempotency: {}}`)
		Expect(createIn(namespace, endpoint)).To(Succeed())
		var got fulfillmentv1alpha1.WebhookEndpoint
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(endpoint), &got)).To(Succeed())
		spec := got.Spec
		Expect(spec.Path).To(Equal("/webhook"))
		Expect(spec.Methods).To(Equal([]fulfillmentv1alpha1.HTTPMethod{"POST"}))
		Expect(spec.Timeout).To(BeNil(), "the timeout default depends on the dialect and is applied by the server")
		Expect(spec.Replicas).To(BeNil(), "2 replicas are the operator's default: a stored value would keep the endpoint from moving to a gateway")
		Expect(spec.TLS).NotTo(BeNil())
		Expect(spec.TLS.Mode).To(Equal(fulfillmentv1alpha1.TLSModeDisabled))
		Expect(spec.Delivery).NotTo(BeNil())
		Expect(spec.Delivery.Mode).To(Equal(fulfillmentv1alpha1.DeliverySync))
		Expect(spec.Limits).NotTo(BeNil())
		Expect(spec.Limits.MaxBodyBytes).To(Equal(ptr.To(resource.MustParse("1Mi"))))
		Expect(spec.Service).NotTo(BeNil())
		Expect(spec.Service.Type).To(Equal(fulfillmentv1alpha1.ServiceType("ClusterIP")))
		Expect(spec.Service.Port).To(BeZero(), "the port default depends on TLS (443 or 80) and is applied by the operator")
		Expect(spec.Auth.Bearer.Header).To(Equal("Authorization"))
		Expect(spec.Auth.HMAC.Tolerance.Duration.String()).To(Equal("5m0s"))
		Expect(spec.Auth.HMAC.Generic.Algorithm).To(Equal(fulfillmentv1alpha1.HMACAlgorithm("SHA256")))
		Expect(spec.Auth.HMAC.Generic.Encoding).To(Equal(fulfillmentv1alpha1.SignatureEncoding("Hex")))
		Expect(spec.Auth.HMAC.Rotation.GracePeriod.Duration.String()).To(Equal("24h0m0s"))
		Expect(spec.Idempotency.Enabled).To(BeTrue())
		Expect(spec.Idempotency.TTL.Duration.String()).To(Equal("24h0m0s"))
		Expect(spec.Idempotency.Store).To(Equal(fulfillmentv1alpha1.IdempotencyStoreMemory))
		Expect(spec.Idempotency.FailurePolicy).To(Equal(fulfillmentv1alpha1.IdempotencyFailurePolicyFail))

		route := patched(validRoute, `spec: {respond: null, call: {url: "https://api.example.com/", retry: {}}}`)
		Expect(createIn(namespace, route)).To(Succeed())
		var gotRoute fulfillmentv1alpha1.IntentRoute
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(route), &gotRoute)).To(Succeed())
		Expect(gotRoute.Spec.Priority).To(Equal(int32(0)))
		Expect(gotRoute.Spec.Call.Method).To(Equal("POST"))
		Expect(gotRoute.Spec.Call.BodyFormat).To(Equal(fulfillmentv1alpha1.BodyFormatJSON))
		Expect(gotRoute.Spec.Call.Retry.Attempts).To(Equal(int32(3)))
		Expect(gotRoute.Spec.Call.Retry.Backoff.Duration.String()).To(Equal("100ms"))

		forward := patched(validRoute, `spec: {respond: null, forward: {service: {name: backend, port: 8080}}}`)
		Expect(createIn(namespace, forward)).To(Succeed())
		var gotForward fulfillmentv1alpha1.IntentRoute
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(forward), &gotForward)).To(Succeed())
		Expect(gotForward.Spec.Forward.Service.Path).To(Equal("/"))

		certManager := patched(validEndpoint, `spec: {tls: {mode: CertManager, issuerRef: {name: ca}}}`)
		Expect(createIn(namespace, certManager)).To(Succeed())
		var gotCertManager fulfillmentv1alpha1.WebhookEndpoint
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(certManager), &gotCertManager)).To(Succeed())
		Expect(gotCertManager.Spec.TLS.IssuerRef.Kind).To(Equal("Issuer"))
		Expect(gotCertManager.Spec.TLS.IssuerRef.Group).To(Equal("cert-manager.io"))
	})

	It("accepts every call body format", func() {
		for _, format := range []fulfillmentv1alpha1.BodyFormat{fulfillmentv1alpha1.BodyFormatJSON, fulfillmentv1alpha1.BodyFormatForm, fulfillmentv1alpha1.BodyFormatXML} {
			route := patched(validRoute, `spec: {respond: null, call: {url: "https://api.example.com/", bodyFormat: `+string(format)+`}}`)
			Expect(createIn(namespace, route)).To(Succeed(), "bodyFormat %s", format)
			var got fulfillmentv1alpha1.IntentRoute
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(route), &got)).To(Succeed())
			Expect(got.Spec.Call.BodyFormat).To(Equal(format))
		}
	})

	It("turns idempotency on when the endpoint leaves it out, and leaves a call without retry alone", func() {
		endpoint := patched(validEndpoint, `{}`)
		Expect(createIn(namespace, endpoint)).To(Succeed())
		var got fulfillmentv1alpha1.WebhookEndpoint
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(endpoint), &got)).To(Succeed())
		Expect(got.Spec.Idempotency).NotTo(BeNil())
		Expect(got.Spec.Idempotency.Enabled).To(BeTrue())
		Expect(got.Spec.Idempotency.TTL.Duration.String()).To(Equal("24h0m0s"))
		Expect(got.Spec.Idempotency.Store).To(Equal(fulfillmentv1alpha1.IdempotencyStoreMemory))
		Expect(got.Spec.Idempotency.FailurePolicy).To(Equal(fulfillmentv1alpha1.IdempotencyFailurePolicyFail))

		// The server picks a call's attempts by its method when retry is left out (GET twice, POST once), so the
		// API server must not write a retry that would make a POST try three times.
		route := patched(validRoute, `spec: {respond: null, call: {url: "https://api.example.com/"}}`)
		Expect(createIn(namespace, route)).To(Succeed())
		var gotRoute fulfillmentv1alpha1.IntentRoute
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(route), &gotRoute)).To(Succeed())
		Expect(gotRoute.Spec.Call.Retry).To(BeNil())
	})

	It("keeps idempotency off when a user turns it off, instead of defaulting it back on", func() {
		endpoint := patched(validEndpoint, `spec: {idempotency: {enabled: false}}`)
		Expect(createIn(namespace, endpoint)).To(Succeed())
		var got fulfillmentv1alpha1.WebhookEndpoint
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(endpoint), &got)).To(Succeed())
		Expect(got.Spec.Idempotency.Enabled).To(BeFalse())

		// A typed client round trip must keep it off too: the field is sent even when false.
		got.ResourceVersion = ""
		got.Name = ""
		got.GenerateName = "typed-"
		Expect(k8sClient.Create(ctx, &got)).To(Succeed())
		Expect(got.Spec.Idempotency.Enabled).To(BeFalse())
	})
})

var _ = Describe("Samples", func() {
	It("accepts every document in config/samples", func() {
		namespace := newNamespace("samples")
		documents := sampleDocuments()
		Expect(len(documents)).To(BeNumerically(">=", 20), "the sample bots, the shared gateway and their routes")
		kinds := map[string]int{}
		for _, doc := range documents {
			Expect(createIn(namespace, doc)).To(Succeed(), "sample %s %s", doc.GetKind(), doc.GetName())
			kinds[doc.GetKind()]++
		}
		Expect(kinds).To(HaveKeyWithValue("WebhookEndpoint", 6))
		Expect(kinds).To(HaveKeyWithValue("WebhookGateway", 1))
		Expect(kinds["IntentRoute"]).To(BeNumerically(">=", 10))

		var endpoints fulfillmentv1alpha1.WebhookEndpointList
		Expect(k8sClient.List(ctx, &endpoints, client.InNamespace(namespace))).To(Succeed())
		dialects := map[fulfillmentv1alpha1.Dialect]bool{}
		for _, endpoint := range endpoints.Items {
			dialects[endpoint.Spec.Dialect] = true
		}
		Expect(dialects).To(HaveLen(4), "one sample per dialect")
	})
})

// The environments sample is a kustomize base and two overlays: each must build with kubectl and every object it
// builds must be admitted, in the namespace the overlay names.
var _ = Describe("Environments sample", func() {
	DescribeTable("builds and admits the overlay",
		func(overlay, namespace string, replicas int64) {
			kubectl := "/usr/bin/kubectl"
			if _, err := os.Stat(kubectl); err != nil {
				Skip("kubectl is not installed at " + kubectl)
			}
			dir := filepath.Join(testenv.RepoRoot(), "config", "samples", "environments", overlay)
			built, err := exec.Command(kubectl, "kustomize", dir).Output()
			Expect(err).NotTo(HaveOccurred(), "kubectl kustomize %s", dir)
			documents := yamlDocuments(built, dir)
			kinds := map[string]int{}
			for _, doc := range documents {
				Expect(doc.GetNamespace()).To(Or(Equal(namespace), BeEmpty()), "%s %s", doc.GetKind(), doc.GetName())
				kinds[doc.GetKind()]++
				if doc.GetKind() == "WebhookEndpoint" {
					got, found, err := unstructured.NestedInt64(doc.Object, "spec", "replicas")
					Expect(err).NotTo(HaveOccurred())
					Expect(found).To(BeTrue(), "spec.replicas")
					Expect(got).To(Equal(replicas))
				}
			}
			Expect(kinds).To(Equal(map[string]int{"Namespace": 1, "Secret": 2, "WebhookEndpoint": 1, "IntentRoute": 2}))
			// The namespace first, as kubectl apply orders it.
			for _, doc := range documents {
				if doc.GetKind() == "Namespace" {
					err := k8sClient.Create(ctx, doc)
					Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
					DeferCleanup(func(cleanup SpecContext) { _ = k8sClient.Delete(cleanup, doc) })
				}
			}
			for _, doc := range documents {
				if doc.GetKind() != "Namespace" {
					Expect(k8sClient.Create(ctx, doc)).To(Succeed(), "%s %s", doc.GetKind(), doc.GetName())
				}
			}
		},
		Entry("test", "test", "support-test", int64(1)),
		Entry("production", "production", "support-production", int64(3)),
	)
})

// sampleDocuments reads every YAML document of the sample bots.
func sampleDocuments() []*unstructured.Unstructured {
	GinkgoHelper()
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "*", "*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var documents []*unstructured.Unstructured
	for _, file := range files {
		if filepath.Base(file) == "kustomization.yaml" {
			continue // kustomize's, not the API server's
		}
		content, err := os.ReadFile(file)
		Expect(err).NotTo(HaveOccurred())
		documents = append(documents, yamlDocuments(content, file)...)
	}
	return documents
}

// yamlDocuments are the objects of a multi-document YAML stream read from source.
func yamlDocuments(content []byte, source string) []*unstructured.Unstructured {
	GinkgoHelper()
	var documents []*unstructured.Unstructured
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(content)))
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return documents
		}
		Expect(err).NotTo(HaveOccurred())
		if strings.TrimSpace(string(raw)) == "" {
			continue
		}
		jsonDoc, err := yaml.YAMLToJSON(raw)
		Expect(err).NotTo(HaveOccurred(), source)
		if string(jsonDoc) == "null" {
			continue
		}
		obj := &unstructured.Unstructured{}
		Expect(obj.UnmarshalJSON(jsonDoc)).To(Succeed(), source)
		documents = append(documents, obj)
	}
}
