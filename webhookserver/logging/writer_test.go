package logging

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an out that counts the writes it gets.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.buf.Write(p)
}

func (b *syncBuffer) snapshot() (string, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String(), b.writes
}

func TestWriterWritesALoneLineWithinTheDelay(t *testing.T) {
	out := &syncBuffer{}
	w := NewWriter(out)
	defer w.Close()
	start := time.Now()
	if _, err := w.Write([]byte("one line\n")); err != nil {
		t.Fatal(err)
	}
	for {
		if text, _ := out.snapshot(); text == "one line\n" {
			break
		}
		if time.Since(start) > 20*FlushDelay {
			t.Fatalf("the line was not written within %v", 20*FlushDelay)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWriterGathersLinesAndKeepsThemWholeAndInOrder(t *testing.T) {
	out := &syncBuffer{}
	w := NewWriter(out)
	const goroutines, lines = 4, 2000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "{\"g\":%d,\"i\":%d,\"pad\":%q}\n", g, i, strings.Repeat("x", 100))
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	text, writes := out.snapshot()
	got := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(got) != goroutines*lines {
		t.Fatalf("%d lines out, want %d", len(got), goroutines*lines)
	}
	next := make([]int, goroutines)
	for _, line := range got {
		var g, i int
		if _, err := fmt.Sscanf(line, "{\"g\":%d,\"i\":%d,", &g, &i); err != nil || !strings.HasSuffix(line, "x\"}") {
			t.Fatalf("broken line %q", line)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: line %d came before line %d", g, i, next[g])
		}
		next[g]++
	}
	// About 1 MiB of lines in 32 KiB writes; far fewer writes than lines.
	if writes > goroutines*lines/20 {
		t.Errorf("%d writes for %d lines: lines are not gathered", writes, goroutines*lines)
	}
}

func TestWriterCloseWritesWhatIsPendingThenWritesThrough(t *testing.T) {
	out := &syncBuffer{}
	w := NewWriter(out)
	_, _ = w.Write([]byte("before close\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if text, _ := out.snapshot(); text != "before close\n" {
		t.Fatalf("after Close: %q", text)
	}
	_, _ = w.Write([]byte("after close\n"))
	if text, _ := out.snapshot(); text != "before close\nafter close\n" {
		t.Fatalf("a write after Close: %q", text)
	}
}
