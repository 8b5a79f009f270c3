// Package idempotency makes a request with an idempotency key take effect once: the first request with a key
// is processed, a concurrent duplicate waits for it and gets the same answer, and a later duplicate within the
// TTL gets the stored answer (the server marks a replay with the header `Idempotent-Replayed: true`).
//
// # Protocol
//
// The server calls [Store.Begin] with the key the endpoint's `idempotency.key` expression computed. Begin
// returns exactly one of:
//
//   - an [Answer] to replay: one was stored for the key, or a concurrent holder completed while we waited;
//   - a [Claim]: this request processes, then calls [Claim.Complete] with its answer (stored for the TTL and
//     handed to every waiter), or [Claim.Release] when processing failed, so that the next attempt, or one of
//     the waiters, processes instead;
//   - an error: [ErrUnavailable] when the store cannot be reached, [ErrInProgress] (together with the context's
//     error) when ctx ended while another request held the key, or ctx's own error.
//
// A claim has a lock TTL ([WithLockTTL]): a holder that never completes nor releases (its process crashed) is
// considered gone after it, and another request may process. Set it to the endpoint deadline plus a margin for
// storing the answer, so that a slow but live holder is never overtaken. A holder that completes after it was
// overtaken gets [ErrClaimLost] and its answer is not stored over the newer one.
//
// The usual shape in a handler:
//
//	answer, claim, err := store.Begin(ctx, key)
//	switch {
//	case errors.Is(err, idempotency.ErrUnavailable): // the failure policy decides (below)
//	case err != nil: // ErrInProgress or ctx ended: answer 409 or 503 with Retry-After
//	case answer != nil: // replay answer with Idempotent-Replayed: true
//	default:
//		defer claim.Release(ctx) // does nothing after Complete
//		answer := process(ctx)
//		_ = claim.Complete(ctx, answer) // failure to store is logged; the answer is still sent
//	}
//
// # Failure policy
//
// What to do when the store is unavailable is the server's decision, not this package's: Begin and Complete
// return an error wrapping [ErrUnavailable] (and the cause) quickly instead of hanging (Release gives up just as
// quickly, leaving the claim to its lock TTL), and the server applies the endpoint's policy: `Fail` answers 503 so that the sender retries later (safe for senders that
// retry: Standard Webhooks, Stripe, Shopify), `Ignore` processes the request without idempotency (for senders
// that never retry, such as Dialogflow, where an answer matters more than a rare duplicate).
//
// # Stores
//
// [Memory] keeps answers in the process, in a [MemoryPool] bounded by entry count and bytes (oldest answers
// are evicted first; by default 8 MiB, thousands of Dialogflow answers). The server gives every Memory store
// one pool, so that its --idempotency-memory-mib bounds the process however many endpoints it serves. The
// answers hold no pointers, so a full pool adds nothing to the garbage collector's marking. Waiters are woken
// through channels. Each replica has its own: with several replicas, a duplicate that reaches another
// replica is processed again, so it suits one replica, or tests and local runs.
//
// [Redis] is shared by every replica of an endpoint. Each key is one Redis string at
// `<prefix><hex sha256(key)>`, so arbitrary keys are safe and bounded; the prefix names the endpoint
// ([KeyPrefix]). The value is one of two records:
//
//	"P" + 32 hex digits (owner token)   a claim in progress, written with PX = lock TTL
//	"A" + encoded answer                 a stored answer, written with PX = TTL
//
// The answer is encoded in compact binary (uvarint lengths: status, headers, then the body as the rest), a
// few bytes over the body's size; the Memory store keeps the same records.
//
// A Lua script claims atomically: it returns the current record, or writes the claim when there is none (the
// SET NX PX of the classic lock, with the existing record returned in the same round trip, on any Redis
// version). Complete and Release are Lua scripts too, which compare the owner token, so a claim that expired
// and was taken over is neither overwritten nor deleted. Each script is safe to retry after a lost reply.
// A waiter polls with the claim script every [WithPollInterval] (20ms by default, with jitter): it sees the
// answer, takes the claim itself once the holder released or its lock expired, or gives up when ctx ends.
// Polling was chosen over keyspace notifications or pub/sub because it needs no server configuration (managed
// Redis often forbids `notify-keyspace-events`), cannot miss a wake-up across a reconnect, and costs one small
// script call per waiter per interval only while a duplicate is in flight, which is rare.
//
// Every Redis call is bounded by ctx and by [WithOpTimeout] (500ms by default); the client's dial, read,
// write and pool timeouts are small (see [NewRedis]) and a down server fails fast, so a request never hangs on
// the store. When Redis is back the same Store works again: the client reconnects by itself (within about a
// second once its dial breaker opened, which go-redis probes every second).
package idempotency
