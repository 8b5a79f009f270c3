package endpoint

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/action"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/delivery"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tracing"
)

// QueueProvider gives the delivery queue for an identity, creating it on first use. The server keeps queues
// (and their workers) across configuration reloads: a Local queue's file can be open only once.
type QueueProvider func(identity string, create func() (delivery.Queue, error)) (delivery.Queue, error)

// compileDelivery opens (through the provider) the queue of an Async endpoint; nil for Sync.
func compileDelivery(spec *fulfillmentv1alpha1.WebhookEndpointSpec, namespace, name string, opts Options,
	secret action.SecretLookup) (delivery.Queue, string, error) {
	config := spec.Delivery
	if config == nil || config.Mode != fulfillmentv1alpha1.DeliveryAsync {
		return nil, "", nil
	}
	if err := checkCredentialHeaders(spec.Auth); err != nil {
		return nil, "", err
	}
	queueOptions := delivery.Options{Logger: opts.Logger}
	if config.MaxAttempts != nil {
		queueOptions.MaxAttempts = int(*config.MaxAttempts)
	}
	if b := config.Backoff; b != nil {
		if b.Initial != nil {
			queueOptions.InitialBackoff = b.Initial.Duration
		}
		if b.Max != nil {
			queueOptions.MaxBackoff = b.Max.Duration
		}
	}
	settings := fmt.Sprintf("attempts=%d backoff=%s..%s", queueOptions.MaxAttempts, queueOptions.InitialBackoff, queueOptions.MaxBackoff)
	if config.Queue == fulfillmentv1alpha1.QueueRedis {
		redisURL, err := redisURL(spec.Redis, secret)
		if err != nil {
			return nil, "", err
		}
		identity := fmt.Sprintf("%s/%s redis %x %s", namespace, name, digest(redisURL), settings)
		queue, err := opts.Queues(identity, func() (delivery.Queue, error) {
			return delivery.NewRedis(redisURL, delivery.RedisOptions{Options: queueOptions,
				Prefix: "fulfillment:delivery:{" + namespace + "/" + name + "}"})
		})
		return queue, identity, err
	}
	if opts.QueueDir == "" {
		return nil, "", fmt.Errorf("queue: Local needs a folder for its file: start webhookserver with --queue-dir")
	}
	path := filepath.Join(opts.QueueDir, url.PathEscape(namespace)+"_"+url.PathEscape(name)+".db")
	identity := fmt.Sprintf("%s/%s local %s %s", namespace, name, path, settings)
	queue, err := opts.Queues(identity, func() (delivery.Queue, error) {
		if err := os.MkdirAll(opts.QueueDir, 0o700); err != nil {
			return nil, err
		}
		return delivery.OpenLocal(path, queueOptions)
	})
	return queue, identity, err
}

// checkCredentialHeaders refuses credentials sent in a header that queued events keep: the token or signature
// would be stored with every event.
func checkCredentialHeaders(auth fulfillmentv1alpha1.EndpointAuth) error {
	type credentialHeader struct{ field, header string }
	var headers []credentialHeader
	if auth.Bearer != nil {
		headers = append(headers, credentialHeader{"spec.auth.bearer.header", auth.Bearer.Header})
	}
	if auth.HMAC != nil && auth.HMAC.Generic != nil {
		headers = append(headers, credentialHeader{"spec.auth.hmac.generic.header", auth.HMAC.Generic.Header})
	}
	var errs []error
	for _, h := range headers {
		if delivery.KeepsHeader(h.header) {
			errs = append(errs, fmt.Errorf("mode Async keeps the header %s with each queued event, and %s sends a credential in it: "+
				"send the credential in another header", h.header, h.field))
		}
	}
	return errors.Join(errs...)
}

// Queue is the endpoint's delivery queue: non-nil when it answers 202 and processes later.
func (e *Endpoint) Queue() delivery.Queue { return e.queue }

// QueueIdentity identifies the endpoint's queue, or "" without one.
func (e *Endpoint) QueueIdentity() string { return e.queueIdentity }

// Enqueue answers an Async request: 202 once the event is durably queued, 503 when it could not be. It runs the
// decode stage first, so that a malformed request is refused now rather than dead-lettered later; the other
// stages run when the queue delivers the event (Deliver).
func (e *Endpoint) Enqueue(ctx context.Context, in dialect.Input, received time.Time) *Outcome {
	_, span := tracing.Stage(ctx, tracing.StageDecode)
	event, request, refused := e.Accept(in, received)
	span.End()
	if refused != nil {
		return refused
	}
	ctx, cancel := context.WithTimeout(ctx, min(e.Timeout, 5*time.Second))
	defer cancel()
	ctx, span = tracing.Stage(ctx, tracing.StageEnqueue)
	err := e.queue.Enqueue(ctx, event)
	span.End()
	if err != nil {
		return &Outcome{Status: http.StatusServiceUnavailable, retryAfter: 5, Err: err, Request: request,
			Body: ErrorBody("queue_unavailable", "the event could not be stored; retry later")}
	}
	return &Outcome{Status: http.StatusAccepted, Body: AcceptedBody(event.ID), Request: request, EventID: event.ID}
}

// Accept checks that an Async request is well formed (the decode stage) and returns the event to queue with the
// request decoded from it, or the error answer.
func (e *Endpoint) Accept(in dialect.Input, received time.Time) (*delivery.Event, *model.Request, *Outcome) {
	decoded, refused := e.decode(in)
	if refused != nil {
		return nil, nil, refused
	}
	request := decoded.Request()
	id := request.DeliveryID
	if id == "" || len(id) > delivery.MaxIDLen {
		id = randomID()
	}
	return &delivery.Event{
		ID: id, Endpoint: e.Namespace + "/" + e.Name, Received: received,
		Method: in.Method, Header: in.Header, Query: in.Query.Encode(), Body: in.Body,
	}, request, nil
}

// Replay is the input of a queued event, for the worker.
func Replay(event *delivery.Event) dialect.Input {
	query, _ := url.ParseQuery(event.Query)
	return dialect.Input{Method: event.Method, Header: http.Header(event.Header), Query: query, Body: event.Body}
}

// AcceptedBody is the 202 answer of a queued event.
func AcceptedBody(id string) []byte {
	return []byte(fmt.Sprintf(`{"accepted":true,"id":%q}`, id))
}

// Deliver processes a queued event: the same path as a synchronous request. A non-2xx answer is an error, so
// that the queue retries it and, after the last attempt, keeps it as a dead letter with the reason.
func (e *Endpoint) Deliver(ctx context.Context, event *delivery.Event) (*Outcome, error) {
	outcome := e.Fulfill(ctx, Replay(event))
	if outcome.Status < 200 || outcome.Status > 299 {
		reason := fmt.Sprintf("answered %d", outcome.Status)
		if outcome.Err != nil {
			reason += ": " + outcome.Err.Error()
		}
		return outcome, fmt.Errorf("%s", reason)
	}
	return outcome, nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "evt_" + hex.EncodeToString(b[:])
}

// Dependency is a service the endpoint cannot serve without: while it is down, the server is not ready.
type Dependency struct {
	// Identity identifies it among the server's stores and queues; it holds no secret (a digest of the URL).
	Identity string
	// Kind says what it is, for people: "redis idempotency store" or "redis queue".
	Kind string
	// Ping checks that it answers, bounded by its own timeout.
	Ping func(ctx context.Context) error
}

// pinger is a store or queue that can be checked (Redis); the Memory store and Local queue live in the
// process and cannot be down on their own.
type pinger interface {
	Ping(ctx context.Context) error
}

// Dependencies are the endpoint's required services: its Redis idempotency store when failurePolicy is Fail
// (with Ignore, requests are processed without it), and its Redis queue (without it no event can be accepted).
func (e *Endpoint) Dependencies() []Dependency {
	var deps []Dependency
	if e.idempotency != nil && !e.idempotency.failOpen {
		if p, ok := e.idempotency.store.(pinger); ok {
			deps = append(deps, Dependency{Identity: e.idempotency.storeIdentity, Kind: "redis idempotency store", Ping: p.Ping})
		}
	}
	if p, ok := e.queue.(pinger); ok && e.queue != nil {
		deps = append(deps, Dependency{Identity: e.queueIdentity, Kind: "redis queue", Ping: p.Ping})
	}
	return deps
}
