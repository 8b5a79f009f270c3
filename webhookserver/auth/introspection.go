package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	"k8s.io/utils/lru"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

const oauth2Method = "oauth2"

// Reasons of an OAuth 2.0 introspection Failure. None of them carries the token or what the server said of it.
const (
	oauth2ReasonMissingToken      = "missing_token"
	oauth2ReasonMalformedToken    = "malformed_token"
	oauth2ReasonInactiveToken     = "inactive_token"
	oauth2ReasonWrongTokenType    = "wrong_token_type"
	oauth2ReasonWrongAudience     = "wrong_audience"
	oauth2ReasonInsufficientScope = "insufficient_scope"
	// oauth2ReasonIntrospectionUnavailable comes with 503: the authorization server did not give an answer,
	// which the caller cannot fix.
	oauth2ReasonIntrospectionUnavailable = "introspection_unavailable"
)

// RFC 6750 section 3.1 error codes, for the WWW-Authenticate challenge.
const (
	BearerErrorInvalidToken      = "invalid_token"
	BearerErrorInsufficientScope = "insufficient_scope"
)

// Defaults of the introspection options.
const (
	DefaultIntrospectionCacheTTL     = time.Minute
	DefaultIntrospectionCacheEntries = 10000
	DefaultIntrospectionTimeout      = 5 * time.Second
	// DefaultIntrospectionInactiveTTL is the longest an inactive answer is reused: long enough that a caller
	// repeating a revoked or made-up token cannot make every request an introspection call, short enough that a
	// token issued with a future nbf starts working soon after.
	DefaultIntrospectionInactiveTTL = 10 * time.Second
)

// introspectionMaxAnswerBytes bounds an answer of the authorization server: real ones are a few hundred bytes.
const introspectionMaxAnswerBytes = 64 << 10

// Introspection checks an OAuth 2.0 access token sent as `Authorization: Bearer <token>` by asking the
// authorization server about it (RFC 7662): the token is POSTed to the introspection URL with the server's own
// client credentials (HTTP basic), and the answer must say active, name the audience (when one is configured)
// and grant every required scope.
//
// Answers are cached by the SHA-256 of the token (the token itself is never kept), an active one for at most
// the cache TTL and never past the token's exp, an inactive one for at most DefaultIntrospectionInactiveTTL; the
// cache holds at most a bounded number of tokens, the least recently used leaving first. Concurrent requests
// with the same uncached token share one introspection call.
//
// It fails closed: when the authorization server cannot be asked (unreachable, slow past the request's deadline,
// an error status, an answer that is not RFC 7662 JSON) the request is refused with 503
// introspection_unavailable and a Retry-After, like an unreachable OIDC issuer: the caller's token may well be
// valid, so 401 would tell it to fix credentials it cannot fix. Such failures are not cached.
type Introspection struct {
	endpoint     string
	clientID     string
	clientSecret string
	scopes       []string
	audience     string
	ttl          time.Duration
	inactiveTTL  time.Duration
	opts         introspectionOptions

	cache  *lru.Cache // [sha256.Size]byte -> introspectionEntry
	flight singleflight.Group
}

type introspectionOptions struct {
	client      *http.Client
	timeout     time.Duration
	maxEntries  int
	now         func() time.Time
	onCallError func(error)
}

// IntrospectionOption configures NewIntrospection.
type IntrospectionOption func(*introspectionOptions)

// WithIntrospectionHTTPClient sets the client that calls the introspection URL (default: a client without
// redirects). It should not follow redirects: the request carries the client credentials.
func WithIntrospectionHTTPClient(client *http.Client) IntrospectionOption {
	return func(o *introspectionOptions) { o.client = client }
}

// WithIntrospectionTimeout bounds one introspection call, which requests may share (default 5s). Each request
// waits for it at most until its own deadline.
func WithIntrospectionTimeout(d time.Duration) IntrospectionOption {
	return func(o *introspectionOptions) { o.timeout = d }
}

// WithIntrospectionCacheEntries sets how many tokens' answers are kept at most (default 10000).
func WithIntrospectionCacheEntries(n int) IntrospectionOption {
	return func(o *introspectionOptions) { o.maxEntries = n }
}

// WithIntrospectionClock sets the clock of the cache and of exp.
func WithIntrospectionClock(now func() time.Time) IntrospectionOption {
	return func(o *introspectionOptions) { o.now = now }
}

// WithIntrospectionErrorHandler receives every failed introspection call, for logs. The errors name the URL and
// a status or cause, never the token or the client secret.
func WithIntrospectionErrorHandler(handle func(error)) IntrospectionOption {
	return func(o *introspectionOptions) { o.onCallError = handle }
}

// NewIntrospection returns an introspection checker for spec with the client credentials clientID and
// clientSecret. It does not call the network.
func NewIntrospection(spec *fulfillmentv1alpha1.TokenIntrospection, clientID, clientSecret string, opts ...IntrospectionOption) (*Introspection, error) {
	if spec == nil {
		return nil, errors.New("introspection: no configuration")
	}
	if err := checkIntrospectionURL(spec.URL); err != nil {
		return nil, err
	}
	if clientID == "" || clientSecret == "" {
		return nil, errors.New("introspection: the client ID and secret must not be empty")
	}
	for _, s := range spec.RequiredScopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return nil, fmt.Errorf("introspection: requiredScopes: %q is not a scope token (RFC 6749 section 3.3)", s)
		}
	}
	i := &Introspection{
		endpoint:     spec.URL,
		clientID:     clientID,
		clientSecret: clientSecret,
		scopes:       append([]string(nil), spec.RequiredScopes...),
		audience:     spec.Audience,
		ttl:          DefaultIntrospectionCacheTTL,
		opts: introspectionOptions{
			timeout:    DefaultIntrospectionTimeout,
			maxEntries: DefaultIntrospectionCacheEntries,
			now:        time.Now,
		},
	}
	if spec.CacheTTL != nil {
		if spec.CacheTTL.Duration < 0 {
			return nil, fmt.Errorf("introspection: cacheTTL %v must not be negative", spec.CacheTTL.Duration)
		}
		i.ttl = spec.CacheTTL.Duration
	}
	i.inactiveTTL = min(i.ttl, DefaultIntrospectionInactiveTTL)
	for _, opt := range opts {
		opt(&i.opts)
	}
	if i.opts.client == nil {
		i.opts.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if i.opts.maxEntries <= 0 {
		i.opts.maxEntries = DefaultIntrospectionCacheEntries
	}
	i.cache = lru.New(i.opts.maxEntries)
	return i, nil
}

// checkIntrospectionURL admits https, and http only to a loopback host: the request carries the token and the
// client secret.
func checkIntrospectionURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("introspection: url %q must be an absolute URL without credentials or fragment", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("introspection: url %q must be https (http only to localhost, 127.0.0.0/8 or ::1)", raw)
}

// Check implements Checker; the introspection call is bounded by the call timeout. Prefer CheckContext.
func (i *Introspection) Check(r *Request) *Failure {
	ctx, cancel := context.WithTimeout(context.Background(), i.opts.timeout)
	defer cancel()
	return i.CheckContext(ctx, r)
}

// CredentialHeader implements CredentialHeaderChecker.
func (i *Introspection) CredentialHeader() string { return "Authorization" }

// introspectionEntry is a cached decision about one token.
type introspectionEntry struct {
	failure *Failure // nil: admitted
	expires time.Time
}

// CheckContext implements ContextChecker: a request waits for the introspection call at most until ctx ends, and
// is then refused with 503 introspection_unavailable.
func (i *Introspection) CheckContext(ctx context.Context, r *Request) *Failure {
	token, failure := bearerToken(r, oauth2Method)
	if failure != nil {
		return failure
	}
	key := sha256.Sum256([]byte(token))
	if cached, ok := i.cache.Get(key); ok {
		entry := cached.(introspectionEntry)
		if i.opts.now().Before(entry.expires) {
			return entry.failure
		}
		i.cache.Remove(key)
	}
	// The call is detached from the request that starts it, so that another request with the same token can
	// still use its answer when the first gives up; its own timeout bounds it.
	result := i.flight.DoChan(string(key[:]), func() (any, error) {
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), i.opts.timeout)
		defer cancel()
		answer, err := i.introspect(callCtx, token)
		if err != nil {
			if i.opts.onCallError != nil {
				i.opts.onCallError(err)
			}
			return nil, err
		}
		entry := i.decide(answer)
		if entry.expires.After(i.opts.now()) {
			i.cache.Add(key, entry)
		}
		return entry.failure, nil
	})
	select {
	case <-ctx.Done():
		return oauth2Failure(http.StatusServiceUnavailable, oauth2ReasonIntrospectionUnavailable, "")
	case res := <-result:
		if res.Err != nil {
			return oauth2Failure(http.StatusServiceUnavailable, oauth2ReasonIntrospectionUnavailable, "")
		}
		return res.Val.(*Failure)
	}
}

// bearerToken reads `Authorization: Bearer <token>`, refusing a missing or oversized one for method: the
// token of OIDC and of introspection alike.
func bearerToken(r *Request, method string) (string, *Failure) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		// RFC 6750 section 3.1: a request without credentials gets no error code.
		return "", &Failure{Status: http.StatusUnauthorized, Method: method, Reason: oauth2ReasonMissingToken}
	}
	if len(token) > oidcMaxTokenBytes {
		return "", &Failure{Status: http.StatusUnauthorized, Method: method, Reason: oauth2ReasonMalformedToken,
			BearerError: BearerErrorInvalidToken}
	}
	return token, nil
}

// introspectionAnswer is what is read of an RFC 7662 answer.
type introspectionAnswer struct {
	Active    *bool           `json:"active"`
	Scope     string          `json:"scope"`
	Audience  json.RawMessage `json:"aud"` // a string or a list of strings
	Expiry    *json.Number    `json:"exp"`
	TokenType string          `json:"token_type"`
}

// introspect asks the authorization server about token.
func (i *Introspection) introspect(ctx context.Context, token string) (*introspectionAnswer, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, i.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("introspection %s: %w", i.endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 section 2.3.1: the client ID and secret are form-encoded before they are joined for basic auth.
	req.SetBasicAuth(url.QueryEscape(i.clientID), url.QueryEscape(i.clientSecret))
	resp, err := i.opts.client.Do(req)
	if err != nil {
		// url.Error names the method and URL and the cause; neither carries the token (it is in the body).
		return nil, fmt.Errorf("introspection: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, introspectionMaxAnswerBytes))
		return nil, fmt.Errorf("introspection POST %s: %s", i.endpoint, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, introspectionMaxAnswerBytes+1))
	if err != nil {
		return nil, fmt.Errorf("introspection POST %s: reading the answer: %w", i.endpoint, err)
	}
	if len(body) > introspectionMaxAnswerBytes {
		return nil, fmt.Errorf("introspection POST %s: answer over %d bytes", i.endpoint, introspectionMaxAnswerBytes)
	}
	var answer introspectionAnswer
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fmt.Errorf("introspection POST %s: the answer is not RFC 7662 JSON: %w", i.endpoint, err)
	}
	if answer.Active == nil {
		return nil, fmt.Errorf("introspection POST %s: the answer has no \"active\" member", i.endpoint)
	}
	return &answer, nil
}

// decide turns an answer into a decision and how long it may be reused.
func (i *Introspection) decide(a *introspectionAnswer) introspectionEntry {
	now := i.opts.now()
	if !*a.Active {
		return introspectionEntry{failure: oauth2Failure(http.StatusUnauthorized, oauth2ReasonInactiveToken, BearerErrorInvalidToken),
			expires: now.Add(i.inactiveTTL)}
	}
	expires := now.Add(i.ttl)
	if a.Expiry != nil {
		// The authorization server decides whether the token is active; exp only bounds how long that answer
		// holds. A malformed exp leaves the answer uncached rather than trusted for the whole TTL.
		seconds, err := a.Expiry.Float64()
		switch {
		case err != nil:
			expires = now
		case seconds < float64(expires.Unix()):
			expires = time.Unix(int64(seconds), 0)
		}
	}
	entry := introspectionEntry{expires: expires}
	switch strings.ToLower(a.TokenType) {
	case "", "bearer", "access_token", "urn:ietf:params:oauth:token-type:access_token":
	default:
		// A refresh token, or a sender-constrained (DPoP) token whose proof this server does not check.
		entry.failure = oauth2Failure(http.StatusUnauthorized, oauth2ReasonWrongTokenType, BearerErrorInvalidToken)
		return entry
	}
	if i.audience != "" && !audienceNames(a.Audience, i.audience) {
		// RFC 6750: a token for another resource is invalid here, not short of scope.
		entry.failure = oauth2Failure(http.StatusUnauthorized, oauth2ReasonWrongAudience, BearerErrorInvalidToken)
		return entry
	}
	if missing := missingScopes(strings.Fields(a.Scope), i.scopes); missing {
		entry.failure = oauth2Failure(http.StatusForbidden, oauth2ReasonInsufficientScope, BearerErrorInsufficientScope)
		entry.failure.Scope = strings.Join(i.scopes, " ")
	}
	return entry
}

// audienceNames says whether aud, a string or a list of strings, names want.
func audienceNames(aud json.RawMessage, want string) bool {
	var one string
	if err := json.Unmarshal(aud, &one); err == nil {
		return one == want
	}
	var many []string
	if err := json.Unmarshal(aud, &many); err != nil {
		return false
	}
	for _, a := range many {
		if a == want {
			return true
		}
	}
	return false
}

// missingScopes says whether granted lacks one of required.
func missingScopes(granted, required []string) bool {
	for _, want := range required {
		found := false
		for _, g := range granted {
			if g == want {
				found = true
				break
			}
		}
		if !found {
			return true
		}
	}
	return false
}

func oauth2Failure(status int, reason, bearerError string) *Failure {
	return &Failure{Status: status, Method: oauth2Method, Reason: reason, BearerError: bearerError}
}
