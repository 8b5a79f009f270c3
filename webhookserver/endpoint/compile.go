// Package endpoint is a compiled WebhookEndpoint: its dialect and the dialect's rules, authentication, limits,
// deadline, fallback and route table, built once from the configuration (Compile), and the fulfillment of one
// request through it (Fulfill, fulfill.go): decode, deduplicate, match, act under the deadline, encode (or
// answer the fallback in time), remember.
package endpoint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/action"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/delivery"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/all"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/idempotency"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/route"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
)

// Endpoint is a compiled WebhookEndpoint, immutable and safe for concurrent use.
type Endpoint struct {
	Name      string
	Namespace string
	Dialect   string
	Path      string
	// Methods are the accepted HTTP methods.
	Methods []string
	// Timeout is the fulfillment deadline.
	Timeout time.Duration
	// MaxBodyBytes is the largest accepted request body.
	MaxBodyBytes int64
	// RequestsPerSecond and Burst limit the request rate; 0 means no limit.
	RequestsPerSecond int
	Burst             int
	// Auth checks every configured method; nil when the endpoint is open on purpose.
	Auth auth.All
	// Clients finds a request's client address as the IP allowlist does (through its trusted proxies), for
	// the budget of authentication failures of each address.
	Clients auth.ClientAddresses
	// TLSMode is spec.tls.mode: the listener must serve TLS unless it is Disabled or empty.
	TLSMode string

	codec dialect.Codec
	// rules are the dialect's rules: its error shape, no-route answer, failure answers, answer checks.
	rules    dialectRules
	fallback *fallback
	// idempotency is nil when it is off.
	idempotency *compiledIdempotency
	// queue, for Async delivery, and its identity among the server's queues.
	queue         delivery.Queue
	queueIdentity string
	routes        *route.Table[*compiledRoute]
	// requestFields are environmentFrom and versionFrom, applied in the decode stage.
	requestFields routespec.RequestFields
	// actionNames are the route actions, for Rasa's GET /actions.
	actionNames []string
	// explain records each request's match decisions in its outcome (Options.Explain).
	explain bool
	// warnings are what compiles but may fail at request time (Warnings).
	warnings []string
}

type compiledRoute struct {
	name string
	// upstream is true for call and forward, whose time and outcome are measured.
	upstream bool
	action   action.Action
	fallback *fallback
}

// fallback is a compiled Fallback: what is answered when nothing else can be.
type fallback struct {
	// field names it in errors: "WebhookEndpoint ns/name spec.fallback" or "IntentRoute ns/name spec.fallback".
	field   string
	text    *expr.Template
	payload *expr.Value
}

// Options are what compiled endpoints share.
type Options struct {
	Env *expr.Env
	// Breakers guard upstreams; nil means none.
	Breakers *action.Breakers
	// Tokens keeps OAuth2 tokens across compiles; nil keeps none.
	Tokens *action.TokenStore
	// AllowedUpstreams are exempt from the refusal of link-local and metadata addresses.
	AllowedUpstreams []netip.Prefix
	// Stores provides idempotency stores; when nil, each compile creates its own.
	Stores StoreProvider
	// Queues provides delivery queues for Async endpoints; QueueDir holds Local queues' files.
	Queues   QueueProvider
	QueueDir string
	// MemoryPool holds the answers of every Memory idempotency store, within one bound; when nil, each store
	// has a pool of its own, with the default bound.
	MemoryPool *idempotency.MemoryPool
	// Explain records the match decisions of every request in its Outcome, for debug logs. It costs
	// allocations per request, so it is off unless they are logged.
	Explain bool
	// Logger receives what the delivery queues of Async endpoints log (store outages, dead letters); nil is
	// slog.Default().
	Logger *slog.Logger
	// OnTokenFetch is told of every OAuth2 token fetch of a route (endpoint is namespace/name), for metrics and
	// logs; nil ignores them.
	OnTokenFetch func(endpoint, route, result string, cause error)
}

// tokenObserver is OnTokenFetch for the routes of endpoint.
func (o Options) tokenObserver(endpoint string) action.TokenFetchObserver {
	if o.OnTokenFetch == nil {
		return nil
	}
	return func(route, result string, cause error) { o.OnTokenFetch(endpoint, route, result, cause) }
}

// Compile compiles one endpoint of the configuration. Every problem is reported in a *config.Error, each with
// the file and document of its endpoint or route (spec.Source, Route.Source), its object and its field.
func Compile(spec configfile.Endpoint, secrets config.SecretSource, opts Options) (*Endpoint, error) {
	found := &problems{namespace: spec.Namespace}
	fail := func(field string, err error) { found.add(spec.Source, "WebhookEndpoint", spec.Name, field, err) }
	object := fmt.Sprintf("WebhookEndpoint %s/%s", spec.Namespace, spec.Name)
	secret := func(name, key string) ([]byte, error) { return secrets.Secret(spec.Namespace, name, key) }
	configMap := func(name, key string) ([]byte, error) {
		return config.ReadConfigMap(secrets, spec.Namespace, name, key)
	}

	e := &Endpoint{
		Name:      spec.Name,
		Namespace: spec.Namespace,
		Dialect:   string(spec.Spec.Dialect),
		Path:      spec.Spec.Path,
		Timeout:   dialect.DefaultTimeout,
		explain:   opts.Explain,
	}
	codec, err := codecFor(&spec.Spec)
	if err != nil {
		fail("spec.dialect", err)
	} else {
		e.codec, e.rules = codec, rulesOf(codec)
		e.Timeout = e.rules.defaultTimeout
	}
	if e.Path == "" {
		e.Path = "/webhook"
	}
	for _, m := range spec.Spec.Methods {
		e.Methods = append(e.Methods, string(m))
	}
	if len(e.Methods) == 0 {
		e.Methods = []string{http.MethodPost}
	}
	if spec.Spec.Timeout != nil {
		e.Timeout = spec.Spec.Timeout.Duration
	}
	e.MaxBodyBytes = 1 << 20
	if l := spec.Spec.Limits; l != nil {
		if l.MaxBodyBytes != nil {
			e.MaxBodyBytes = l.MaxBodyBytes.Value()
		}
		if l.RequestsPerSecond != nil {
			e.RequestsPerSecond, e.Burst = int(*l.RequestsPerSecond), int(*l.RequestsPerSecond)
			if l.Burst != nil {
				e.Burst = int(*l.Burst)
			}
		}
	}
	if e.Auth, e.Clients, err = compileAuth(spec.Name, spec.Spec.Auth, secret, opts); err != nil {
		fail("spec.auth", err)
	}
	if t := spec.Spec.TLS; t != nil {
		e.TLSMode = string(t.Mode)
		if c := t.ClientAuth; c != nil && c.Mode != "" && c.Mode != fulfillmentv1alpha1.ClientAuthNone {
			mtls, err := compileMTLS(c, secret)
			if err != nil {
				fail("spec.tls.clientAuth", err)
			} else {
				// First: a caller without an acceptable certificate is refused before anything else is checked.
				e.Auth = append(auth.All{mtls}, e.Auth...)
			}
		}
	}
	// Admission refuses these too, but an admitted configuration (configfile.File.Admitted) is not validated again:
	// whatever loaded it, the server never serves an endpoint open by accident or one that cannot answer.
	if !spec.Spec.Auth.AllowUnauthenticated && !hasAuthMethod(&spec.Spec) {
		fail("spec.auth", errors.New("no authentication method (basic, bearer, hmac, oidc, oauth2, or tls.clientAuth.mode: Require); "+
			"to accept unauthenticated requests on purpose, set auth.allowUnauthenticated: true"))
	}
	if e.Timeout <= 0 {
		fail("spec.timeout", fmt.Errorf("%v: the deadline must be positive", e.Timeout))
	}
	if e.MaxBodyBytes <= 0 {
		fail("spec.limits.maxBodyBytes", fmt.Errorf("%d: must be positive", e.MaxBodyBytes))
	}
	if e.requestFields, err = routespec.CompileRequestFields(opts.Env, &spec.Spec); err != nil {
		fail("spec", err) // each problem at its own field (spec.environmentFrom, spec.versionFrom)
	}
	if e.fallback, err = compileFallback(opts.Env, spec.Spec.Fallback, object+" spec.fallback"); err != nil {
		fail("spec.fallback", err)
	}
	e.warnings = prefixed(object+": ", routespec.FallbackWarnings(opts.Env, spec.Spec.Fallback, "", "spec.fallback"))
	if opts.Stores == nil {
		opts.Stores = func(_ string, create func() (idempotency.Store, error)) (idempotency.Store, error) { return create() }
	}
	if e.idempotency, err = compileIdempotency(&spec.Spec, spec.Namespace, spec.Name, e.Timeout, opts, secret); err != nil {
		fail("spec.idempotency", err)
	}
	if opts.Queues == nil {
		opts.Queues = func(_ string, create func() (delivery.Queue, error)) (delivery.Queue, error) { return create() }
	}
	if e.queue, e.queueIdentity, err = compileDelivery(&spec.Spec, spec.Namespace, spec.Name, opts, secret); err != nil {
		fail("spec.delivery", err)
	}

	var candidates []route.Candidate[*compiledRoute]
	for _, r := range spec.Routes {
		candidate, ok := compileRoute(r, spec.Namespace+"/"+spec.Name, spec.Spec.Dialect, opts, secret, configMap, found)
		if !ok {
			continue
		}
		candidates = append(candidates, candidate)
		e.actionNames = append(e.actionNames, r.Spec.Match.Actions...)
		e.warnings = append(e.warnings, prefixed(fmt.Sprintf("IntentRoute %s/%s: ", spec.Namespace, r.Name),
			append(routespec.FallbackWarnings(opts.Env, r.Spec.Fallback, r.Spec.Match.When, "spec.fallback"), routespec.OutboundWarnings(&r.Spec)...))...)
	}
	e.warnings = append(e.warnings, conflictWarnings(spec.Namespace, spec.Routes)...)
	e.routes = route.NewTable(candidates)
	if err := found.err(); err != nil {
		return nil, err
	}
	return e, nil
}

// codecFor is the endpoint's dialect codec. It is told which sender's signature the endpoint verifies: a
// dialect may believe a sender's own headers (Generic's event and delivery headers) only then, since on any other
// endpoint the caller could set them, and with them the event a route matches and the idempotency key.
func codecFor(spec *fulfillmentv1alpha1.WebhookEndpointSpec) (dialect.Codec, error) {
	var settings dialect.Settings
	if spec.Auth.HMAC != nil {
		settings.SignedBy = string(spec.Auth.HMAC.Scheme)
	}
	return all.New(string(spec.Dialect), settings)
}

// hasAuthMethod says whether spec authenticates callers: a method, or client certificates required.
func hasAuthMethod(spec *fulfillmentv1alpha1.WebhookEndpointSpec) bool {
	a := spec.Auth
	if a.Basic != nil || a.Bearer != nil || a.HMAC != nil || a.OIDC != nil || a.OAuth2 != nil {
		return true
	}
	return spec.TLS != nil && spec.TLS.ClientAuth != nil && spec.TLS.ClientAuth.Mode == fulfillmentv1alpha1.ClientAuthRequire
}

// compileAuth builds the checkers of every configured method, and what finds client addresses: the IP
// allowlist's trusted proxies, or none.
func compileAuth(endpointName string, spec fulfillmentv1alpha1.EndpointAuth, secret action.SecretLookup, opts Options) (auth.All, auth.ClientAddresses, error) {
	var checkers auth.All
	var clients auth.ClientAddresses
	var errs []error
	if b := spec.Basic; b != nil {
		username, err1 := credential(secret, b.SecretRef.Name, "username", "the username callers send")
		password, err2 := credential(secret, b.SecretRef.Name, "password", "the password callers send")
		for _, err := range []error{err1, err2} {
			if err != nil {
				errs = append(errs, fmt.Errorf("basic.secretRef: %w", err))
			}
		}
		if err1 == nil && err2 == nil {
			checkers = append(checkers, auth.NewBasic(username, password))
		}
	}
	if b := spec.Bearer; b != nil {
		token, err := credential(secret, b.SecretRef.Name, b.SecretRef.Key, "the token callers send")
		if err != nil {
			errs = append(errs, fmt.Errorf("bearer.secretRef: %w", err))
		} else {
			checkers = append(checkers, auth.NewBearer(b.Header, []byte(strings.TrimSpace(string(token)))))
		}
	}
	if l := spec.IPAllowlist; l != nil {
		allowlist, err := auth.NewIPAllowlist(l.CIDRs, l.TrustedProxies)
		if err != nil {
			errs = append(errs, fmt.Errorf("ipAllowlist.%w", err))
		} else {
			// First: a request from outside the allowed networks is refused before any credential is checked.
			checkers = append(auth.All{allowlist}, checkers...)
			clients = allowlist.Clients()
		}
	}
	if h := spec.HMAC; h != nil {
		checker, err := compileHMAC(endpointName, h, secret)
		if err != nil {
			errs = append(errs, fmt.Errorf("hmac: %w", err))
		} else {
			checkers = append(checkers, checker)
		}
	}
	if o := spec.OIDC; o != nil {
		// Discovery and keys are fetched when first needed, so an unreachable issuer never blocks loading.
		checker, err := auth.NewOIDC(context.Background(), o)
		if err != nil {
			errs = append(errs, fmt.Errorf("oidc: %w", err))
		} else {
			checkers = append(checkers, checker)
		}
	}
	if o := spec.OAuth2; o != nil {
		checker, err := compileIntrospection(endpointName, &o.Introspection, secret, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("oauth2.%w", err)) // oauth2.introspection.secretRef: ..., oauth2.introspection: ...
		} else {
			checkers = append(checkers, checker)
		}
	}
	if len(errs) > 0 {
		return nil, clients, errors.Join(errs...)
	}
	if len(checkers) == 0 {
		return nil, clients, nil // allowUnauthenticated (Compile checks it)
	}
	return checkers, clients, nil
}

// credential reads a basic or bearer credential, refusing one that is empty or only space: it would admit
// callers that send an empty credential (curl -u :), which is no authentication.
func credential(secret action.SecretLookup, name, key, what string) ([]byte, error) {
	value, err := secret(name, key)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(value)) == 0 {
		return nil, fmt.Errorf("secret %s key %q is empty: put %s there", name, key, what)
	}
	return value, nil
}

// compileIntrospection reads the client credentials of token introspection. The introspection URL is reached
// like an upstream, through the outbound address check, and without redirects, which would take the client
// credentials elsewhere.
func compileIntrospection(endpointName string, spec *fulfillmentv1alpha1.TokenIntrospection, secret action.SecretLookup, opts Options) (auth.Checker, error) {
	clientID, err1 := credential(secret, spec.SecretRef.Name, "clientID", "the client ID this server introspects tokens with")
	clientSecret, err2 := credential(secret, spec.SecretRef.Name, "clientSecret", "the client secret this server introspects tokens with")
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("introspection.secretRef: %w", err)
	}
	client := action.NewClient(opts.AllowedUpstreams...)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("endpoint", endpointName)
	return auth.NewIntrospection(spec, strings.TrimSpace(string(clientID)), strings.TrimSpace(string(clientSecret)),
		auth.WithIntrospectionHTTPClient(client),
		auth.WithIntrospectionErrorHandler(func(err error) {
			logger.Warn("token introspection failed; requests are refused with 503 until it answers", "error", err.Error())
		}))
}

// compileMTLS reads the client CA bundle.
func compileMTLS(spec *fulfillmentv1alpha1.ClientAuth, secret action.SecretLookup) (auth.Checker, error) {
	if spec.CASecretRef == nil {
		return nil, errors.New("caSecretRef: Required value: the CA bundle that signs client certificates")
	}
	bundle, err := secret(spec.CASecretRef.Name, spec.CASecretRef.Key)
	if err != nil {
		return nil, fmt.Errorf("caSecretRef: %w", err)
	}
	return auth.NewMTLS(spec, bundle)
}

// compileHMAC reads the current key (`secret`) and, during a rotation, the previous one (`previous`).
func compileHMAC(endpointName string, spec *fulfillmentv1alpha1.HMACAuth, secret action.SecretLookup) (auth.Checker, error) {
	name := hmackey.SecretName(endpointName, spec)
	current, err := secret(name, hmackey.SecretKey)
	if err != nil {
		if spec.SecretRef == nil {
			return nil, fmt.Errorf("%w (in a cluster the operator generates this Secret; standalone, add a Secret %s "+
				"with the key %q, e.g. from `webhookserver hmac-key --scheme %s`)", err, name, hmackey.SecretKey, spec.Scheme)
		}
		return nil, err
	}
	data := map[string][]byte{hmackey.SecretKey: current}
	if previous, err := secret(name, hmackey.PreviousSecretKey); err == nil {
		data[hmackey.PreviousSecretKey] = previous
	}
	return auth.NewHMAC(spec, hmackey.Keys(data))
}

func compileFallback(env *expr.Env, spec *fulfillmentv1alpha1.Fallback, field string) (*fallback, error) {
	compiled, err := routespec.CompileFallback(env, spec, "spec.fallback")
	if compiled == nil || err != nil {
		return nil, err
	}
	return &fallback{field: field, text: compiled.Text, payload: compiled.Payload}, nil
}

// CheckRoutes compiles the routes of an endpoint that cannot be served (its own spec was refused) and reports
// their problems as Compile does, so that they are found in the same round as the endpoint's.
func CheckRoutes(spec configfile.Endpoint, secrets config.SecretSource, opts Options) error {
	found := &problems{namespace: spec.Namespace}
	secret := func(name, key string) ([]byte, error) { return secrets.Secret(spec.Namespace, name, key) }
	configMap := func(name, key string) ([]byte, error) {
		return config.ReadConfigMap(secrets, spec.Namespace, name, key)
	}
	for _, r := range spec.Routes {
		compileRoute(r, spec.Namespace+"/"+spec.Name, spec.Spec.Dialect, opts, secret, configMap, found)
	}
	return found.err()
}

// compileRoute compiles one route of endpoint (namespace/name), adding its problems to found; ok is false when
// it has any.
func compileRoute(r configfile.Route, endpoint string, dialect fulfillmentv1alpha1.Dialect, opts Options, secret, configMap action.SecretLookup, found *problems) (route.Candidate[*compiledRoute], bool) {
	namespace, _, _ := strings.Cut(endpoint, "/")
	before := len(found.found)
	fail := func(field string, err error) { found.add(r.Source, "IntentRoute", r.Name, field, err) }
	object := fmt.Sprintf("IntentRoute %s/%s", namespace, r.Name)
	rule := route.Rule{
		Name:     r.Name,
		Priority: r.Spec.Priority,
		Created:  r.Created.Time,
		Intents:  r.Spec.Match.Intents,
		Actions:  r.Spec.Match.Actions,
		Tags:     r.Spec.Match.Tags,
		Events:   r.Spec.Match.Events,

		Environments: r.Spec.Match.Environments,
		Versions:     r.Spec.Match.Versions,
	}
	spec, err := routespec.Compile(opts.Env, &r.Spec, secret, configMap)
	if err != nil {
		fail("spec", err)
	}
	for _, problem := range append(routespec.MatchProblems(&r.Spec, dialect), routespec.DialectProblems(&r.Spec, dialect)...) {
		fail("spec", problem)
	}
	rule.Guard = spec.When
	compiled := &compiledRoute{name: r.Name}
	switch {
	case spec.Respond != nil:
		compiled.action = action.NewRespond(spec.Respond)
	case spec.Call != nil:
		// Each route has its own connection pool, so that one slow upstream cannot take another's connections.
		upstreams := action.NewUpstreams(r.Name, spec.Call.Outbound, opts.AllowedUpstreams, opts.Breakers, opts.Tokens, opts.tokenObserver(endpoint))
		compiled.action = action.NewCall(upstreams, spec.Call)
		compiled.upstream = true
	case spec.Forward != nil:
		upstreams := action.NewUpstreams(r.Name, spec.Forward.Outbound, opts.AllowedUpstreams, opts.Breakers, opts.Tokens, opts.tokenObserver(endpoint))
		compiled.action = action.CompileForward(upstreams, spec.Forward.Spec, namespace)
		compiled.upstream = true
	}
	if spec.Fallback != nil {
		compiled.fallback = &fallback{field: object + " spec.fallback", text: spec.Fallback.Text, payload: spec.Fallback.Payload}
	}
	return route.Candidate[*compiledRoute]{Rule: rule, Value: compiled}, len(found.found) == before
}

// conflictWarnings names each route that another with the same match and priority (routespec.ConflictKey)
// comes before in the server's order (older first, then name): it never answers. The operator refuses such a
// route (Conflict), so the configuration it renders has none; manifests may, and the person who wrote them
// should learn it before a request finds it out.
func conflictWarnings(namespace string, routes []configfile.Route) []string {
	keys := make([]string, len(routes))
	first := map[string]*configfile.Route{}
	for i := range routes {
		r := &routes[i]
		keys[i] = routespec.ConflictKey(&r.Spec)
		if winner, ok := first[keys[i]]; !ok || routespec.AnswersFirst(r.Created.Time, r.Name, winner.Created.Time, winner.Name) {
			first[keys[i]] = r
		}
	}
	var warnings []string
	for i := range routes {
		r := &routes[i]
		if winner := first[keys[i]]; winner != r {
			warnings = append(warnings, fmt.Sprintf("IntentRoute %s/%s: the same match and priority as IntentRoute %s/%s, "+
				"which answers first, so this route never answers (a cluster refuses it: Conflict); change its match or priority",
				namespace, r.Name, namespace, winner.Name))
		}
	}
	return warnings
}

// prefixed is each of lines with prefix before it.
func prefixed(prefix string, lines []string) []string {
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return lines
}

// Warnings are what compiles but may fail at request time, each naming its object and field: fallbacks that
// read a value a request may lack. They are the server's to log, not reasons to refuse the configuration.
func (e *Endpoint) Warnings() []string { return e.warnings }

// digest is a short hash, for identities that must not hold a secret.
func digest(text string) []byte {
	sum := sha256.Sum256([]byte(text))
	return sum[:8]
}

// IdempotencyStore is the identity of the endpoint's idempotency store, or "" without one.
func (e *Endpoint) IdempotencyStore() string {
	if e.idempotency == nil {
		return ""
	}
	return e.idempotency.storeIdentity
}
