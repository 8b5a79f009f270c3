package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
	"unicode/utf8"
)

// Event is one queued webhook delivery: the request the server accepted, replayed later into the fulfillment
// path by a worker.
type Event struct {
	// ID names the event in the queue: the platform's delivery id when there is one, otherwise a random id.
	// The queue holds at most one event per ID: Enqueue of an ID the queue still holds (ready, delayed, in
	// flight or dead) stores nothing and returns nil, so a sender's retry of a delivery whose 202 was lost does
	// not queue it twice. Once an event is processed its ID is forgotten.
	ID string `json:"id"`
	// Endpoint is the WebhookEndpoint that received the event, as namespace/name.
	Endpoint string `json:"endpoint,omitempty"`
	// Received is when the server accepted the request; Enqueue sets it when it is zero.
	Received time.Time `json:"received"`
	// Method, Header, Query and Body are the HTTP request, as the worker replays it. Header holds only the
	// headers StoredHeaders keeps: never a credential.
	Method string              `json:"method,omitempty"`
	Header map[string][]string `json:"header,omitempty"`
	Query  string              `json:"query,omitempty"`
	Body   []byte              `json:"body,omitempty"`
	// Attempts is how many times the handler failed on the event so far: 0 on the first try, MaxAttempts in a
	// dead letter. The queue maintains it; Enqueue ignores the caller's value.
	Attempts int `json:"attempts,omitempty"`
	// LastError is the error of the latest failed attempt (cut to 2 KiB). Replay keeps it, so the
	// next try can see why the event died.
	LastError string `json:"lastError,omitempty"`
}

// Stats counts the events a queue holds, for metrics.
type Stats struct {
	// Pending events are ready and wait for a worker.
	Pending int64
	// InFlight events are taken by a worker whose outcome is not recorded yet, including those a stopped or
	// crashed process left behind until they are recovered (Local) or reclaimed (Redis).
	InFlight int64
	// Delayed events wait for their retry time.
	Delayed int64
	// Dead events exhausted their attempts and wait for a Replay.
	Dead int64
	// Oldest is when the oldest event waiting (pending, in flight or delayed) was received; zero when none
	// waits. Each queue reads it from a bounded number of events (see their Stats): in a bigger queue an older
	// event may be missed, so the age it gives is then a lower bound.
	Oldest time.Time
}

// Handler processes one event. A nil error completes it; an error retries it after a backoff, or moves it to
// the dead-letter list when it was the last attempt. A panic counts as an error. The handler runs under the
// context of Run and must not keep or modify the event's maps and slices.
type Handler func(ctx context.Context, e *Event) error

// Queue is a durable queue of events with retries and a dead-letter list. Local and Redis implement it.
type Queue interface {
	// Enqueue stores the event durably: the server answers 202 only after it returned nil, and answers 503 on
	// an error, which means the event may or may not be stored (a retry with the same ID is then safe).
	Enqueue(ctx context.Context, e *Event) error
	// Run processes events with the handler until ctx is done, running at most Options.Workers handlers at
	// once; then it waits for the running handlers to return and returns nil. An event whose handler fails
	// after ctx is done is not settled: it stays in flight and is processed again after a restart. Only one
	// Run may be active per queue value (ErrRunning).
	Run(ctx context.Context, handler Handler) error
	// DeadLetters lists at most limit dead letters (all when limit <= 0), those that died first first.
	DeadLetters(ctx context.Context, limit int) ([]*Event, error)
	// Replay moves the dead letter with this ID back to the ready events, with Attempts reset to 0.
	// It returns ErrNotFound when there is no dead letter with the ID.
	Replay(ctx context.Context, id string) error
	// Purge deletes the dead letter with this ID; its ID is forgotten, so a later delivery with it is a new
	// event. It returns ErrNotFound when there is no dead letter with the ID.
	Purge(ctx context.Context, id string) error
	// PurgeAll deletes every dead letter and returns how many it deleted.
	PurgeAll(ctx context.Context) (int, error)
	// Stats counts the events the queue holds.
	Stats(ctx context.Context) (Stats, error)
	// Durability says which acknowledged events survive a crash of the store, with a detail: the settings it
	// was read from, or why it is DurabilityUnknown.
	Durability(ctx context.Context) (Durability, string)
	// Close releases the store. Call it after Run returned; a Run still active returns ErrClosed.
	Close() error
}

// Errors of the queues.
var (
	// ErrNotFound is returned by Replay and Purge for an ID that is not a dead letter.
	ErrNotFound = errors.New("delivery: no dead letter with this id")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("delivery: queue closed")
	// ErrRunning is returned by Run while another Run of the same queue is active.
	ErrRunning = errors.New("delivery: queue is already running")
)

// Defaults of Options.
const (
	// DefaultMaxAttempts is the WebhookEndpoint default of spec.delivery.maxAttempts.
	DefaultMaxAttempts    = 10
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 5 * time.Minute
	DefaultWorkers        = 4
)

// MaxIDLen bounds Event.ID (a bbolt key must stay small; delivery ids are far shorter).
const MaxIDLen = 1024

// maxErrorLen bounds Event.LastError: an error can quote a whole upstream answer.
const maxErrorLen = 2048

// Options are the settings both queues share. The zero value means the defaults.
type Options struct {
	// MaxAttempts is how many times the handler runs on an event before it becomes a dead letter (default
	// DefaultMaxAttempts).
	MaxAttempts int
	// InitialBackoff and MaxBackoff bound the delay before a retry: after the n-th failure it is drawn
	// uniformly from [0, min(MaxBackoff, InitialBackoff*2^(n-1))] ("full jitter"), so that the retries of many
	// events failing together spread out. Defaults DefaultInitialBackoff and DefaultMaxBackoff.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Workers is how many handlers run at once (default DefaultWorkers).
	Workers int
	// Now is the clock of due times (default time.Now). Waiting uses real timers.
	Now func() time.Time
	// Rand returns a uniform random number in [0, n) for the jitter (default math/rand/v2.Int64N). It must be
	// safe for concurrent use.
	Rand func(n int64) int64
	// Logger receives store outages and recoveries, and events moved to the dead letters (default
	// slog.Default()).
	Logger *slog.Logger
}

// withDefaults returns the options with every zero field set to its default.
func (o Options) withDefaults() (Options, error) {
	if o.MaxAttempts < 0 || o.InitialBackoff < 0 || o.MaxBackoff < 0 || o.Workers < 0 {
		return o, errors.New("delivery: negative option")
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.InitialBackoff == 0 {
		o.InitialBackoff = DefaultInitialBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = max(DefaultMaxBackoff, o.InitialBackoff)
	}
	if o.InitialBackoff > o.MaxBackoff {
		return o, fmt.Errorf("delivery: initial backoff %v is longer than max backoff %v", o.InitialBackoff, o.MaxBackoff)
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Int64N
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// Backoff is the delay before the retry that follows the failed attempt number attempt (1 for the first
// failure): uniform in [0, min(maxDelay, initial*2^(attempt-1))], drawn with rnd (which returns [0, n)).
func Backoff(attempt int, initial, maxDelay time.Duration, rnd func(n int64) int64) time.Duration {
	ceiling := initial
	for i := 1; i < attempt && ceiling < maxDelay; i++ {
		ceiling *= 2 // initial <= maxDelay <= MaxInt64/2 in practice; the loop stops before overflow matters
		if ceiling <= 0 {
			ceiling = maxDelay
		}
	}
	ceiling = min(ceiling, maxDelay)
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rnd(int64(ceiling) + 1))
}

// prepare validates an event for Enqueue and returns the copy to store.
func prepare(e *Event, now func() time.Time) (*Event, error) {
	if e == nil {
		return nil, errors.New("delivery: nil event")
	}
	if e.ID == "" {
		return nil, errors.New("delivery: event without id")
	}
	if len(e.ID) > MaxIDLen {
		return nil, fmt.Errorf("delivery: event id of %d bytes, more than %d", len(e.ID), MaxIDLen)
	}
	c := *e
	c.Attempts, c.LastError = 0, ""
	c.Header = StoredHeaders(e.Header)
	if c.Received.IsZero() {
		c.Received = now()
	}
	return &c, nil
}

// encode is the stored form of an event in both queues: JSON, so that a person can read a dead letter with
// redis-cli or bbolt's tools.
func encode(e *Event) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("delivery: encoding event %q: %w", e.ID, err)
	}
	return b, nil
}

// decode reads a stored event. It keeps only the stored headers: an event an older version stored kept every
// header of its request.
func decode(b []byte) (*Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("delivery: decoding event: %w", err)
	}
	if e.ID == "" {
		return nil, errors.New("delivery: decoding event: no id")
	}
	e.Header = StoredHeaders(e.Header)
	return &e, nil
}

// receivedOf reads the Received of an encoded event without decoding the rest: the fields before it are short,
// and the body after it can be megabytes.
func receivedOf(encoded []byte) (time.Time, bool) {
	decoder := json.NewDecoder(bytes.NewReader(encoded))
	if token, err := decoder.Token(); err != nil || token != json.Delim('{') {
		return time.Time{}, false
	}
	for decoder.More() {
		key, err := decoder.Token()
		if err != nil {
			return time.Time{}, false
		}
		if key == "received" {
			var received time.Time
			err := decoder.Decode(&received)
			return received, err == nil && !received.IsZero()
		}
		var skipped json.RawMessage
		if err := decoder.Decode(&skipped); err != nil {
			return time.Time{}, false
		}
	}
	return time.Time{}, false
}

// earlier is the earlier of two times, a zero one counting as none.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// undecodable wraps a stored entry that is not an event, so that it goes to the dead letters with the bytes
// kept instead of blocking the queue or vanishing.
func undecodable(ref string, raw []byte, err error) *Event {
	return &Event{ID: "undecodable-" + ref, Body: raw, LastError: truncate(err.Error())}
}

func truncate(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	n := maxErrorLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
