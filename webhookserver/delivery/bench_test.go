package delivery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testredis"
)

// BenchmarkEnqueue measures Enqueue of a typical event: serial (one request at a time, so one fsync per
// event) and parallel (concurrent requests, which share commits in Local).
func BenchmarkEnqueue(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	queues := map[string]func(b *testing.B) Queue{
		"Local": func(b *testing.B) Queue {
			q, err := OpenLocal(filepath.Join(b.TempDir(), "queue.db"), Options{Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			return q
		},
		"Redis": func(b *testing.B) Queue {
			s := testredis.Start(b)
			q, err := NewRedis(s.URL(), RedisOptions{Options: Options{Logger: quiet}, Prefix: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			return q
		},
	}
	for _, kind := range []string{"Local", "Redis"} {
		for _, parallel := range []bool{false, true} {
			name := kind + "/serial"
			if parallel {
				name = kind + "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				q := queues[kind](b)
				defer q.Close()
				var n atomic.Int64
				enqueue := func() {
					if err := q.Enqueue(context.Background(), event(fmt.Sprintf("bench-%d", n.Add(1)))); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				if parallel {
					b.SetParallelism(8)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							enqueue()
						}
					})
					return
				}
				for b.Loop() {
					enqueue()
				}
			})
		}
	}
}
