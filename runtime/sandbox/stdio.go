package sandbox

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

// streamReader is ReadStdout or ReadStderr of the agent client.
type streamReader func(ctx context.Context, p client.ProcessRef, maxBytes int) ([]byte, error)

// copyOutput copies a process's output stream from the agent to w until
// the stream ends. When w fails (a reader that went away: EPIPE), the rest
// is read and dropped, so that the process never blocks on a full pipe in
// the guest.
func copyOutput(ctx context.Context, read streamReader, ref client.ProcessRef, w io.Writer) error {
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

// copyInput copies r to the process's stdin, and closes the process's
// stdin at r's end. It stops when the process no longer takes input.
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

// relay copies one process's stdio between host files and the agent:
// stdin (when in is set), stdout to out, stderr to errOut (skipped when
// errOut is nil: a terminal has no stderr). done is closed when both output
// streams have ended.
type relay struct {
	done chan struct{}
	err  error // the first output copy error; read after done
}

func startRelay(ctx context.Context, a *client.Client, ref client.ProcessRef, in *os.File, out, errOut io.Writer) *relay {
	r := &relay{done: make(chan struct{})}
	if in != nil {
		// Not waited for: a read of a terminal or of an open pipe can
		// outlive the process; it ends with the sandbox process.
		go copyInput(ctx, a, ref, in)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	copyOne := func(read streamReader, w io.Writer) {
		defer wg.Done()
		if err := copyOutput(ctx, read, ref, w); err != nil {
			mu.Lock()
			r.err = errors.Join(r.err, err)
			mu.Unlock()
		}
	}
	wg.Add(1)
	go copyOne(a.ReadStdout, out)
	if errOut != nil {
		wg.Add(1)
		go copyOne(a.ReadStderr, errOut)
	}
	go func() { wg.Wait(); close(r.done) }()
	return r
}
