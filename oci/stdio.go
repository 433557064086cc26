package oci

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/kite-vm/kite/agent/client"
)

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
		go a.CopyInput(ctx, ref, in)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	copyOne := func(read client.StreamReader, w io.Writer) {
		defer wg.Done()
		if err := client.CopyOutput(ctx, read, ref, w); err != nil {
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
