package delivery

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testredis"
)

// TestRedisDurability starts a real Redis with each persistence setting and checks what the queue reads from it,
// through CONFIG GET or, where CONFIG is renamed away, INFO persistence.
func TestRedisDurability(t *testing.T) {
	tests := map[string]struct {
		redisArgs  []string
		want       Durability
		wantDetail []string
	}{
		"AOF, fsync always": {
			want: DurabilityFsync, wantDetail: []string{"appendonly yes, appendfsync always"}},
		"AOF, fsync every second": {redisArgs: []string{"--appendfsync", "everysec"},
			want: DurabilityEverySecond, wantDetail: []string{"appendonly yes, appendfsync everysec"}},
		"AOF, fsync left to the kernel": {redisArgs: []string{"--appendfsync", "no"},
			want: DurabilityOSFlush, wantDetail: []string{"appendonly yes, appendfsync no"}},
		"snapshots only": {redisArgs: []string{"--appendonly", "no", "--save", "3600 1 300 100"},
			want: DurabilitySnapshots, wantDetail: []string{`appendonly no, save "3600 1 300 100"`}},
		"no persistence": {redisArgs: []string{"--appendonly", "no", "--save", ""},
			want: DurabilityNone, wantDetail: []string{`appendonly no, save ""`}},
		"CONFIG renamed, no AOF": {redisArgs: []string{"--appendonly", "no", "--rename-command", "CONFIG", ""},
			want: DurabilitySnapshots, wantDetail: []string{"aof_enabled:0", "last snapshot 20", "INFO persistence", "unknown command 'config'"}},
		"CONFIG renamed, AOF": {redisArgs: []string{"--rename-command", "CONFIG", ""},
			want: DurabilityUnknown, wantDetail: []string{"aof_enabled:1, appendfsync unknown", "unknown command 'config'"}},
		"evicting keys when full": {redisArgs: []string{"--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"},
			want: DurabilityEvicts, wantDetail: []string{"maxmemory 67108864, maxmemory-policy allkeys-lru"}},
		"evicting keys when full, CONFIG renamed": {redisArgs: []string{"--maxmemory", "64mb", "--maxmemory-policy", "allkeys-random",
			"--rename-command", "CONFIG", ""},
			want: DurabilityEvicts, wantDetail: []string{"maxmemory:67108864, maxmemory_policy:allkeys-random", "unknown command 'config'"}},
		"a memory limit, no eviction": {redisArgs: []string{"--maxmemory", "64mb", "--maxmemory-policy", "noeviction"},
			want: DurabilityFsync, wantDetail: []string{"appendonly yes, appendfsync always"}},
		"evicting only keys that expire": {redisArgs: []string{"--maxmemory", "64mb", "--maxmemory-policy", "volatile-lru"},
			want: DurabilityFsync},
		"CONFIG and INFO renamed": {redisArgs: []string{"--rename-command", "CONFIG", "", "--rename-command", "INFO", ""},
			want: DurabilityUnknown, wantDetail: []string{"unknown command 'config'", "unknown command 'info'"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			q := newTestRedis(t, testredis.Start(t, tt.redisArgs...), "durability", Options{})
			level, detail := q.Durability(context.Background())
			if level != tt.want {
				t.Errorf("Durability = %s (%s), want %s", level, detail, tt.want)
			}
			for _, part := range tt.wantDetail {
				if !strings.Contains(detail, part) {
					t.Errorf("detail %q does not say %q", detail, part)
				}
			}
		})
	}
}

// The durability is read from Redis once per durabilityTTL, not on every call: a change of Redis's settings
// shows once the answer expired.
func TestRedisDurabilityIsKept(t *testing.T) {
	s := testredis.Start(t)
	clock := &testClock{now: time.Now()}
	q := newTestRedis(t, s, "durability", Options{Now: clock.Now})
	ctx := context.Background()
	if level, detail := q.Durability(ctx); level != DurabilityFsync {
		t.Fatalf("Durability = %s (%s), want Fsync", level, detail)
	}
	client := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer client.Close()
	if err := client.ConfigSet(ctx, "appendfsync", "everysec").Err(); err != nil {
		t.Fatal(err)
	}
	clock.advance(durabilityTTL - time.Second)
	if level, _ := q.Durability(ctx); level != DurabilityFsync {
		t.Errorf("Durability = %s before the answer expired, want the Fsync read first", level)
	}
	clock.advance(time.Second)
	if level, _ := q.Durability(ctx); level != DurabilityEverySecond {
		t.Errorf("Durability = %s once the answer expired, want the EverySecond Redis now has", level)
	}
}

// When Redis cannot be reached the durability is Unknown with the error, and that is not kept: the next call,
// once Redis is back, reads it.
func TestRedisDurabilityUnreachable(t *testing.T) {
	s := testredis.Start(t, "--appendfsync", "everysec")
	q := newTestRedis(t, s, "durability", Options{})
	s.Kill()
	ctx := context.Background()
	if level, detail := q.Durability(ctx); level != DurabilityUnknown || !strings.Contains(detail, "refused") {
		t.Errorf("Durability with Redis down = %s (%s), want Unknown with the connection error", level, detail)
	}
	s.Revive()
	if level, detail := q.Durability(ctx); level != DurabilityEverySecond {
		t.Errorf("Durability once Redis is back = %s (%s), want EverySecond at once", level, detail)
	}
}

// A Local queue's file is fsynced on every commit (TestLocalSyncsBeforeEnqueueReturns).
func TestLocalDurability(t *testing.T) {
	q, err := OpenLocal(filepath.Join(t.TempDir(), "queue.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	if level, detail := q.Durability(context.Background()); level != DurabilityFsync {
		t.Errorf("Durability = %s (%s), want Fsync", level, detail)
	}
}

// Settings a real Redis would not give still map to a durability that claims nothing.
func TestDurabilityOfOddSettings(t *testing.T) {
	tests := map[string]struct {
		config persistenceConfig
		info   map[string]string
		want   Durability
	}{
		"unknown fsync policy":  {config: persistenceConfig{appendOnly: "yes", appendFsync: "sometimes"}, want: DurabilityUnknown},
		"unknown appendonly":    {config: persistenceConfig{appendOnly: "maybe", save: "3600 1"}, want: DurabilityUnknown},
		"save of spaces":        {config: persistenceConfig{appendOnly: "no", save: "  "}, want: DurabilityNone},
		"INFO without AOF line": {info: map[string]string{"rdb_saves": "3"}, want: DurabilityUnknown},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var got Durability
			if tt.info != nil {
				got, _ = durabilityOfInfo(tt.info)
			} else {
				got, _ = durabilityOfConfig(tt.config)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// testClock is a clock a test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
