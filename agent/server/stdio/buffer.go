package stdio

import (
	"context"
	"errors"
	"io"
	"sync"
)

// ErrClosed is returned by Write once the reading side has gone away.
var ErrClosed = errors.New("output buffer closed")

// Buffer is a bounded byte queue with one writer (the copier) and any
// number of readers (RPCs). The zero value is not usable: use NewBuffer.
type Buffer struct {
	limit int

	mu        sync.Mutex
	data      []byte        // guarded by mu
	eof       bool          // writer finished; guarded by mu
	discarded bool          // readers gone; guarded by mu
	changed   chan struct{} // closed and replaced on every change; guarded by mu
}

// NewBuffer returns a Buffer holding at most limit bytes.
func NewBuffer(limit int) *Buffer {
	return &Buffer{limit: limit, changed: make(chan struct{})}
}

// Closed returns a Buffer that is already at end of file, for a stream
// that does not exist (stderr of a terminal process).
func Closed() *Buffer {
	b := NewBuffer(0)
	b.eof = true
	return b
}

// notify wakes everyone waiting on the buffer. Callers hold mu.
func (b *Buffer) notify() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// Write appends p, blocking while the buffer is full. After Discard it
// drops p and reports ErrClosed so the copier stops.
func (b *Buffer) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		b.mu.Lock()
		if b.discarded {
			b.mu.Unlock()
			return written, ErrClosed
		}
		room := b.limit - len(b.data)
		if room <= 0 {
			wait := b.changed
			b.mu.Unlock()
			<-wait
			continue
		}
		n := min(room, len(p))
		b.data = append(b.data, p[:n]...)
		b.notify()
		b.mu.Unlock()
		written += n
		p = p[n:]
	}
	return written, nil
}

// CloseWrite marks the end of the stream: readers get the remaining data,
// then eof.
func (b *Buffer) CloseWrite() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.eof = true
	b.notify()
}

// Discard drops the buffered data and makes later writes fail, so a
// process whose output nobody will read again is not blocked by it.
func (b *Buffer) Discard() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.discarded = true
	b.data = nil
	b.notify()
}

// Read returns up to max bytes, blocking until there is data, the stream
// has ended (eof true, no data), or ctx is done.
func (b *Buffer) Read(ctx context.Context, max int) (data []byte, eof bool, err error) {
	for {
		b.mu.Lock()
		if len(b.data) > 0 {
			n := min(max, len(b.data))
			data = append([]byte(nil), b.data[:n]...)
			b.data = b.data[n:]
			if len(b.data) == 0 {
				b.data = nil // let the backing array go
			}
			b.notify()
			b.mu.Unlock()
			return data, false, nil
		}
		if b.eof || b.discarded {
			b.mu.Unlock()
			return nil, true, nil
		}
		wait := b.changed
		b.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// Drained reports whether the stream has ended and all of it was read.
func (b *Buffer) Drained() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return (b.eof || b.discarded) && len(b.data) == 0
}

// Pump copies r into b until r ends, then closes b for writing. A pty
// master reads EIO once the terminal's last holder is gone: that is the end
// of the stream too.
func Pump(b *Buffer, r io.Reader) {
	defer b.CloseWrite()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := b.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			// EOF, EIO from a pty, or the file closed by RemoveContainer:
			// the protocol's eof carries no error, every end is an end.
			return
		}
	}
}
