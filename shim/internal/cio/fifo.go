package cio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// Paths are the FIFOs containerd made for a process ("" when a stream
// is not wanted), and whether it runs on a terminal.
type Paths struct {
	Stdin, Stdout, Stderr string
	Terminal              bool
}

// Files are the opened FIFOs of a process.
type Files struct {
	In       *StdinFIFO // nil without stdin
	Out, Err *os.File   // nil when not wanted
}

// OpenStdio opens the process's FIFOs. containerd's side opened them
// before the RPC, but opening a FIFO for writing still blocks until a
// reader exists, so ctx bounds it. Stdin is opened by its relay.
func OpenStdio(ctx context.Context, p Paths) (f Files, err error) {
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	if p.Stdin != "" {
		f.In = &StdinFIFO{path: p.Stdin}
	}
	if p.Stdout != "" {
		if f.Out, err = openOutput(ctx, p.Stdout); err != nil {
			return f, err
		}
	}
	if p.Stderr != "" && !p.Terminal {
		if f.Err, err = openOutput(ctx, p.Stderr); err != nil {
			return f, err
		}
	}
	return f, nil
}

// openOutput opens an output FIFO for writing, waiting for its reader as
// long as ctx allows. A blocked open is released by opening the reading
// side ourselves.
func openOutput(ctx context.Context, path string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		ch <- result{f, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("opening %s: %w", path, r.err)
		}
		return r.f, nil
	case <-ctx.Done():
		if rd, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			if r := <-ch; r.f != nil {
				r.f.Close()
			}
			rd.Close()
		}
		return nil, fmt.Errorf("opening %s: no reader: %w", path, ctx.Err())
	}
}

func (f *Files) Close() {
	if f.In != nil {
		f.In.Close()
	}
	for _, c := range []*os.File{f.Out, f.Err} {
		if c != nil {
			c.Close()
		}
	}
}

// StdinFIFO is a process's stdin FIFO. It is opened for reading with a
// blocking open, which returns when containerd's writer is there, so that
// the input ends (EOF) exactly when containerd closes its writer; a
// non-blocking open would read an end before the writer came.
type StdinFIFO struct {
	path string

	mu     sync.Mutex
	f      *os.File // guarded by mu; once opened
	closed bool     // guarded by mu; the process is gone: drop the input
}

var errStdinClosed = errors.New("stdin closed")

// open waits for containerd's writer and returns the reading end.
func (s *StdinFIFO) open() (*os.File, error) {
	f, err := os.OpenFile(s.path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("opening stdin %s: %w", s.path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A release that came while the open was returning still lets the
	// input be read to its end: containerd's writer may have come (and
	// written) just before its CloseIO; if only release's own writer came,
	// the input ends at once.
	if s.closed {
		f.Close()
		return nil, errStdinClosed
	}
	s.f = f
	return f, nil
}

// release ends the input when containerd's writer never came (CloseIO
// before any input, or the process's end): a writer of our own, opened and
// closed, wakes the blocked open. Once the writer came, its close ends the
// input, and release leaves it alone.
func (s *StdinFIFO) release() {
	s.mu.Lock()
	opened := s.f != nil
	s.mu.Unlock()
	if !opened {
		if w, err := os.OpenFile(s.path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	}
}

// close releases a pending open and closes the reading end.
func (s *StdinFIFO) Close() {
	s.release()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.f != nil {
		s.f.Close()
	}
}

// Open implements sandbox.Input: it waits for containerd's writer.
func (s *StdinFIFO) Open() (io.Reader, error) { return s.open() }

// Release ends the input when containerd's writer never came: the
// engine's CloseStdin.
func (s *StdinFIFO) Release() { s.release() }
