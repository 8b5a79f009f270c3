package delivery

import "github.com/redis/go-redis/v9"

// The Redis queue changes its keys only through these scripts, so that every move of an event (stream to
// delayed set, delayed set to stream, stream to dead letters) is atomic: a crash of either side between two
// commands can neither lose an event nor leave two copies. Every script is also safe to run twice (go-redis
// retries a call whose answer was lost), and the settling ones do nothing for an entry the consumer no longer
// owns (another consumer reclaimed it).

// enqueueScript adds an event to the stream unless its ID is queued already.
// KEYS: stream, ids. ARGV: id, event. Returns 1 when added, 0 for a duplicate.
var enqueueScript = redis.NewScript(`
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[1], '*', 'e', ARGV[2])
return 1
`)

// owned is the test the settling scripts share: is the stream entry ARGV[3] pending for consumer ARGV[2] of
// group ARGV[1]?
const owned = `
local function owned()
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
  return #p > 0
end
`

// ackScript completes an event: acknowledge and delete its entry, forget its ID.
// KEYS: stream, ids. ARGV: group, consumer, entry id, event id. Returns 1, or 0 when not owned.
var ackScript = redis.NewScript(owned + `
if not owned() then
  return 0
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
redis.call('SREM', KEYS[2], ARGV[4])
return 1
`)

// retryScript moves an event from the stream to the delayed set, scored by its due time.
// KEYS: stream, delayed. ARGV: group, consumer, entry id, due (Unix ms), event. Returns 1, or 0 when not owned.
var retryScript = redis.NewScript(owned + `
if not owned() then
  return 0
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
return 1
`)

// buryScript moves an event from the stream to the dead letters.
// KEYS: stream, dead, dead index. ARGV: group, consumer, entry id, event id, event, now (Unix ms).
// Returns 1, or 0 when not owned.
var buryScript = redis.NewScript(owned + `
if not owned() then
  return 0
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[4])
return 1
`)

// touchScript resets the idle time of the entries the consumer still owns, so that no other consumer
// reclaims an event whose handler is merely slow.
// KEYS: stream. ARGV: group, consumer, entry ids... Returns how many it touched.
var touchScript = redis.NewScript(`
local n = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if #p > 0 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
`)

// promoteScript moves the delayed events that are due to the stream.
// KEYS: delayed, stream. ARGV: now (Unix ms), limit. Returns {moved, due time of the next one or "-1"}.
var promoteScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, e in ipairs(due) do
  redis.call('ZREM', KEYS[1], e)
  redis.call('XADD', KEYS[2], '*', 'e', e)
end
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local at = '-1'
if #next == 2 then
  at = next[2]
end
return {#due, at}
`)

// replayScript moves a dead letter back to the stream.
// KEYS: dead, dead index, stream. ARGV: id, event (attempts reset). Returns 1, or 0 when it is not dead.
var replayScript = redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[3], '*', 'e', ARGV[2])
return 1
`)

// purgeScript deletes a dead letter and forgets its ID.
// KEYS: dead, dead index, ids. ARGV: id. Returns 1, or 0 when it is not dead.
var purgeScript = redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
`)

// purgeAllScript deletes every dead letter and forgets their IDs.
// KEYS: dead, dead index, ids. Returns how many it deleted.
var purgeAllScript = redis.NewScript(`
local ids = redis.call('HKEYS', KEYS[1])
for _, id in ipairs(ids) do
  redis.call('SREM', KEYS[3], id)
end
redis.call('DEL', KEYS[1], KEYS[2])
return #ids
`)

// statsScript counts the events in one consistent view, and reads the received times of waiting events for
// Stats.Oldest: of the first stream entries (the earliest arrivals, and the earliest back from a retry) and of
// the delayed events due last (those with the most failed attempts, so the oldest), at most ARGV[2] of each.
// It stops once it has read ARGV[3] bytes of events: an event holds its whole body, and the script blocks Redis
// while it runs. Only the received times leave Redis.
// KEYS: stream, delayed, dead. ARGV: group, limit, byte budget.
// Returns {pending, in flight, delayed, dead, {received time as RFC 3339 text, ...}}.
var statsScript = redis.NewScript(`
local len = redis.call('XLEN', KEYS[1])
local pel = 0
local p = redis.pcall('XPENDING', KEYS[1], ARGV[1])
if type(p) == 'table' and p.err == nil then
  pel = p[1]
end
local delayed = redis.call('ZCARD', KEYS[2])
local limit, budget = tonumber(ARGV[2]), tonumber(ARGV[3])
local received = {}
local function note(event)
  budget = budget - #event
  local at = string.match(event, '"received":"([^"]*)"')
  if at then
    received[#received + 1] = at
  end
end
local start = '-'
for _ = 1, limit do
  if len == 0 or budget <= 0 then
    break
  end
  local entries = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 1)
  if #entries == 0 then
    break
  end
  start = '(' .. entries[1][1]
  local fields = entries[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'e' then
      note(fields[i + 1])
    end
  end
end
for i = 1, math.min(limit, delayed) do
  if budget <= 0 then
    break
  end
  note(redis.call('ZRANGE', KEYS[2], -i, -i)[1])
end
return {len - pel, pel, delayed, redis.call('HLEN', KEYS[3]), received}
`)
