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

// ReplayedHeader marks an answer replayed from the idempotency store.
const ReplayedHeader = "Idempotent-Replayed"

// deduplication is an endpoint's compiled idempotency: where answers are kept, how the key is computed, and
// what to do when the store is unreachable.
type deduplication struct {
	store idempotency.Store
	// key computes the key; nil means the dialect's delivery id.
	key           *expr.Program
	failOpen      bool
	storeIdentity string
}

// StoreProvider gives the idempotency store for an identity, creating it on first use. The server keeps stores
// across configuration reloads, so that a reload neither forgets processed requests nor reconnects to Redis.
type StoreProvider func(identity string, create func() (idempotency.Store, error)) (idempotency.Store, error)

// compileIdempotency builds the endpoint's deduplication, or nil when it is off.
func compileIdempotency(spec *fulfillmentv1alpha1.WebhookEndpointSpec, namespace, name string, timeout time.Duration,
	opts Options, secret action.SecretLookup) (*deduplication, error) {
	config := spec.Idempotency
	if config == nil || !config.Enabled {
		return nil, nil
	}
	d := &deduplication{failOpen: config.FailurePolicy == fulfillmentv1alpha1.IdempotencyFailurePolicyIgnore}
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
	if opts.MemoryStoreMaxBytes > 0 {
		// The entry bound grows with the byte bound, so that the bytes given are what binds.
		memoryOptions = append(storeOptions[:len(storeOptions):len(storeOptions)], idempotency.WithMaxBytes(opts.MemoryStoreMaxBytes),
			idempotency.WithMaxEntries(int(max(opts.MemoryStoreMaxBytes/400, 1))))
		identity += fmt.Sprintf(" bytes=%d", opts.MemoryStoreMaxBytes)
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
func (d *deduplication) keyFor(ctx context.Context, request *model.Request, vars *expr.Vars) (string, error) {
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

// worthStoring says whether an outcome is final: a server error, a deadline or a failed action may go better
// next time (a fixed route, a recovered upstream), so their claims are released and a retry processes again.
func worthStoring(outcome *Outcome) bool {
	if outcome.Status >= 500 || outcome.ActionError != "" {
		return false
	}
	return outcome.Fallback != FallbackActionFailed && outcome.Fallback != FallbackDeadline
}

func storedAnswer(outcome *Outcome) *idempotency.Answer {
	header := map[string][]string{}
	for _, name := range []string{"Content-Type", FallbackHeader} {
		if values := outcome.Header.Values(name); len(values) > 0 {
			header[name] = values
		}
	}
	return &idempotency.Answer{Status: outcome.Status, Header: header, Body: outcome.Body}
}

func replayOutcome(answer *idempotency.Answer, request *model.Request) *Outcome {
	header := http.Header{}
	for name, values := range answer.Header {
		header[name] = values
	}
	header.Set(ReplayedHeader, "true")
	return &Outcome{Status: answer.Status, Header: header, Body: answer.Body, Request: request, Replayed: true,
		Fallback: header.Get(FallbackHeader)}
}
