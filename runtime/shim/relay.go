package shim

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/kite-vm/kite/agent/client"
)

// readChunk is how much output one agent read asks for.
const readChunk = 64 << 10

// relay copies one process's stdio between containerd's FIFOs and the
// agent. done is closed when the output streams have ended.
type relay struct {
	done chan struct{}
	mu   sync.Mutex
	err  error // guarded by mu; the output copies' errors
}

// startRelay starts the copies; they end with their streams, or when the
// agent connection closes. ctx is only the relay's own lifetime.
func startRelay(ctx context.Context, a *client.Client, ref client.ProcessRef, f *stdioFiles) *relay {
	r := &relay{done: make(chan struct{})}
	if f.in != nil {
		go func() {
			in, err := f.in.open()
			if err != nil {
				a.CloseStdin(ctx, ref)
				return
			}
			copyInput(ctx, a, ref, in)
		}()
	}
	var wg sync.WaitGroup
	for _, s := range []struct {
		read func(context.Context, client.ProcessRef, int) ([]byte, error)
		w    *os.File
		want bool
	}{{a.ReadStdout, f.out, true}, {a.ReadStderr, f.err, f.err != nil}} {
		if !s.want {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := copyOutput(ctx, s.read, ref, s.w); err != nil {
				r.mu.Lock()
				r.err = errors.Join(r.err, err)
				r.mu.Unlock()
			}
		}()
	}
	go func() { wg.Wait(); close(r.done) }()
	return r
}

// copyOutput copies a stream from the agent to w (nil: drop it) until it
// ends. When w fails (the reader went away), the rest is read and dropped,
// so that the process never blocks on a full pipe in the guest.
func copyOutput(ctx context.Context, read func(context.Context, client.ProcessRef, int) ([]byte, error), ref client.ProcessRef, w *os.File) error {
	for {
		b, err := read(ctx, ref, readChunk)
		if len(b) > 0 && w != nil {
			if _, werr := w.Write(b); werr != nil {
				w = nil
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// copyInput copies r to the process's stdin and closes the process's stdin
// at r's end.
func copyInput(ctx context.Context, a *client.Client, ref client.ProcessRef, r io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, rerr := r.Read(buf)
		for off := 0; off < n; {
			w, err := a.WriteStdin(ctx, ref, buf[off:n])
			if err != nil {
				return err
			}
			off += w
		}
		if rerr == io.EOF {
			return a.CloseStdin(ctx, ref)
		}
		if rerr != nil {
			return rerr
		}
	}
}
