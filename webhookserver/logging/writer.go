package logging

import (
	"io"
	"sync"
	"time"
)

// FlushDelay is the longest a line waits in a Writer before it is written out.
const FlushDelay = 50 * time.Millisecond

// flushSize is how many bytes of lines a Writer gathers before it writes them at once, without waiting for
// FlushDelay: under load, one system call carries a hundred request lines instead of one.
const flushSize = 32 << 10

// Writer gathers what is written to it and passes it to out in one Write when flushSize bytes are pending or
// FlushDelay after the first pending byte, whichever comes first. Each Write is kept whole and in order, so
// lines (one Write each, as slog writes them) are never split or interleaved. Close writes what is pending;
// later writes go straight to out.
type Writer struct {
	out     io.Writer
	mu      sync.Mutex
	pending []byte
	timer   *time.Timer // armed while bytes are pending
	closed  bool
}

// NewWriter returns a Writer to out.
func NewWriter(out io.Writer) *Writer {
	w := &Writer{out: out, pending: make([]byte, 0, flushSize)}
	w.timer = time.AfterFunc(time.Hour, w.Flush)
	w.timer.Stop()
	return w
}

// Write implements io.Writer. It reports p written: out's errors have nobody to report them to (slog drops
// them too).
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		_, _ = w.out.Write(p)
		return len(p), nil
	}
	if len(w.pending) == 0 {
		w.timer.Reset(FlushDelay)
	}
	w.pending = append(w.pending, p...)
	if len(w.pending) >= flushSize {
		w.flushLocked()
	}
	return len(p), nil
}

// Flush writes what is pending now.
func (w *Writer) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}

// Close writes what is pending and stops gathering. It never fails.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	w.closed = true
	return nil
}

func (w *Writer) flushLocked() {
	if len(w.pending) == 0 {
		return
	}
	w.timer.Stop()
	_, _ = w.out.Write(w.pending)
	if cap(w.pending) > 4*flushSize { // one burst of huge lines does not keep its buffer
		w.pending = make([]byte, 0, flushSize)
		return
	}
	w.pending = w.pending[:0]
}
