package action

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"k8s.io/utils/lru"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
)

// Results of a token fetch, for TokenFetchObserver.
const (
	TokenFetchOK      = "ok"
	TokenFetchError   = "error"
	TokenFetchTimeout = "timeout"
)

// TokenFetchObserver is told of every token fetch of a route: its result (TokenFetchOK, TokenFetchError,
// TokenFetchTimeout) and, when it failed, why, in words that hold neither the token nor the client secret.
type TokenFetchObserver func(route, result string, cause error)

// maxRefreshMargin is how long before its expiry a token is replaced at most: a request that starts with a
// token about to expire could reach the upstream with an expired one.
const maxRefreshMargin = 10 * time.Second

// Tokens obtains a route's OAuth2 access tokens with the client credentials grant and keeps the current one.
// oauth2.ReuseTokenSource would also fetch one at a time, but binds the context of its creation to every fetch,
// and the fetch must run under the deadline of the request that waits for it; so the token is kept here, and
// clientcredentials.Config.Token fetches it with the request's context.
type Tokens struct {
	config   clientcredentials.Config
	client   *http.Client
	route    string
	observe  TokenFetchObserver
	tokenURL string // without query, for messages
	now      func() time.Time

	*tokenSlot
}

// tokenSlot is the token of one grant and the lock of its fetch, shared by every Tokens of that grant.
type tokenSlot struct {
	// fetching is held by the one request that fetches a token; the others wait on it or on their deadline.
	fetching chan struct{}
	current  atomic.Pointer[heldToken]
}

func newTokenSlot() *tokenSlot { return &tokenSlot{fetching: make(chan struct{}, 1)} }

// maxStoredGrants bounds a TokenStore: far more grants than a server's routes use, so that only grants no
// route uses any more (a rotated client secret's) are dropped.
const maxStoredGrants = 1024

// TokenStore keeps OAuth2 tokens across configuration reloads. A reload (any changed Secret, an HMAC key
// rotation) builds every route anew; a route whose grant is unchanged goes on with the token it had instead of
// asking the token endpoint again, which may limit how often a client asks. A grant is the token URL, the client
// credentials, scopes, audience, parameters and auth style: two routes with the same grant share its token, which
// either could have fetched.
type TokenStore struct {
	mu    sync.Mutex
	slots *lru.Cache
}

// NewTokenStore returns an empty store.
func NewTokenStore() *TokenStore { return &TokenStore{slots: lru.New(maxStoredGrants)} }

// slot is the slot of the grant config describes, made when there is none.
func (s *TokenStore) slot(config *clientcredentials.Config) *tokenSlot {
	if s == nil {
		return newTokenSlot()
	}
	key := grantKey(config)
	s.mu.Lock()
	defer s.mu.Unlock()
	if slot, ok := s.slots.Get(key); ok {
		return slot.(*tokenSlot)
	}
	slot := newTokenSlot()
	s.slots.Add(key, slot)
	return slot
}

// grantKey identifies a grant without holding its client secret: a SHA-256 over every field that makes the
// token, each length-prefixed so that no two grants share a key.
func grantKey(config *clientcredentials.Config) string {
	h := sha256.New()
	write := func(value string) {
		_ = binary.Write(h, binary.BigEndian, uint64(len(value)))
		h.Write([]byte(value))
	}
	write(config.TokenURL)
	write(config.ClientID)
	write(config.ClientSecret)
	write(strconv.Itoa(int(config.AuthStyle)))
	write(strings.Join(config.Scopes, " "))
	write(config.EndpointParams.Encode()) // sorted by name
	return hex.EncodeToString(h.Sum(nil))
}

// heldToken is a token and when to replace it.
type heldToken struct {
	value string
	// refreshAt is when the token is replaced; zero for a token without expires_in, kept until a 401.
	refreshAt time.Time
}

// NewTokens returns the token source of a route's compiled oauth2 setting. client reaches the token endpoint: it
// must be the route's guarded client (the SSRF guard and tls settings apply to the token URL too).
// Tokens of the same grant from one store share their token and its fetch; a nil store shares nothing.
func NewTokens(route string, compiled *routespec.OAuth2, client *http.Client, observe TokenFetchObserver, store *TokenStore) *Tokens {
	spec := compiled.Spec
	params := url.Values{}
	for name, value := range spec.EndpointParams {
		params.Set(name, value)
	}
	if spec.Audience != "" {
		params.Set("audience", spec.Audience)
	}
	style := oauth2.AuthStyleInHeader
	if spec.AuthStyle == fulfillmentv1alpha1.OAuth2AuthStyleBody {
		style = oauth2.AuthStyleInParams
	}
	if observe == nil {
		observe = func(string, string, error) {}
	}
	tokenURL := spec.TokenURL
	if u, err := url.Parse(tokenURL); err == nil {
		u.RawQuery = ""
		tokenURL = u.String()
	}
	t := &Tokens{
		config: clientcredentials.Config{ClientID: compiled.ClientID, ClientSecret: compiled.ClientSecret, TokenURL: spec.TokenURL,
			Scopes: spec.Scopes, EndpointParams: params, AuthStyle: style},
		client: client, route: route, observe: observe, tokenURL: tokenURL, now: time.Now,
	}
	t.tokenSlot = store.slot(&t.config)
	return t
}

// Token returns the current access token, fetching one when there is none or it is about to expire. Concurrent
// callers share one fetch; each waits no longer than its own context allows.
func (t *Tokens) Token(ctx context.Context) (string, error) {
	if held := t.fresh(); held != nil {
		return held.value, nil
	}
	select {
	case t.fetching <- struct{}{}:
	case <-ctx.Done():
		return "", &Failure{Reason: "token_unavailable", Message: "waiting for the OAuth2 token endpoint " + t.tokenURL, Err: ctx.Err()}
	}
	defer func() { <-t.fetching }()
	if held := t.fresh(); held != nil { // fetched by the request that held the lock before this one
		return held.value, nil
	}
	return t.fetch(ctx)
}

// Invalidate drops token when it is still the current one, after the upstream refused it: the next Token
// fetches another. Requests that were refused the same token drop it once.
func (t *Tokens) Invalidate(token string) {
	held := t.current.Load()
	if held != nil && held.value == token {
		t.current.CompareAndSwap(held, nil)
	}
}

// fresh is the current token unless it is due for replacement.
func (t *Tokens) fresh() *heldToken {
	held := t.current.Load()
	if held == nil || (!held.refreshAt.IsZero() && !t.now().Before(held.refreshAt)) {
		return nil
	}
	return held
}

// fetch asks the token endpoint for a token, under ctx.
func (t *Tokens) fetch(ctx context.Context) (string, error) {
	fetched := t.now()
	token, err := t.config.Token(context.WithValue(ctx, oauth2.HTTPClient, t.client))
	if err != nil {
		result := TokenFetchError
		if ctx.Err() != nil {
			result = TokenFetchTimeout
		}
		cause := describeTokenError(err)
		t.observe(t.route, result, cause)
		if result == TokenFetchTimeout {
			return "", &Failure{Reason: "token_unavailable", Message: "the OAuth2 token endpoint " + t.tokenURL + " did not answer in time", Err: ctx.Err()}
		}
		return "", &Failure{Reason: "token_unavailable", Message: "fetching an OAuth2 token from " + t.tokenURL, Err: cause}
	}
	if token.AccessToken == "" {
		cause := errors.New("the token endpoint answered without an access_token")
		t.observe(t.route, TokenFetchError, cause)
		return "", &Failure{Reason: "token_unavailable", Message: "fetching an OAuth2 token from " + t.tokenURL, Err: cause}
	}
	held := &heldToken{value: token.AccessToken}
	if !token.Expiry.IsZero() {
		// A quarter of the token's life, at most maxRefreshMargin, so that a short-lived token is still reused.
		margin := min(token.Expiry.Sub(fetched)/4, maxRefreshMargin)
		held.refreshAt = token.Expiry.Add(-margin)
	}
	t.current.Store(held)
	t.observe(t.route, TokenFetchOK, nil)
	return held.value, nil
}

// describeTokenError says why a fetch failed without the token endpoint's answer body, which is the token
// endpoint's own words and may echo what it was sent.
func describeTokenError(err error) error {
	var retrieve *oauth2.RetrieveError
	if errors.As(err, &retrieve) && retrieve.Response != nil {
		if retrieve.ErrorCode != "" {
			return fmt.Errorf("the token endpoint answered %d with error %q", retrieve.Response.StatusCode, retrieve.ErrorCode)
		}
		return fmt.Errorf("the token endpoint answered %d", retrieve.Response.StatusCode)
	}
	return redactURL(err)
}
