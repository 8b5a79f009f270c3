// Package statusz is what a webhookserver reports about itself on its metrics listener (GET /statusz, JSON):
// the configuration it serves and the last one it refused, whether it is being retired, the events its Async
// queues hold, and which acknowledged events those queues would lose in a crash of their store. The operator
// reads it from every pod, so that an endpoint is never Ready on a configuration its pods do not serve, a pod
// is retired only once its queue is empty, and the endpoint's status shows the events waiting. It holds only
// the wire types, so that the operator shares them without depending on the server.
package statusz

import "time"

// Path is where the metrics listener serves the report.
const Path = "/statusz"

// MaxBytes bounds a report: a reader refuses a longer one.
const MaxBytes = 64 << 10

// Report is the body of GET /statusz.
type Report struct {
	Configuration Configuration `json:"configuration"`
	// Draining is true when the configuration names this pod in drainPods: it takes no new Async events (503,
	// Retry-After), reports not ready, and keeps delivering what its Local queues hold until they are empty.
	Draining bool `json:"draining,omitempty"`
	// Queues are the Async endpoints' queues, by endpoint name.
	Queues []Queue `json:"queues,omitempty"`
}

// Queue counts the events one endpoint's queue holds. For a Redis queue the counts are the shared queue's, the
// same on every replica; for a Local one, this pod's.
type Queue struct {
	// Endpoint is the WebhookEndpoint, as namespace/name.
	Endpoint string `json:"endpoint"`
	// Kind is Local or Redis.
	Kind string `json:"kind"`
	// Pending events wait for a worker, InFlight are being processed, Delayed wait for a retry, Dead exhausted
	// their attempts and wait for a replay or a purge.
	Pending  int64 `json:"pending"`
	InFlight int64 `json:"inFlight"`
	Delayed  int64 `json:"delayed"`
	Dead     int64 `json:"dead"`
	// OldestReceived is when the oldest event not yet delivered (pending, in flight or delayed) was received;
	// absent when there is none.
	OldestReceived *time.Time `json:"oldestReceived,omitempty"`
	// Error is set when the counts could not be read (Redis down); the counts are then zero.
	Error string `json:"error,omitempty"`
	// Durability says which of the events the server acknowledged (202) survive a crash of the queue's store:
	// one of the Durability* values. Anything but DurabilityFsync can lose acknowledged events.
	Durability string `json:"durability,omitempty"`
	// DurabilityDetail is what the durability was read from, e.g. `appendonly no, save ""` for Redis, or why
	// it is DurabilityUnknown.
	DurabilityDetail string `json:"durabilityDetail,omitempty"`
}

// Values of Queue.Durability, from the strongest.
const (
	// DurabilityFsync: every acknowledged event is on disk. A Local queue (its file is fsynced before the 202),
	// or Redis with appendonly yes and appendfsync always.
	DurabilityFsync = "Fsync"
	// DurabilityEverySecond: Redis with appendonly yes and appendfsync everysec; a crash can lose about the last
	// second of acknowledged events.
	DurabilityEverySecond = "EverySecond"
	// DurabilityOSFlush: Redis with appendonly yes and appendfsync no; the kernel writes the file to disk when it
	// chooses, and a crash of the Redis host loses what it had not written.
	DurabilityOSFlush = "OSFlush"
	// DurabilitySnapshots: Redis without AOF, with RDB snapshots; a crash loses the events acknowledged since the
	// last snapshot.
	DurabilitySnapshots = "Snapshots"
	// DurabilityNone: Redis without AOF and without snapshots; a restart loses every queued event.
	DurabilityNone = "None"
	// DurabilityEvicts: Redis with a memory limit and an allkeys-* maxmemory-policy; once full it deletes keys,
	// queued events included, whatever its persistence.
	DurabilityEvicts = "Evicts"
	// DurabilityUnknown: the server could not read the Redis persistence settings (CONFIG and INFO refused, or
	// Redis unreachable); DurabilityDetail says why.
	DurabilityUnknown = "Unknown"
)

// Values of Queue.Kind: the WebhookEndpoint's spec.delivery.queue.
const (
	QueueLocal = "Local"
	QueueRedis = "Redis"
)

// Waiting is the number of events not yet delivered: pending, in flight and delayed.
func (q Queue) Waiting() int64 { return q.Pending + q.InFlight + q.Delayed }

// Configuration says which configuration the server serves and which it refused.
type Configuration struct {
	// Serving is the version of the configuration being served: for the file the operator renders, the
	// SHA-256 of its content in hex, which is the endpoint's status.configHash. Empty before the first load.
	Serving string `json:"serving,omitempty"`
	// Refused is set when the newest configuration the server read was refused, and the previous one (Serving)
	// keeps serving. It is cleared by the next configuration that loads.
	Refused *Refusal `json:"refused,omitempty"`
}

// Refusal is a configuration the server would not load.
type Refusal struct {
	// Version is the refused configuration's version. It equals Serving when the configuration is unchanged
	// and the Secrets it reads were refused.
	Version string `json:"version"`
	// Error says why, with every secret value redacted.
	Error string `json:"error"`
	// Since is when the server first refused it.
	Since time.Time `json:"since"`
}
