package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// ContextChecker is a Checker that uses the request's context: to bound network work (OIDC key fetches) by the
// request's deadline, and to read what the server attaches to it (WithConnectionState). Servers should call
// CheckContext, which prefers this method; Check stays for callers without a context and must bound itself.
type ContextChecker interface {
	Checker
	CheckContext(ctx context.Context, r *Request) *Failure
}

// CheckContext runs c with the request context: a ContextChecker (also inside All) gets ctx, any other Checker
// its Check. c must not be nil.
func CheckContext(ctx context.Context, c Checker, r *Request) *Failure {
	switch c := c.(type) {
	case All:
		for _, one := range c {
			if f := CheckContext(ctx, one, r); f != nil {
				return f
			}
		}
		return nil
	case ContextChecker:
		return c.CheckContext(ctx, r)
	default:
		return c.Check(r)
	}
}

const oidcMethod = "oidc"

// Reasons of an OIDC Failure. None of them carries the token or a claim of it.
const (
	oidcReasonMissingToken      = "missing_token"
	oidcReasonMalformedToken    = "malformed_token"
	oidcReasonInvalidSignature  = "invalid_signature"
	oidcReasonTokenExpired      = "token_expired"
	oidcReasonTokenNotYetValid  = "token_not_yet_valid"
	oidcReasonWrongIssuer       = "wrong_issuer"
	oidcReasonWrongAudience     = "wrong_audience"
	oidcReasonSubjectNotAllowed = "subject_not_allowed"
	oidcReasonInsufficientScope = "insufficient_scope"
	// oidcReasonIssuerUnavailable comes with 503: the keys could not be fetched, which the caller cannot fix.
	oidcReasonIssuerUnavailable = "issuer_unavailable"
)

// Google's ID tokens sometimes carry the issuer without its scheme.
const (
	oidcGoogleIssuer     = "https://accounts.google.com"
	oidcGoogleBareIssuer = "accounts.google.com"
)

// Defaults of the OIDC options.
const (
	DefaultOIDCLeeway             = 30 * time.Second
	DefaultOIDCMinRefreshInterval = 10 * time.Second
	DefaultOIDCRefreshInterval    = time.Hour
	DefaultOIDCFetchTimeout       = 5 * time.Second
)

const (
	// oidcMaxTokenBytes bounds the work spent on a header: real ID tokens are one or two kilobytes.
	oidcMaxTokenBytes = 16 << 10
	// oidcMaxDocumentBytes bounds discovery documents and key sets read from the issuer.
	oidcMaxDocumentBytes = 1 << 20
	// oidcMinRSABits refuses weak published keys instead of trusting them.
	oidcMinRSABits = 2048
	// oidcMaxFailureBackoff is the longest a failed fetch keeps requests from trying again: after an outage the
	// issuer is used again within about a second, however long the unknown-key rate limit is.
	oidcMaxFailureBackoff = time.Second
)

// oidcAlgorithms are the signature algorithms accepted; never "none" and never HMAC, whose key would be public.
var oidcAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// OIDC checks an OpenID Connect ID token sent as `Authorization: Bearer <jwt>`, for example the token of the
// Dialogflow CX service agent (issuer https://accounts.google.com).
//
// The issuer's discovery document and key set are fetched lazily and cached: NewOIDC never waits for the
// network, and a request waits at most for its own context (Check: the fetch timeout). Keys are refreshed
//   - when a token names a key ID that is not cached (the issuer rotated), at most once per minimum refresh
//     interval, so that tokens with made-up key IDs cannot make the server hammer the issuer;
//   - when the cached set is older than the refresh interval, in the background while the cached keys keep
//     serving, so that a key the issuer removed stops being trusted.
//
// A refresh replaces the whole set; when it fails, the cached keys keep serving.
//
// When the keys cannot be had (no keys yet, or a key ID the failed refetch could not bring) the answer is 503
// issuer_unavailable, never acceptance: the caller's token may well be valid, so 401 would tell it to fix
// credentials it cannot fix, while 503 says that the server cannot check right now and that a retry may pass
// (Generic senders retry on 5xx; Dialogflow answers with its fallback either way).
//
// Claims the token states are checked before its signature (issuer, audience, times): they can only refuse, and
// checking them first gives the caller the helpful reason and avoids key fetches for foreign tokens. Nothing is
// accepted, and no 403 is given, before the signature is verified.
type OIDC struct {
	issuer    string
	audiences []string
	subjects  map[string]bool // sub claims, exact
	scopes    []string        // every one must be granted
	emails    map[string]bool // email claims, lower case
	opts      oidcOptions

	mu        sync.Mutex
	keys      *oidcKeySet // nil until the first successful fetch
	jwksURI   string      // from discovery; empty until discovered, or after a failed key fetch
	inflight  *oidcFetch
	attempted time.Time // start of the last fetch
	failed    bool      // whether the last finished fetch failed
}

type oidcOptions struct {
	client             *http.Client
	leeway             time.Duration
	minRefreshInterval time.Duration
	refreshInterval    time.Duration
	fetchTimeout       time.Duration
	now                func() time.Time
	onFetchError       func(error)
	prefetch           bool
}

// OIDCOption configures NewOIDC.
type OIDCOption func(*oidcOptions)

// WithOIDCHTTPClient sets the client for discovery and key fetches (default: a client with the fetch timeout).
func WithOIDCHTTPClient(client *http.Client) OIDCOption {
	return func(o *oidcOptions) { o.client = client }
}

// WithOIDCLeeway sets the clock skew allowed for exp, nbf and iat (default 30s).
func WithOIDCLeeway(d time.Duration) OIDCOption { return func(o *oidcOptions) { o.leeway = d } }

// WithOIDCMinRefreshInterval sets how often at most an unknown key ID refetches the key set (default 10s).
func WithOIDCMinRefreshInterval(d time.Duration) OIDCOption {
	return func(o *oidcOptions) { o.minRefreshInterval = d }
}

// WithOIDCRefreshInterval sets the age after which the cached key set is refreshed (default 1h).
func WithOIDCRefreshInterval(d time.Duration) OIDCOption {
	return func(o *oidcOptions) { o.refreshInterval = d }
}

// WithOIDCFetchTimeout bounds one discovery plus key set fetch, and Check without a context (default 5s).
func WithOIDCFetchTimeout(d time.Duration) OIDCOption {
	return func(o *oidcOptions) { o.fetchTimeout = d }
}

// WithOIDCClock sets the clock that token times are compared with.
func WithOIDCClock(now func() time.Time) OIDCOption { return func(o *oidcOptions) { o.now = now } }

// WithOIDCFetchErrorHandler receives every failed discovery or key fetch, for logs and metrics. The errors name
// URLs and statuses, never a token.
func WithOIDCFetchErrorHandler(handle func(error)) OIDCOption {
	return func(o *oidcOptions) { o.onFetchError = handle }
}

// WithoutOIDCPrefetch makes NewOIDC start no fetch: the first request fetches.
func WithoutOIDCPrefetch() OIDCOption { return func(o *oidcOptions) { o.prefetch = false } }

// NewOIDC returns an OIDC checker for spec. It does not wait for the network: unless WithoutOIDCPrefetch is
// given it starts fetching the issuer's keys in the background, so that they are usually ready before the first
// request. The fetch keeps ctx's values but not its cancellation (the checker outlives the call; the fetch
// timeout bounds it).
func NewOIDC(ctx context.Context, spec *fulfillmentv1alpha1.OIDCAuth, opts ...OIDCOption) (*OIDC, error) {
	if spec == nil {
		return nil, errors.New("oidc: no configuration")
	}
	issuer, err := url.Parse(spec.Issuer)
	if err != nil || issuer.Scheme != "https" || issuer.Host == "" || issuer.RawQuery != "" || issuer.Fragment != "" {
		return nil, fmt.Errorf("oidc: issuer %q must be an https URL without query or fragment", spec.Issuer)
	}
	if len(spec.Audiences) == 0 {
		return nil, errors.New("oidc: at least one audience is required")
	}
	o := &OIDC{
		issuer:    spec.Issuer,
		audiences: append([]string(nil), spec.Audiences...),
		opts: oidcOptions{
			leeway:             DefaultOIDCLeeway,
			minRefreshInterval: DefaultOIDCMinRefreshInterval,
			refreshInterval:    DefaultOIDCRefreshInterval,
			fetchTimeout:       DefaultOIDCFetchTimeout,
			now:                time.Now,
			prefetch:           true,
		},
	}
	for _, opt := range opts {
		opt(&o.opts)
	}
	if o.opts.client == nil {
		o.opts.client = &http.Client{Timeout: o.opts.fetchTimeout}
	}
	for _, s := range spec.RequiredScopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return nil, fmt.Errorf("oidc: requiredScopes: %q is not a scope token (RFC 6749 section 3.3)", s)
		}
	}
	o.scopes = append([]string(nil), spec.RequiredScopes...)
	if len(spec.AllowedSubjects) > 0 {
		o.subjects, o.emails = map[string]bool{}, map[string]bool{}
		for _, s := range spec.AllowedSubjects {
			o.subjects[s] = true
			o.emails[strings.ToLower(s)] = true
		}
	}
	if o.opts.prefetch {
		if ctx == nil {
			ctx = context.Background()
		}
		o.mu.Lock()
		o.startFetchLocked(context.WithoutCancel(ctx), time.Now())
		o.mu.Unlock()
	}
	return o, nil
}

// Check implements Checker; network work is bounded by the fetch timeout. Prefer CheckContext.
func (o *OIDC) Check(r *Request) *Failure {
	ctx, cancel := context.WithTimeout(context.Background(), o.opts.fetchTimeout)
	defer cancel()
	return o.CheckContext(ctx, r)
}

// CheckContext implements ContextChecker: a key fetch the request must wait for ends when ctx does, and the
// request is then refused with 503 issuer_unavailable.
func (o *OIDC) CheckContext(ctx context.Context, r *Request) *Failure {
	token, failure := bearerToken(r, oidcMethod)
	if failure != nil {
		return failure
	}
	jws, err := jose.ParseSignedCompact(token, oidcAlgorithms)
	if err != nil {
		var unexpected *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &unexpected) {
			// none, HS256 and the like: no key of the issuer can have made it.
			return oidcFailure(http.StatusUnauthorized, oidcReasonInvalidSignature)
		}
		return oidcFailure(http.StatusUnauthorized, oidcReasonMalformedToken)
	}
	if len(jws.Signatures) != 1 {
		return oidcFailure(http.StatusUnauthorized, oidcReasonMalformedToken)
	}
	var claims oidcClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return oidcFailure(http.StatusUnauthorized, oidcReasonMalformedToken)
	}
	if f := o.checkClaims(&claims); f != nil {
		return f
	}
	if f := o.verifySignature(ctx, jws); f != nil {
		return f
	}
	if o.subjects != nil && !o.subjectAllowed(&claims) {
		return oidcFailure(http.StatusForbidden, oidcReasonSubjectNotAllowed)
	}
	if len(o.scopes) > 0 && missingScopes(claims.grantedScopes(), o.scopes) {
		f := oidcFailure(http.StatusForbidden, oidcReasonInsufficientScope)
		f.BearerError, f.Scope = BearerErrorInsufficientScope, strings.Join(o.scopes, " ")
		return f
	}
	return nil
}

// oidcClaims are the claims read from an ID token.
type oidcClaims struct {
	Issuer        string           `json:"iss"`
	Subject       string           `json:"sub"`
	Audience      jwt.Audience     `json:"aud"`
	Expiry        *jwt.NumericDate `json:"exp"`
	NotBefore     *jwt.NumericDate `json:"nbf"`
	IssuedAt      *jwt.NumericDate `json:"iat"`
	Email         string           `json:"email"`
	EmailVerified json.RawMessage  `json:"email_verified"`
	// Scope is a JWT access token's space-separated scopes (RFC 9068, RFC 8693); SCP the list some issuers
	// write instead. Either may be a string or a list.
	Scope json.RawMessage `json:"scope"`
	SCP   json.RawMessage `json:"scp"`
}

// grantedScopes are the scopes of scope and scp together; a claim of another shape grants nothing.
func (c *oidcClaims) grantedScopes() []string {
	var granted []string
	for _, raw := range []json.RawMessage{c.Scope, c.SCP} {
		if len(raw) == 0 {
			continue
		}
		var spaced string
		if err := json.Unmarshal(raw, &spaced); err == nil {
			granted = append(granted, strings.Fields(spaced)...)
			continue
		}
		var list []string
		if err := json.Unmarshal(raw, &list); err == nil {
			granted = append(granted, list...)
		}
	}
	return granted
}

// checkClaims refuses tokens of another issuer or audience and tokens outside their validity.
func (o *OIDC) checkClaims(c *oidcClaims) *Failure {
	if c.Issuer != o.issuer && (o.issuer != oidcGoogleIssuer || c.Issuer != oidcGoogleBareIssuer) {
		// Google's tokens sometimes say accounts.google.com without the scheme; only Google's are let off.
		return oidcFailure(http.StatusUnauthorized, oidcReasonWrongIssuer)
	}
	audienceOK := false
	for _, a := range o.audiences {
		if c.Audience.Contains(a) {
			audienceOK = true
			break
		}
	}
	if !audienceOK {
		return oidcFailure(http.StatusUnauthorized, oidcReasonWrongAudience)
	}
	if c.Expiry == nil {
		return oidcFailure(http.StatusUnauthorized, oidcReasonMalformedToken) // an ID token without exp never ends
	}
	now := o.opts.now()
	if now.Add(-o.opts.leeway).After(c.Expiry.Time()) {
		return oidcFailure(http.StatusUnauthorized, oidcReasonTokenExpired)
	}
	if (c.NotBefore != nil && now.Add(o.opts.leeway).Before(c.NotBefore.Time())) ||
		(c.IssuedAt != nil && now.Add(o.opts.leeway).Before(c.IssuedAt.Time())) {
		return oidcFailure(http.StatusUnauthorized, oidcReasonTokenNotYetValid)
	}
	return nil
}

// subjectAllowed matches sub exactly, or email (case-insensitively) unless the issuer says it is not verified.
func (o *OIDC) subjectAllowed(c *oidcClaims) bool {
	if c.Subject != "" && o.subjects[c.Subject] {
		return true
	}
	if c.Email == "" || !o.emails[strings.ToLower(c.Email)] {
		return false
	}
	switch strings.TrimSpace(string(c.EmailVerified)) {
	case "false", `"false"`: // some issuers send the boolean as a string
		return false
	}
	return true
}

// verifySignature verifies the token with the issuer's keys, refetching them when it names an unknown key.
func (o *OIDC) verifySignature(ctx context.Context, jws *jose.JSONWebSignature) *Failure {
	header := jws.Signatures[0].Header
	keys, _ := o.keySet(ctx, false)
	if keys == nil {
		return oidcFailure(http.StatusServiceUnavailable, oidcReasonIssuerUnavailable)
	}
	if known, verified := keys.verify(jws, header.KeyID, header.Algorithm); verified {
		return nil
	} else if known {
		return oidcFailure(http.StatusUnauthorized, oidcReasonInvalidSignature)
	}
	// The issuer may have rotated to a key published after the last fetch.
	keys, failed := o.keySet(ctx, true)
	if _, verified := keys.verify(jws, header.KeyID, header.Algorithm); verified {
		return nil
	}
	if failed {
		// A new key the server cannot fetch is not the caller's fault: say so instead of "invalid".
		return oidcFailure(http.StatusServiceUnavailable, oidcReasonIssuerUnavailable)
	}
	return oidcFailure(http.StatusUnauthorized, oidcReasonInvalidSignature)
}

// keySet returns the cached keys, fetching them when there are none or when refetch asks for newer ones (both
// subject to the rate limits), and starting a background refresh when they are old. failed reports that the
// newest keys could not be had: the last fetch failed, or the request's context ended while waiting for it.
func (o *OIDC) keySet(ctx context.Context, refetch bool) (keys *oidcKeySet, failed bool) {
	now := time.Now()
	o.mu.Lock()
	keys = o.keys
	wait := keys == nil || refetch
	var fetch *oidcFetch
	if wait || now.Sub(keys.fetched) >= o.opts.refreshInterval {
		fetch = o.startFetchLocked(context.Background(), now)
	}
	failed = o.failed
	o.mu.Unlock()
	if !wait || fetch == nil {
		// Background refresh, or rate-limited: the cached keys are all there is.
		return keys, failed
	}
	select {
	case <-fetch.done:
	case <-ctx.Done():
		return keys, true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.keys, fetch.err != nil
}

// oidcFetch is one discovery and key set fetch that several requests may wait for.
type oidcFetch struct {
	done chan struct{}
	err  error
}

// startFetchLocked returns the fetch in flight, or starts one unless the last one was too recent. o.mu is held.
func (o *OIDC) startFetchLocked(ctx context.Context, now time.Time) *oidcFetch {
	if o.inflight != nil {
		return o.inflight
	}
	if !o.attempted.IsZero() {
		wait := o.opts.minRefreshInterval
		if o.failed {
			wait = min(wait, oidcMaxFailureBackoff)
		}
		if now.Sub(o.attempted) < wait {
			return nil
		}
	}
	fetch := &oidcFetch{done: make(chan struct{})}
	o.inflight, o.attempted = fetch, now
	jwksURI := o.jwksURI
	go func() {
		// Detached from any one request: others may wait for this fetch after the first gives up.
		ctx, cancel := context.WithTimeout(ctx, o.opts.fetchTimeout)
		defer cancel()
		keys, discovered, err := o.fetch(ctx, jwksURI)
		o.mu.Lock()
		if err == nil {
			o.keys, o.jwksURI = keys, discovered
		} else {
			o.jwksURI = "" // discover again next time: the key set may have moved
		}
		o.failed, o.inflight = err != nil, nil
		fetch.err = err
		close(fetch.done)
		o.mu.Unlock()
		if err != nil && o.opts.onFetchError != nil {
			o.opts.onFetchError(err)
		}
	}()
	return fetch
}

// fetch discovers the key set URL (unless known) and fetches the keys.
func (o *OIDC) fetch(ctx context.Context, jwksURI string) (*oidcKeySet, string, error) {
	if jwksURI == "" {
		var discovery struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		discoveryURL := strings.TrimSuffix(o.issuer, "/") + "/.well-known/openid-configuration"
		if err := o.getJSON(ctx, discoveryURL, &discovery); err != nil {
			return nil, "", fmt.Errorf("oidc discovery: %w", err)
		}
		if discovery.Issuer != o.issuer {
			// OpenID Connect Discovery 1.0, 4.3: a document for another issuer must not be used.
			return nil, "", fmt.Errorf("oidc discovery: %s names issuer %q, not %q", discoveryURL, discovery.Issuer, o.issuer)
		}
		u, err := url.Parse(discovery.JWKSURI)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, "", fmt.Errorf("oidc discovery: jwks_uri %q of %s is not an https URL", discovery.JWKSURI, discoveryURL)
		}
		jwksURI = discovery.JWKSURI
	}
	var document struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := o.getJSON(ctx, jwksURI, &document); err != nil {
		return nil, "", fmt.Errorf("oidc keys: %w", err)
	}
	keys := &oidcKeySet{byID: map[string][]jose.JSONWebKey{}, fetched: time.Now()}
	for _, raw := range document.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil {
			continue // a key type this server does not know: the others still serve
		}
		if !oidcUsableKey(&key) {
			continue
		}
		key = key.Public() // a private part published by mistake is not kept
		keys.all = append(keys.all, key)
		keys.byID[key.KeyID] = append(keys.byID[key.KeyID], key)
	}
	if len(keys.all) == 0 {
		// An empty set is far more likely a broken answer than an issuer that signs nothing: keep the old keys.
		return nil, "", fmt.Errorf("oidc keys: %s has no usable signing key", jwksURI)
	}
	return keys, jwksURI, nil
}

// oidcUsableKey admits asymmetric signature keys of sound size.
func oidcUsableKey(key *jose.JSONWebKey) bool {
	if key.Use != "" && key.Use != "sig" {
		return false
	}
	switch k := key.Key.(type) {
	case *rsa.PublicKey:
		return k.N.BitLen() >= oidcMinRSABits
	case *rsa.PrivateKey:
		return k.N.BitLen() >= oidcMinRSABits
	case *ecdsa.PublicKey, *ecdsa.PrivateKey, ed25519.PublicKey, ed25519.PrivateKey:
		return true
	default:
		return false // symmetric keys above all: an HMAC key in a public document is no secret
	}
}

// getJSON fetches a JSON document of at most oidcMaxDocumentBytes.
func (o *OIDC) getJSON(ctx context.Context, target string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := o.opts.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", target, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, oidcMaxDocumentBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", target, err)
	}
	if len(body) > oidcMaxDocumentBytes {
		return fmt.Errorf("GET %s: document over %d bytes", target, oidcMaxDocumentBytes)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("GET %s: %w", target, err)
	}
	return nil
}

// oidcKeySet is one fetched key set.
type oidcKeySet struct {
	byID    map[string][]jose.JSONWebKey
	all     []jose.JSONWebKey
	fetched time.Time
}

// verify tries the keys that may have signed jws. known reports that the key ID is in the set (or, for a token
// without key ID, that the set has keys at all): a refetch cannot help a known key that does not verify.
func (s *oidcKeySet) verify(jws *jose.JSONWebSignature, keyID, algorithm string) (known, verified bool) {
	if s == nil {
		return false, false
	}
	candidates := s.all
	if keyID != "" {
		candidates = s.byID[keyID]
	}
	for i := range candidates {
		key := &candidates[i]
		if key.Algorithm != "" && key.Algorithm != algorithm {
			continue
		}
		if _, err := jws.Verify(key.Key); err == nil {
			return true, true
		}
	}
	return keyID != "" && len(candidates) > 0, false
}

func oidcFailure(status int, reason string) *Failure {
	f := &Failure{Status: status, Method: oidcMethod, Reason: reason}
	if status == http.StatusUnauthorized && reason != oidcReasonMissingToken {
		f.BearerError = BearerErrorInvalidToken // RFC 6750 section 3.1: a token was sent and is not good
	}
	return f
}

// UsesContext says whether c (or one inside an All) is a ContextChecker. A server can skip giving the checks a
// context of their own, with a deadline, when none uses it.
func UsesContext(c Checker) bool {
	switch c := c.(type) {
	case All:
		for _, one := range c {
			if UsesContext(one) {
				return true
			}
		}
		return false
	case ContextChecker:
		return true
	}
	return false
}
