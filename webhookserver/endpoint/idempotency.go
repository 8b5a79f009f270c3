package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/action"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/idempotency"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// compiledIdempotency is an endpoint's compiled idempotency: where answers are kept, how the key is computed, and
// what to do when the store is unreachable.
type compiledIdempotency struct {
	store idempotency.Store
	// key computes the key; nil means the dialect's delivery id.
	key           *expr.Program
	failOpen      bool
	storeIdentity string
}

// StoreProvider gives the idempotency store for an identity, creating it on first use. The server keeps stores
// across configuration reloads, so that a reload neither forgets processed requests nor reconnects to Redis.
type StoreProvider func(identity string, create func() (idempotency.Store, error)) (idempotency.Store, error)

// compileIdempotency builds the endpoint's idempotency, or nil when it is off.
func compileIdempotency(spec *fulfillmentv1alpha1.WebhookEndpointSpec, namespace, name string, timeout time.Duration,
	opts Options, secret action.SecretLookup) (*compiledIdempotency, error) {
	config := spec.Idempotency
	if config == nil || !config.Enabled {
		return nil, nil
	}
	d := &compiledIdempotency{failOpen: config.FailurePolicy == fulfillmentv1alpha1.IdempotencyFailurePolicyIgnore}
	if config.Key != "" {
		key, err := opts.Env.Compile(config.Key)
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		d.key = key
	}
	ttl := 24 * time.Hour
	if config.TTL != nil {
		ttl = config.TTL.Duration
	}
	// A holder is overtaken only after it could no longer be answering: the deadline plus time to store.
	lockTTL := timeout + 5*time.Second
	storeOptions := []idempotency.Option{idempotency.WithTTL(ttl), idempotency.WithLockTTL(lockTTL)}
	identity := fmt.Sprintf("%s/%s memory ttl=%s lock=%s", namespace, name, ttl, lockTTL)
	memoryOptions := storeOptions
	if opts.MemoryPool != nil {
		memoryOptions = append(storeOptions[:len(storeOptions):len(storeOptions)], idempotency.WithPool(opts.MemoryPool))
	}
	create := func() (idempotency.Store, error) { return idempotency.NewMemory(memoryOptions...) }
	if config.Store == fulfillmentv1alpha1.IdempotencyStoreRedis {
		url, err := redisURL(spec.Redis, secret)
		if err != nil {
			return nil, err
		}
		storeOptions = append(storeOptions, idempotency.WithPrefix(idempotency.KeyPrefix(namespace, name)))
		// The URL may hold a password: the identity keeps a digest of it only.
		identity = fmt.Sprintf("%s/%s redis %x ttl=%s lock=%s", namespace, name, digest(url), ttl, lockTTL)
		create = func() (idempotency.Store, error) { return idempotency.NewRedis(url, storeOptions...) }
	}
	store, err := opts.Stores(identity, create)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	d.store, d.storeIdentity = store, identity
	return d, nil
}

// redisURL is spec.redis.url or the value of its Secret.
func redisURL(spec *fulfillmentv1alpha1.RedisConnection, secret action.SecretLookup) (string, error) {
	switch {
	case spec == nil:
		return "", errors.New("the Redis store needs spec.redis")
	case spec.URLSecretRef != nil:
		value, err := secret(spec.URLSecretRef.Name, spec.URLSecretRef.Key)
		if err != nil {
			return "", fmt.Errorf("redis.urlSecretRef: %w", err)
		}
		return strings.TrimSpace(string(value)), nil
	default:
		return spec.URL, nil
	}
}

// keyFor is the request's idempotency key, or "" when it has none (then it is processed without).
func (d *compiledIdempotency) keyFor(ctx context.Context, request *model.Request, vars *expr.Vars) (string, error) {
	if d.key == nil {
		return request.DeliveryID, nil
	}
	value, err := d.key.Eval(ctx, vars)
	if err != nil {
		return "", err
	}
	if value == nil {
		return "", nil
	}
	return fmt.Sprint(value), nil
}

// deduplicate is the deduplicate stage: a request whose idempotency key was answered gets that answer again,
// and one whose key another request holds is refused for now. It returns nil when the request is to be
// processed: then it holds the key's claim (f.claim), for remember. Without idempotency, or a key, every request
// is processed.
func (e *Endpoint) deduplicate(ctx context.Context, f *fulfillment) *Outcome {
	if e.idempotency == nil {
		return nil
	}
	key, err := e.idempotency.keyFor(ctx, f.request, f.vars)
	if err != nil {
		return e.errorOutcome(f.input.Header, f.request, http.StatusBadRequest, "invalid_idempotency_key",
			errors.New("the idempotency key expression failed on this request"))
	}
	if key == "" {
		return nil // nothing identifies a duplicate
	}
	stored, claim, err := e.idempotency.store.Begin(ctx, key)
	switch {
	case errors.Is(err, idempotency.ErrUnavailable):
		if e.idempotency.failOpen {
			f.idempotencyKey, f.idempotencyError = key, err
			return nil
		}
		outcome := e.errorOutcome(f.input.Header, f.request, http.StatusServiceUnavailable, "idempotency_unavailable",
			errors.New("the idempotency store is unavailable; retry later"))
		outcome.retryAfter = 5
		outcome.IdempotencyError = err
		return outcome
	case err != nil:
		outcome := e.errorOutcome(f.input.Header, f.request, http.StatusConflict, "in_progress",
			errors.New("a request with this idempotency key is still being processed; retry later"))
		outcome.retryAfter = 1
		return outcome
	case stored != nil:
		return replayOutcome(stored, f.request)
	}
	f.idempotencyKey, f.claim = key, claim
	return nil
}

// remember is the last stage: the answer of a request deduplicate let through is kept for its duplicates when
// it is final, and its key released otherwise.
func (e *Endpoint) remember(ctx context.Context, f *fulfillment, outcome *Outcome) {
	outcome.IdempotencyError = f.idempotencyError
	if f.claim == nil {
		return
	}
	if worthStoring(outcome) {
		if err := f.claim.Complete(ctx, storedAnswer(outcome)); err != nil {
			outcome.IdempotencyError = err // the answer is still sent; a duplicate may be processed again
		}
	} else {
		f.claim.Release(ctx)
	}
}

// worthStoring says whether an outcome is final: a server error, a deadline or a failed action may go better
// next time (a fixed route, a recovered upstream), so their claims are released and a retry processes again.
func worthStoring(outcome *Outcome) bool {
	if outcome.Status >= 500 || outcome.ActionError != "" {
		return false
	}
	return outcome.Fallback != FallbackActionFailed && outcome.Fallback != FallbackDeadline
}

// storedAnswer is what a duplicate is answered: the status, body, Content-Type and fallback reason.
func storedAnswer(outcome *Outcome) *idempotency.Answer {
	header := map[string][]string{"Content-Type": valuesOf(outcome.contentType(), jsonContentType)}
	if outcome.Fallback != "" {
		header[FallbackHeader] = valuesOf(outcome.Fallback, fallbackReasons[outcome.Fallback])
	}
	return &idempotency.Answer{Status: outcome.Status, Header: header, Body: outcome.Body}
}

// replayOutcome is a duplicate's answer, replayed from the store.
func replayOutcome(answer *idempotency.Answer, request *model.Request) *Outcome {
	header := http.Header(answer.Header)
	outcome := &Outcome{Status: answer.Status, Body: answer.Body, Request: request, Replayed: true, Fallback: header.Get(FallbackHeader)}
	if contentType := header.Get("Content-Type"); contentType != "" && contentType != "application/json" {
		outcome.header = http.Header{"Content-Type": {contentType}} // a forwarded answer's own
	}
	return outcome
}
