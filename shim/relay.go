package shim

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/kite-vm/kite/agent/client"
)

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
			a.CopyInput(ctx, ref, in)
		}()
	}
	var wg sync.WaitGroup
	for _, s := range []struct {
		read client.StreamReader
		w    *os.File
		want bool
	}{{a.ReadStdout, f.out, true}, {a.ReadStderr, f.err, f.err != nil}} {
		if !s.want {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var w io.Writer // a nil *os.File must not become a non-nil Writer
			if s.w != nil {
				w = s.w
			}
			if err := client.CopyOutput(ctx, s.read, ref, w); err != nil {
				r.mu.Lock()
				r.err = errors.Join(r.err, err)
				r.mu.Unlock()
			}
		}()
	}
	go func() { wg.Wait(); close(r.done) }()
	return r
}
