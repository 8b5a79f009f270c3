// Package delivery is the durable queue behind Async delivery (WebhookEndpoint spec.delivery): the server
// answers 202 only after Enqueue returned nil, that is after the event is stored where the configured store
// keeps it across a crash; workers then replay it into the fulfillment path, retry failures with exponential
// backoff and full jitter up to MaxAttempts, and move what still fails to a dead-letter list that can be listed,
// replayed and purged. Two stores implement Queue: Local (a bbolt file, one per pod) and Redis (streams shared
// by the replicas).
//
// An event keeps its request's method, query, body and only the headers StoredHeaders allows, never a
// credential: authentication ran when the request arrived and does not run again when the event is processed.
// The same filter applies whenever a stored event is read back, so events stored with every header (by an
// older version) are listed and processed without them.
//
// # What Enqueue's nil means
//
// Local: the bbolt transaction holding the event is committed and fsynced (fdatasync) before Enqueue returns;
// a kill -9 or a power cut after that does not lose it. Concurrent Enqueue calls share one transaction (group
// commit): a burst costs one fsync, not one per event.
//
// Redis: the event was written by the Redis primary. Whether it survives a Redis crash is the operator's
// Redis configuration, not this package's: with appendonly yes and appendfsync always nothing acknowledged is
// lost; with appendfsync everysec (Redis' default when AOF is on) up to about a second of acknowledged events
// can be lost if the Redis host crashes; without persistence a Redis restart loses everything. Replication is
// asynchronous, so a failover can also lose the latest writes. Durability says which case a queue is in: Redis
// reads it from CONFIG GET, or from INFO persistence where CONFIG is not available. Every call is bounded by RedisOptions.Timeout
// (default 1s), connecting included: when Redis is down, Enqueue fails within it and the server answers 503.
//
// An error from Enqueue means "maybe stored" (for example Redis wrote the event and the answer was lost). A
// retry with the same ID is safe: the queue holds one event per ID until it is processed.
//
// # Processing guarantees
//
// At least once: every acknowledged event is handled until a handler call returns nil, or it becomes a dead
// letter after MaxAttempts failed calls. In the happy path (no crash, no shutdown, store reachable) every event
// is handled exactly once, whatever the number of workers. The handler is called again for an event it has
// already handled, or is still handling, in these cases only:
//   - the process dies (crash, kill -9, OOM) after the handler returned and before its outcome was stored;
//   - the process shuts down (Run's context ends) while a handler runs and the handler then returns an error:
//     the attempt is neither counted nor recorded, and the event is handled again after the restart;
//   - the store is unreachable when the outcome is to be stored and stays so until shutdown;
//   - Redis only: a consumer cannot refresh its events for MinIdle (cut off from Redis, or frozen longer than
//     that) and another consumer reclaims them while its handler still runs; the first consumer's outcome is
//     then discarded and the new owner's counts;
//   - Redis only: Redis comes back from a stale copy (an older AOF or snapshot), with events whose completion
//     it had not persisted.
//
// Attempts counts failed calls whose outcome was stored. A panicking handler is a failed call (the panic is
// recovered). A call cut off by a crash or a shutdown is not counted, so an event whose handling kills the
// process (an OOM kill, say) comes back after every restart without ever reaching the dead letters. Order is not guaranteed: events start roughly in arrival order,
// but workers run in parallel and retries come back later.
//
// # Shutdown and restart
//
// When Run's context ends, Run stops taking events, cancels the running handlers' context and waits for them.
// A handler that still succeeds has its outcome stored; the events of the others stay in flight:
//   - Local: in the inflight bucket, moved back to ready by the next OpenLocal (or the next Run of the same
//     process).
//   - Redis: pending in the consumer group under this process's consumer name. The default name is new for
//     every process (host-pid-random), so another consumer, or the restarted process as a new consumer,
//     reclaims them with XAUTOCLAIM once they are MinIdle idle. With a stable RedisOptions.Consumer (a
//     StatefulSet pod name) the restarted process reads its own pending events at once when Run starts.
//     Names of consumers that are gone stay listed (with nothing pending) in XINFO CONSUMERS; XGROUP
//     DELCONSUMER removes them.
//
// # Local: the bbolt file
//
// One process owns the file (bbolt locks it exclusively; OpenLocal fails after 2s when another process holds
// it), so a Local queue belongs to one pod: keep the file on a volume that outlives the container (an emptyDir
// survives container restarts, a PersistentVolume survives the pod). Buckets, events stored as JSON:
//
//	meta      "format" -> "1"
//	ready     8-byte big-endian sequence -> event            (arrival order; workers take the first keys)
//	delayed   8-byte big-endian due time (Unix ns) + 8-byte sequence -> event
//	                                                          (the first key is the next due; a timer waits for it)
//	inflight  event ID -> event                              (taken by a worker, outcome not stored yet)
//	dead      8-byte big-endian sequence -> event            (the order they died in)
//	ids       event ID -> 'r'|'d'|'f'|'x' + key in ready|delayed|inflight|dead
//	                                                          (one event per ID; Replay finds a dead letter by ID)
//
// Taking, completing, retrying and burying an event are each one transaction that moves it between buckets,
// so a crash leaves every event in exactly one of them.
//
// # Redis: keys under RedisOptions.Prefix (P)
//
//	P:stream      stream of ready and in-flight events: one field "e" = event JSON; consumer group
//	              RedisOptions.Group, created from the stream's start ("0", MKSTREAM) by Run when missing.
//	              An entry is acknowledged and deleted when its outcome is stored, so XLEN counts the events
//	              not settled and the group's pending entries (XPENDING) are the events in flight.
//	P:delayed     sorted set of events waiting for a retry: member = event JSON (with Attempts and LastError),
//	              score = due time in Unix ms. Moved back to the stream when due by any replica's promoter.
//	P:dead        hash event ID -> event JSON of the dead letters.
//	P:dead:index  sorted set of dead letter IDs scored by the time they died (Unix ms), the listing order.
//	P:ids         set of the IDs in the queue (ready, in flight, delayed or dead): one event per ID.
//
// Every move between keys is one Lua script (XACK+XDEL+ZADD, ZRANGEBYSCORE+ZREM+XADD, ...), atomic in Redis,
// and every script that settles an event first checks with XPENDING that this consumer still owns the entry.
// A consumer reads new entries with XREADGROUP (BLOCK RedisOptions.Block), reclaims entries idle for MinIdle
// with XAUTOCLAIM every ClaimInterval, and refreshes the idle time of the entries its handlers hold every
// MinIdle/3 (XCLAIM JUSTID), so a slow handler keeps its event. When Redis is unreachable, Run's loops back
// off from 50ms to 2s instead of spinning, and resume by themselves; they recreate the consumer group if Redis
// lost it. Give each endpoint its own prefix; with Redis Cluster the prefix must contain a hash tag, e.g.
// "fulfillment:delivery:{namespace/name}", so that a script's keys share a slot.
package delivery
