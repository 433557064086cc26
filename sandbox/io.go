package sandbox

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/spec"
)

// IO is a process's stdio as the front end holds it: its own files (the
// OCI CLI's per-sandbox process, a host pty for a terminal) or containerd's
// FIFOs (the shim).
type IO struct {
	// Stdin is where the process's input comes from; nil: the guest gives
	// it /dev/null.
	Stdin Input
	// Stdout and Stderr receive its output; nil discards it. A process on
	// a terminal has no stderr: the terminal carries both.
	Stdout, Stderr io.Writer
	// Terminal runs the process on a pseudo-terminal in the guest.
	Terminal bool
	// ConsoleSize is the terminal's initial size, nil when unknown.
	ConsoleSize *spec.ConsoleSize
	// Close is called once, when the process's output has ended (or been
	// given up on) and its exit is about to be reported: the front end
	// closes its files there.
	Close func()
}

// Input is a process's stdin. Open is called by the relay, which may wait
// for a writer (a FIFO blocks until containerd opens its side).
type Input interface {
	Open() (io.Reader, error)
}

// FileInput is stdin from a file that is open already.
func FileInput(f *os.File) Input { return fileInput{f} }

type fileInput struct{ f *os.File }

func (i fileInput) Open() (io.Reader, error) { return i.f, nil }

// relay copies one process's stdio between the front end's files and the
// agent. done is closed when the output streams have ended.
type relay struct {
	done chan struct{}
	mu   sync.Mutex
	err  error // guarded by mu: the output copies' errors
}

// startRelay starts the copies; they end with their streams, or when the
// agent connection closes. Stdin is not waited for: a read of a terminal
// or of an open pipe can outlive the process.
func startRelay(a *client.Client, ref client.ProcessRef, pio IO) *relay {
	ctx := context.Background() // the copies end with the agent connection
	r := &relay{done: make(chan struct{})}
	if pio.Stdin != nil {
		go func() {
			in, err := pio.Stdin.Open()
			if err != nil {
				a.CloseStdin(ctx, ref)
				return
			}
			a.CopyInput(ctx, ref, in)
		}()
	}
	var wg sync.WaitGroup
	copyOne := func(read client.StreamReader, w io.Writer) {
		defer wg.Done()
		if err := client.CopyOutput(ctx, read, ref, w); err != nil {
			r.mu.Lock()
			r.err = errors.Join(r.err, err)
			r.mu.Unlock()
		}
	}
	wg.Add(1)
	go copyOne(a.ReadStdout, orNil(pio.Stdout))
	if errOut := orNil(pio.Stderr); !pio.Terminal && errOut != nil {
		wg.Add(1)
		go copyOne(a.ReadStderr, errOut)
	}
	go func() { wg.Wait(); close(r.done) }()
	return r
}

func (r *relay) error() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// orNil turns a nil *os.File in a Writer into a nil Writer: the copy then
// drains the stream instead of failing on the first write.
func orNil(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok && f == nil {
		return nil
	}
	return w
}
