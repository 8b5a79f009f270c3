// Package server is webhookserver's HTTP side: it serves the compiled endpoints with limits, authentication,
// metrics and structured logs, reloads the configuration without dropping a request, reports health, and drains
// in-flight requests on shutdown.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/action"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/gcpercent"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/idempotency"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/redact"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tlsconfig"
)

// DefaultListen is the webhook listener's address unless --listen sets another, which webhookserver send sends to
// by default.
const DefaultListen = ":8080"

// Options configure a Server.
type Options struct {
	Source Source
	// Listen and MetricsListen are the addresses of the webhook and metrics/health listeners.
	Listen        string
	MetricsListen string
	// AdminListen is the address of the dead-letter operations, "" for none. It must be a loopback address
	// unless AdminTokenFile is set.
	AdminListen string
	// AdminTokenFile, when set, holds the token every admin request must send as `Authorization: Bearer`. It is
	// read on every admin request, so a rotated Secret applies at once.
	AdminTokenFile string
	// ReloadInterval is how often the inputs are checked for changes.
	ReloadInterval time.Duration
	// ShutdownDelay keeps serving after readiness turns false on shutdown, so that load balancers stop
	// sending new requests first; ShutdownTimeout bounds the drain of in-flight requests.
	ShutdownDelay   time.Duration
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// TLSCertFile and TLSKeyFile, when set, serve HTTPS with this certificate, reloaded when the files change
	// (a mounted kubernetes.io/tls Secret). Client certificates are requested and checked per endpoint.
	TLSCertFile string
	TLSKeyFile  string
	// AllowedUpstreams are exempt from the refusal of link-local and cloud metadata addresses in call and
	// forward actions (SSRF protection): set only for a link-local service you trust.
	AllowedUpstreams []netip.Prefix
	// MemoryStoreMaxBytes bounds the answers of all Memory idempotency stores together, bookkeeping included
	// (0: idempotency.DefaultMaxBytes).
	MemoryStoreMaxBytes int64
	// ReadHeaderTimeout bounds how long a client may take to send its request headers (default 10s), so that
	// slow clients cannot hold connections.
	ReadHeaderTimeout time.Duration
	// QueueDir holds the files of Local delivery queues (Async endpoints).
	QueueDir string
	// PodName is this replica's pod: when the configuration names it in drainPods, the server drains (see
	// drain.go). Empty (standalone) never drains.
	PodName string
	// BreakerOpenTimeout is how long an upstream's open circuit stays open before a trial request (default 5s).
	BreakerOpenTimeout time.Duration
	// Tracer, when set, records a span per request and per queued event's delivery (see tracing.go); nil
	// turns tracing off, at no cost to a request.
	Tracer trace.Tracer
	// Secrets, when set, learns every secret value the configuration reads, so that the logger's redaction
	// handler (redact.NewHandler) can keep them out of the logs.
	Secrets *redact.Secrets
}

// Server serves webhook endpoints.
type Server struct {
	opts     Options
	log      *slog.Logger
	metrics  *Metrics
	env      *expr.Env
	breakers *action.Breakers
	// tokens keeps the routes' OAuth2 tokens across reloads, as breakers keeps the upstreams' health.
	tokens *action.TokenStore
	// tracer is Options.Tracer: nil when tracing is off.
	tracer trace.Tracer

	current atomic.Pointer[snapshot]
	// shuttingDown is set on SIGTERM: readiness turns false while in-flight requests finish.
	shuttingDown atomic.Bool
	fingerprint  string
	// failedFingerprint is the last configuration refused, so that it is logged and counted once.
	failedFingerprint string
	mu                sync.Mutex // serializes reloads
	// known are the secret values read so far, for redaction.
	known [][]byte
	// stores are the idempotency stores by identity, kept across reloads so that a reload neither forgets
	// answers nor reconnects; those no endpoint uses any more are closed after a reload.
	stores map[string]idempotency.Store
	// memoryPool holds the answers of every Memory store, so that MemoryStoreMaxBytes bounds the process however
	// many endpoints it serves.
	memoryPool *idempotency.MemoryPool
	// queues are the delivery queues of Async endpoints, with their workers.
	queues queues
	// deps are the last results of the required dependencies' pings, for readiness.
	deps *dependencies
	// report is what GET /statusz says about the configuration.
	report configReport
}

// New loads and compiles the configuration once; an invalid configuration is an error (nothing to serve).
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ReloadInterval <= 0 {
		opts.ReloadInterval = time.Second
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = 10 * time.Second
	}
	if err := checkAdminListen(opts.AdminListen, opts.AdminTokenFile); err != nil {
		return nil, err
	}
	var adminToken [][]byte // checked now, so that a missing file fails the start rather than every admin request
	if opts.AdminTokenFile != "" {
		token, err := ReadAdminToken(opts.AdminTokenFile)
		if err != nil {
			return nil, fmt.Errorf("--admin-token-file: %w", err)
		}
		adminToken = [][]byte{token}
	}
	env, err := expr.NewEnv()
	if err != nil {
		return nil, err
	}
	memoryPool, err := newMemoryPool(opts.MemoryStoreMaxBytes)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: opts.Logger, env: env, deps: newDependencies(), tokens: action.NewTokenStore(), tracer: opts.Tracer,
		memoryPool: memoryPool}
	s.learnSecrets(adminToken)
	s.metrics = NewMetrics(s.currentQueues)
	s.breakers = action.NewBreakers(action.BreakerSettings{
		OpenTimeout: opts.BreakerOpenTimeout,
		OnStateChange: func(upstream, from, to string) {
			s.metrics.setBreakerState(upstream, to)
			s.log.Warn("upstream circuit breaker changed state", "upstream", upstream, "from", from, "to", to)
		},
	})
	if _, err := s.Reload(); err != nil {
		s.closeStores()
		return nil, err
	}
	return s, nil
}

// newMemoryPool is the pool of the Memory idempotency stores, bounded by maxBytes (0: the default).
func newMemoryPool(maxBytes int64) (*idempotency.MemoryPool, error) {
	if maxBytes <= 0 {
		maxBytes = idempotency.DefaultMaxBytes
	}
	// One entry per 300 bytes: a Dialogflow answer with its bookkeeping is larger, so the bytes bind.
	return idempotency.NewMemoryPool(idempotency.WithMaxBytes(maxBytes), idempotency.WithMaxEntries(int(max(maxBytes/300, 1))))
}

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Reload loads the configuration when its inputs changed. An invalid configuration is refused, logged and
// counted, and the current one keeps serving. It reports whether a new configuration was installed.
func (s *Server) Reload() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fingerprint, err := s.opts.Source.Fingerprint()
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", s.opts.Source.Describe(), err)
	}
	switch fingerprint {
	case s.fingerprint:
		// Back to what is served (a refused change reverted): nothing is refused any more.
		s.failedFingerprint = ""
		s.report.forgetRefusal()
		return false, nil
	case s.failedFingerprint:
		return false, nil
	}
	next, version, err := s.build()
	if err != nil {
		s.failedFingerprint = fingerprint
		s.refused(version, err)
		if s.current.Load() != nil {
			s.log.Error("configuration refused; the previous one keeps serving", "source", s.opts.Source.Describe(), "error", err.Error())
		}
		return false, err
	}
	previous := s.current.Swap(next)
	s.noteDraining(previous, next)
	gcPercent := gcpercent.SetRunway()
	s.closeUnusedStores(next)
	s.startWorkers(next)
	s.deps.checkNow()
	s.fingerprint, s.failedFingerprint = fingerprint, ""
	s.served(version)
	s.metrics.setServed(next.endpoints)
	var served []string
	for _, e := range next.endpoints {
		served = append(served, fmt.Sprintf("%s/%s (%s %s, %d routes)", e.Namespace, e.Name, e.Dialect, e.Path, e.RouteCount()))
	}
	if previous == nil {
		s.log.Info("configuration loaded", "source", s.opts.Source.Describe(), "endpoints", served, "gcPercent", gcPercent)
	} else {
		s.log.Info("configuration reloaded", "source", s.opts.Source.Describe(), "endpoints", served, "gcPercent", gcPercent)
	}
	s.logWarnings(next)
	return true, nil
}

// logWarnings logs, once per load, what the configuration serves but may fail at request time.
func (s *Server) logWarnings(snap *snapshot) {
	for _, e := range snap.endpoints {
		for _, warning := range e.Warnings() {
			s.log.Warn("configuration warning", "endpoint", e.Namespace+"/"+e.Name, "warning", warning)
		}
	}
}

// build loads and compiles a snapshot, with the GC at gcpercent.LoadPercent, and says which version of the
// configuration it read (also when it refuses it).
func (s *Server) build() (*snapshot, string, error) {
	defer gcpercent.BeginLoad()()
	loaded, loadErr := s.opts.Source.Load()
	// Admission is done: its schemas are rebuilt on the next change rather than kept live meanwhile, and the
	// memory a load churns through (YAML, schemas) goes back to the system now rather than after minutes of
	// scavenging.
	config.ReleaseSchemas()
	defer debug.FreeOSMemory()
	if loaded.File == nil {
		return nil, loaded.Version, loadErr
	}
	// What was admitted is compiled even when other objects were refused, so that one round reports every
	// problem; the snapshot is served only when there is none.
	recording := &recordingSecrets{source: loaded.Secrets}
	snap, compileErr := compileSnapshot(loaded.File, recording, endpoint.Options{Env: s.env, Breakers: s.breakers, Tokens: s.tokens, Stores: s.store,
		Queues: s.queue, QueueDir: s.opts.QueueDir, AllowedUpstreams: s.opts.AllowedUpstreams, MemoryPool: s.memoryPool,
		Explain: s.log.Enabled(context.Background(), slog.LevelDebug), Logger: s.log, OnTokenFetch: s.tokenFetched},
		s.current.Load())
	s.learnSecrets(recording.values)
	if err := config.Join(loadErr, compileErr, s.missingCertificates(loaded.File)); err != nil {
		return nil, loaded.Version, err
	}
	snap.draining = drains(loaded.File, s.opts.PodName)
	return snap, loaded.Version, nil
}

// tokenFetched counts a route's OAuth2 token fetch and logs a failed one. cause never holds the token or the
// client secret (action.Tokens describes failures without them).
func (s *Server) tokenFetched(endpoint, route, result string, cause error) {
	s.metrics.tokenFetches.WithLabelValues(endpoint, route, result).Inc()
	if cause != nil {
		s.log.Warn("OAuth2 token fetch failed: the route answers its fallback until a token is obtained", "endpoint", endpoint,
			"route", route, "result", result, "error", cause.Error())
	}
}

// missingCertificates refuses endpoints that serve TLS when the server has no certificate to serve it with.
func (s *Server) missingCertificates(file *configfile.File) error {
	if s.opts.TLSCertFile != "" {
		return nil
	}
	var found []config.Problem
	for _, e := range file.Endpoints {
		if t := e.Spec.TLS; t != nil && t.Mode != "" && t.Mode != fulfillmentv1alpha1.TLSModeDisabled {
			found = append(found, config.ProblemAt(e.Source, "WebhookEndpoint", e.Namespace, e.Name, "spec.tls.mode", fmt.Sprintf(
				"%s, but the server has no certificate: start it with --tls-cert-file and --tls-key-file (the operator does), "+
					"or set tls.mode: Disabled", t.Mode)))
		}
	}
	if len(found) == 0 {
		return nil
	}
	return &config.Error{Problems: found}
}

// learnSecrets adds values to the redaction set. Values are never forgotten: a rotated-out key is still a
// secret.
func (s *Server) learnSecrets(values [][]byte) {
	if s.opts.Secrets == nil || len(values) == 0 {
		return
	}
	s.known = append(s.known, values...)
	s.opts.Secrets.Set(s.known)
}

// store returns the idempotency store of identity, creating it once.
func (s *Server) store(identity string, create func() (idempotency.Store, error)) (idempotency.Store, error) {
	if store, ok := s.stores[identity]; ok {
		return store, nil
	}
	store, err := create()
	if err != nil {
		return nil, err
	}
	if s.stores == nil {
		s.stores = map[string]idempotency.Store{}
	}
	s.stores[identity] = store
	return store, nil
}

// closeStores closes every idempotency store and the Memory stores' pool, on shutdown.
func (s *Server) closeStores() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for identity, store := range s.stores {
		_ = store.Close()
		delete(s.stores, identity)
	}
	_ = s.memoryPool.Close()
}

// closeUnusedStores closes the stores the current snapshot does not use (an endpoint was removed or its store
// changed). Requests still finishing on the previous snapshot may fail to store their answer: they are sent.
func (s *Server) closeUnusedStores(current *snapshot) {
	used := map[string]bool{}
	for _, e := range current.endpoints {
		used[e.IdempotencyStore()] = true
	}
	for identity, store := range s.stores {
		if !used[identity] {
			_ = store.Close()
			delete(s.stores, identity)
		}
	}
}

// recordingSecrets remembers every value read through it.
type recordingSecrets struct {
	source config.SecretSource
	values [][]byte
}

// ConfigMap implements config.ConfigMapSource; ConfigMap values are not secret, so not recorded.
func (r *recordingSecrets) ConfigMap(namespace, name, key string) ([]byte, error) {
	return config.ReadConfigMap(r.source, namespace, name, key)
}

func (r *recordingSecrets) Secret(namespace, name, key string) ([]byte, error) {
	value, err := r.source.Secret(namespace, name, key)
	if err == nil {
		r.values = append(r.values, value)
	}
	return value, err
}

// Listeners are the server's listeners; Admin is nil when there is no admin listener.
type Listeners struct {
	Webhook, Metrics, Admin net.Listener
}

func (l Listeners) close() {
	for _, listener := range []net.Listener{l.Webhook, l.Metrics, l.Admin} {
		if listener != nil {
			_ = listener.Close()
		}
	}
}

// Run serves until ctx is done, then drains: readiness turns false, new requests keep being served for
// ShutdownDelay, and in-flight requests finish within ShutdownTimeout.
func (s *Server) Run(ctx context.Context) error {
	listeners, err := s.listen()
	if err != nil {
		return err
	}
	return s.Serve(ctx, listeners)
}

// listen opens the listeners of the options; on an error none stays open.
func (s *Server) listen() (Listeners, error) {
	var l Listeners
	var err error
	if l.Webhook, err = listenTCP(s.opts.Listen); err != nil {
		return Listeners{}, err
	}
	if l.Metrics, err = listenTCP(s.opts.MetricsListen); err != nil {
		l.close()
		return Listeners{}, err
	}
	if s.opts.AdminListen == "" {
		return l, nil
	}
	if l.Admin, err = listenTCP(s.opts.AdminListen); err != nil {
		l.close()
		return Listeners{}, err
	}
	return l, nil
}

func listenTCP(address string) (net.Listener, error) {
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", address, err)
	}
	return listener, nil
}

// Serve is Run on listeners the caller opened (tests use port 0).
func (s *Server) Serve(ctx context.Context, listeners Listeners) error {
	webhook := &http.Server{
		Handler: s,
		// Slow clients must not hold connections: headers within 10s, a whole request within 30s.
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      40 * time.Second,
		IdleTimeout:       configfile.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	metrics := &http.Server{Handler: s.metricsHandler(), ReadHeaderTimeout: 5 * time.Second}
	admin := &http.Server{Handler: s.adminHandler(), ReadHeaderTimeout: 5 * time.Second}

	// Delivery workers run until the drain below is over, then stop: an event in progress stays queued.
	s.queues.mu.Lock()
	s.queues.base, s.queues.stopAll = context.WithCancel(context.Background())
	s.queues.mu.Unlock()
	s.startWorkers(s.current.Load())

	errs := make(chan error, 4)
	if s.opts.TLSCertFile != "" {
		reloader, err := s.tlsReloader()
		if err != nil {
			listeners.close()
			return err
		}
		go reloader.Run(ctx)
		webhook.TLSConfig = reloader.TLSConfig()
		go func() { errs <- ignoreClosed(webhook.ServeTLS(listeners.Webhook, "", "")) }()
	} else {
		go func() { errs <- ignoreClosed(webhook.Serve(listeners.Webhook)) }()
	}
	go func() { errs <- ignoreClosed(metrics.Serve(listeners.Metrics)) }()
	adminAddress := "off"
	if listeners.Admin != nil {
		adminAddress = listeners.Admin.Addr().String()
		go func() { errs <- ignoreClosed(admin.Serve(listeners.Admin)) }()
	}
	go func() { errs <- s.watch(ctx) }()
	go s.checkDependencies(ctx)
	s.log.Info("serving", "listen", listeners.Webhook.Addr().String(), "metricsListen", listeners.Metrics.Addr().String(),
		"adminListen", adminAddress, "adminToken", s.opts.AdminTokenFile != "")

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	}
	s.shuttingDown.Store(true)
	s.log.Info("shutting down: draining in-flight requests", "delay", s.opts.ShutdownDelay.String())
	time.Sleep(s.opts.ShutdownDelay)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	if err := webhook.Shutdown(shutdownCtx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("draining requests: %w", err))
	}
	s.stopWorkers()
	s.closeStores()
	_ = metrics.Shutdown(shutdownCtx)
	_ = admin.Shutdown(shutdownCtx)
	s.log.Info("stopped")
	return runErr
}

// tlsReloader loads the serving certificate and watches it. Client certificates are requested, not verified, in
// the handshake: each endpoint verifies them against its own CA bundle, so that a bad certificate gets an HTTP
// answer with a reason instead of a TLS alert.
func (s *Server) tlsReloader() (*tlsconfig.Reloader, error) {
	reloader, err := tlsconfig.New(tlsconfig.Options{
		CertFile:   s.opts.TLSCertFile,
		KeyFile:    s.opts.TLSKeyFile,
		ClientAuth: tls.RequestClientCert,
		OnReload: func(info tlsconfig.Info) {
			s.metrics.certificateNotAfter.Set(float64(info.NotAfter.Unix()))
			s.log.Info("serving certificate loaded", "subject", info.Subject, "dnsNames", info.DNSNames, "notAfter", info.NotAfter)
		},
		OnError: func(err error) {
			s.metrics.reloads.WithLabelValues("failure").Inc()
			s.log.Error("serving certificate refused; the previous one keeps serving", "error", err.Error())
		},
	})
	if err != nil {
		return nil, fmt.Errorf("loading the serving certificate: %w", err)
	}
	s.metrics.certificateNotAfter.Set(float64(reloader.NotAfter().Unix()))
	return reloader, nil
}

// ignoreClosed treats the end of serving on shutdown as no error.
func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// watch reloads the configuration whenever its inputs change, until ctx is done.
func (s *Server) watch(ctx context.Context) error {
	ticker := time.NewTicker(s.opts.ReloadInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if _, err := s.Reload(); err != nil && s.current.Load() == nil {
				return err
			}
		}
	}
}

// metricsHandler serves /healthz, /readyz and /metrics on the metrics listener.
func (s *Server) metricsHandler() http.Handler {
	mux := http.NewServeMux()
	// Liveness: the process serves. A down dependency is not a reason to restart it.
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	// Readiness: it reads the last dependency pings (checkDependencies) and never calls Redis itself.
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		snap := s.current.Load()
		switch {
		case s.shuttingDown.Load():
			http.Error(w, "shutting down\n", http.StatusServiceUnavailable)
		case snap == nil:
			http.Error(w, "no configuration loaded\n", http.StatusServiceUnavailable)
		case snap.draining:
			http.Error(w, retiringMessage(s.readLocalQueues(snap))+"\n", http.StatusServiceUnavailable)
		default:
			if problems := unavailable(snap.endpoints, s.deps.isDown); len(problems) > 0 {
				http.Error(w, "not ready: "+strings.Join(problems, "; ")+"\n", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ok\n"))
		}
	})
	mux.HandleFunc(statusz.Path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Status())
	})
	mux.Handle("/metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "admin operations are served on the admin listener (--admin-listen), not on the metrics listener")
	})
	return mux
}

// snapshot is one compiled configuration; requests use the snapshot current when they arrive, so a reload
// never changes a request in the middle.
type snapshot struct {
	endpoints []*endpoint.Endpoint
	byPath    map[string]*served
	// extraPaths are the paths a dialect's platform calls beside its endpoints' (Rasa's GET /health and /actions).
	extraPaths map[string]*extraPath
	// draining is set when the configuration names this replica's pod in drainPods.
	draining bool
}

type served struct {
	endpoint *endpoint.Endpoint
	limiter  *limiter
	// failures are the budgets of authentication failures of the client addresses that failed.
	failures *failingClients
	// credentialHeaders carry the credentials of the endpoint's basic, bearer and OIDC checks.
	credentialHeaders []string
	methods           map[string]bool
	// allow is the Allow header of a 405 or an OPTIONS answer: the methods, then OPTIONS, which every endpoint
	// answers.
	allow string
	// name is namespace/name, the endpoint label of metrics and logs.
	name string
	// authContext is set when an auth check uses the request context (OIDC, mTLS): only then do the checks
	// get a context of their own, bounded by the endpoint's timeout.
	authContext bool
	// closeConnections: the endpoint is leaving this server (configfile.Endpoint.Leaving).
	closeConnections bool
	metrics          endpointMetrics
}

// failuresOf is the budgets of authentication failures of the endpoint named namespace/name in snap, or new
// ones when snap (nil before the first load) does not serve it.
func (snap *snapshot) failuresOf(name string) *failingClients {
	if snap != nil {
		for _, entry := range snap.byPath {
			if entry.name == name {
				return entry.failures
			}
		}
	}
	return newFailingClients()
}

// compileSnapshot compiles every endpoint; two endpoints on one path are refused. An endpoint that previous
// served keeps its budgets of authentication failures and the credentials it knows: a reload (a rotated Secret,
// a route edit) must not give a flooding address a fresh budget.
func compileSnapshot(file *configfile.File, secrets config.SecretSource, opts endpoint.Options, previous *snapshot) (*snapshot, error) {
	snap := &snapshot{byPath: map[string]*served{}, extraPaths: map[string]*extraPath{}}
	var errs []error
	for _, spec := range file.Endpoints {
		compiled, err := endpoint.Compile(spec, secrets, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if other, taken := snap.byPath[compiled.Path]; taken {
			errs = append(errs, &config.Error{Problems: []config.Problem{config.ProblemAt(spec.Source, "WebhookEndpoint", spec.Namespace, spec.Name, "spec.path",
				fmt.Sprintf("%s is also the path of %s/%s; give one another path or serve one with --endpoint",
					compiled.Path, other.endpoint.Namespace, other.endpoint.Name))}})
			continue
		}
		name := compiled.Namespace + "/" + compiled.Name
		entry := &served{endpoint: compiled, limiter: newLimiter(compiled.RequestsPerSecond, compiled.Burst),
			failures: previous.failuresOf(name), credentialHeaders: auth.CredentialHeaders(compiled.Auth), methods: map[string]bool{},
			name: name, authContext: auth.UsesContext(compiled.Auth), closeConnections: spec.Leaving}
		for _, m := range compiled.Methods {
			entry.methods[m] = true
		}
		entry.allow = strings.Join(append(slices.Clone(compiled.Methods), http.MethodOptions), ", ")
		snap.byPath[compiled.Path] = entry
		snap.endpoints = append(snap.endpoints, compiled)
		for _, path := range compiled.ExtraPaths() {
			snap.extraPaths[path.Path] = &extraPath{entry, path}
		}
	}
	for _, refused := range file.Refused {
		errs = append(errs, endpoint.CheckRoutes(refused, secrets, opts))
	}
	if err := config.Join(errs...); err != nil {
		return nil, err
	}
	return snap, nil
}
