package delivery

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Durability says which acknowledged events a queue keeps when its store crashes: the server answers 202 once
// Enqueue returned, so anything short of DurabilityFsync can lose events their senders were told were accepted.
type Durability string

// Durabilities, from the strongest.
const (
	// DurabilityFsync: every event is on disk before Enqueue returns. Local (its file is fsynced), or Redis
	// with appendonly yes and appendfsync always.
	DurabilityFsync Durability = "Fsync"
	// DurabilityEverySecond: Redis with appendonly yes and appendfsync everysec; a crash can lose about the
	// last second of events.
	DurabilityEverySecond Durability = "EverySecond"
	// DurabilityOSFlush: Redis with appendonly yes and appendfsync no; the kernel writes the file to disk when
	// it chooses, and a crash of the Redis host loses what it had not written.
	DurabilityOSFlush Durability = "OSFlush"
	// DurabilitySnapshots: Redis without AOF, with RDB snapshots; a crash loses the events since the last
	// snapshot.
	DurabilitySnapshots Durability = "Snapshots"
	// DurabilityNone: Redis without AOF and without snapshots (save ""); a restart loses every queued event.
	DurabilityNone Durability = "None"
	// DurabilityEvicts: Redis with a memory limit and an allkeys-* maxmemory-policy; once full it deletes keys,
	// queued events included, without crashing, whatever its persistence.
	DurabilityEvicts Durability = "Evicts"
	// DurabilityUnknown: the persistence settings could not be read; the detail says why.
	DurabilityUnknown Durability = "Unknown"
)

// durabilityTTL is how long a Redis queue keeps the persistence settings it read: they change only when
// someone reconfigures Redis, and /statusz and every metrics scrape ask for them.
const durabilityTTL = time.Minute

// durabilityCache is the latest durability a Redis queue read from Redis.
type durabilityCache struct {
	mu      sync.Mutex
	level   Durability
	detail  string
	expires time.Time
}

func (c *durabilityCache) get(now time.Time) (Durability, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.level, c.detail, now.Before(c.expires)
}

func (c *durabilityCache) set(level Durability, detail string, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.level, c.detail, c.expires = level, detail, expires
}

// Durability reads Redis's persistence settings with CONFIG GET or, where CONFIG is renamed, disabled or
// denied (as managed Redis services often do), with INFO persistence. What Redis answered is kept for
// durabilityTTL; when Redis cannot be reached the durability is Unknown with the error, and the next call asks
// again.
func (q *Redis) Durability(ctx context.Context) (Durability, string) {
	if level, detail, fresh := q.durability.get(q.opts.Now()); fresh {
		return level, detail
	}
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	level, detail, answered := q.readDurability(ctx)
	if answered {
		q.durability.set(level, detail, q.opts.Now().Add(durabilityTTL))
	}
	return level, detail
}

// readDurability asks CONFIG, then INFO when Redis refuses CONFIG. answered is false when Redis could not be
// reached.
func (q *Redis) readDurability(ctx context.Context) (level Durability, detail string, answered bool) {
	config, configErr := q.persistenceConfig(ctx)
	if configErr == nil {
		if evicts(config.maxMemory, config.maxMemoryPolicy) {
			return DurabilityEvicts, fmt.Sprintf("maxmemory %s, maxmemory-policy %s", config.maxMemory, config.maxMemoryPolicy), true
		}
		level, detail := durabilityOfConfig(config)
		return level, detail, true
	}
	if !refusedByRedis(configErr) {
		return DurabilityUnknown, q.wrap("reading the persistence settings", configErr).Error(), false
	}
	info, infoErr := q.client.Info(ctx, "persistence").Result()
	if infoErr != nil {
		detail := fmt.Sprintf("CONFIG GET failed (%s) and INFO persistence failed (%s)", reason(configErr), reason(infoErr))
		return DurabilityUnknown, detail, refusedByRedis(infoErr)
	}
	level, detail = durabilityOfInfo(infoFields(info))
	if memory, err := q.client.Info(ctx, "memory").Result(); err == nil {
		if fields := infoFields(memory); evicts(fields["maxmemory"], fields["maxmemory_policy"]) {
			level, detail = DurabilityEvicts, fmt.Sprintf("maxmemory:%s, maxmemory_policy:%s", fields["maxmemory"], fields["maxmemory_policy"])
		}
	}
	return level, fmt.Sprintf("%s (INFO persistence: CONFIG GET failed: %s)", detail, reason(configErr)), true
}

// evicts says whether Redis deletes the queue's keys when it is full: they never expire, so only an allkeys-*
// policy under a memory limit (maxmemory 0 is none) touches them; with noeviction a full Redis refuses new
// events instead, and the sender retries.
func evicts(maxMemory, policy string) bool {
	maxMemory = strings.TrimSpace(maxMemory)
	return maxMemory != "" && maxMemory != "0" && strings.HasPrefix(strings.TrimSpace(policy), "allkeys-")
}

// persistenceConfig is what CONFIG GET says of the settings that decide what survives a crash, and of those
// that decide whether Redis deletes keys when full.
type persistenceConfig struct{ appendOnly, appendFsync, save, maxMemory, maxMemoryPolicy string }

// errNotReported is a CONFIG GET answer without the setting asked for.
var errNotReported = errors.New("setting not reported")

// persistenceConfig reads the settings in one round trip.
func (q *Redis) persistenceConfig(ctx context.Context) (persistenceConfig, error) {
	names := []string{"appendonly", "appendfsync", "save", "maxmemory", "maxmemory-policy"}
	pipe := q.client.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(names))
	for i, name := range names {
		cmds[i] = pipe.ConfigGet(ctx, name)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return persistenceConfig{}, err
	}
	values := make([]string, len(names))
	for i, name := range names {
		value, ok := cmds[i].Val()[name]
		if !ok {
			return persistenceConfig{}, fmt.Errorf("%w: %s", errNotReported, name)
		}
		values[i] = value
	}
	return persistenceConfig{appendOnly: values[0], appendFsync: values[1], save: values[2], maxMemory: values[3],
		maxMemoryPolicy: values[4]}, nil
}

// refusedByRedis tells an answer from Redis (an error reply, such as an unknown or denied command, or a
// setting it does not report) from a failure to reach it.
func refusedByRedis(err error) bool {
	var reply redis.Error
	return errors.As(err, &reply) || errors.Is(err, errNotReported)
}

// reason is an error's text as one trimmed line: Redis's error replies end with a space.
func reason(err error) string {
	return strings.TrimSpace(err.Error())
}

// durabilityOfConfig: with AOF on, Redis restarts from the append-only file, so its fsync policy decides;
// without it, from the last RDB snapshot, if any is scheduled.
func durabilityOfConfig(c persistenceConfig) (Durability, string) {
	switch c.appendOnly {
	case "yes":
		detail := "appendonly yes, appendfsync " + c.appendFsync
		switch c.appendFsync {
		case "always":
			return DurabilityFsync, detail
		case "everysec":
			return DurabilityEverySecond, detail
		case "no":
			return DurabilityOSFlush, detail
		}
		return DurabilityUnknown, detail
	case "no":
		detail := fmt.Sprintf("appendonly no, save %q", c.save)
		if strings.TrimSpace(c.save) == "" {
			return DurabilityNone, detail
		}
		return DurabilitySnapshots, detail
	}
	return DurabilityUnknown, fmt.Sprintf("appendonly %q", c.appendOnly)
}

// durabilityOfInfo reads INFO persistence, which says whether AOF is on but neither its fsync policy nor
// whether snapshots are scheduled. With AOF on, the durability is then Unknown. Without it, the events since
// the last snapshot are lost on a crash whether more snapshots are scheduled or not, so it is Snapshots.
func durabilityOfInfo(fields map[string]string) (Durability, string) {
	switch fields["aof_enabled"] {
	case "1":
		return DurabilityUnknown, "aof_enabled:1, appendfsync unknown"
	case "0":
		return DurabilitySnapshots, fmt.Sprintf("aof_enabled:0, last snapshot %s, %s changes since",
			unixTime(fields["rdb_last_save_time"]), fields["rdb_changes_since_last_save"])
	}
	return DurabilityUnknown, "no aof_enabled"
}

// infoFields are the "name:value" lines of an INFO reply.
func infoFields(reply string) map[string]string {
	fields := map[string]string{}
	for line := range strings.Lines(reply) {
		if name, value, found := strings.Cut(strings.TrimSpace(line), ":"); found && !strings.HasPrefix(name, "#") {
			fields[name] = value
		}
	}
	return fields
}

// unixTime formats INFO's Unix seconds as RFC 3339, or returns them as they are when they are not a number.
func unixTime(seconds string) string {
	n, err := strconv.ParseInt(seconds, 10, 64)
	if err != nil {
		return seconds
	}
	return time.Unix(n, 0).UTC().Format(time.RFC3339)
}
