package server

import (
	"context"
	"sync"

	"github.com/kite-vm/kite/agent/server/container"
	"github.com/kite-vm/kite/agent/server/stdio"
)

// outputLimit bounds each stream's buffer; past it the process blocks on
// its pipe until the host reads, so output is never dropped.
const outputLimit = 1 << 20

// proc is a container process with its output buffers.
type proc struct {
	id     string
	p      *container.Process
	stdout *stdio.Buffer
	stderr *stdio.Buffer // stdio.Closed() for a terminal

	stdinMu     sync.Mutex // serializes writes and the close of stdin
	stdinClosed bool       // guarded by stdinMu

	mu     sync.Mutex
	waited bool // WaitProcess returned the exit; guarded by mu

	exitNoted chan struct{} // closed once oomKilled is set, after the exit
	oomKilled bool          // the OOM killer ended the process
}

// newProc starts copying p's output into buffers; once the process has
// exited and its streams ended, its descriptors are closed. At the exit it
// asks oom whether the OOM killer ended the process.
func newProc(id string, p *container.Process, oom oomWatch) *proc {
	pr := &proc{id: id, p: p, stdout: stdio.NewBuffer(outputLimit), exitNoted: make(chan struct{})}
	go func() {
		if e, err := p.Wait(context.Background()); err == nil {
			pr.oomKilled = oom.killed(e)
		}
		close(pr.exitNoted)
	}()
	var pumps sync.WaitGroup
	pump := func(b *stdio.Buffer, f interface{ Read([]byte) (int, error) }) {
		pumps.Add(1)
		go func() { defer pumps.Done(); stdio.Pump(b, f) }()
	}
	if pty := p.Pty(); pty != nil {
		pr.stderr = stdio.Closed()
		pump(pr.stdout, pty)
	} else {
		pr.stderr = stdio.NewBuffer(outputLimit)
		pump(pr.stdout, p.Stdout())
		pump(pr.stderr, p.Stderr())
	}
	go func() {
		pumps.Wait()
		p.Wait(context.Background()) // returns at exit, or when the reaper stops
		p.Close()
	}()
	return pr
}

// collected reports whether the host has everything of the process: its
// exit and both streams to the end. Such a process may be forgotten.
func (pr *proc) collected() bool {
	pr.mu.Lock()
	waited := pr.waited
	pr.mu.Unlock()
	return waited && pr.stdout.Drained() && pr.stderr.Drained()
}

// discard drops unread output so that nothing blocks on it any more.
func (pr *proc) discard() {
	pr.stdout.Discard()
	pr.stderr.Discard()
}
