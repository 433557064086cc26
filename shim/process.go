package shim

import (
	"context"
	"sync"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
)

const (
	// unknownExit is the exit status of a process whose end could not be
	// learnt (its VM died), as containerd-shim-runc-v2 reports it.
	unknownExit = 255
	// outputGrace bounds the wait for a process's output to end after it
	// exited: a process it left behind may hold the output open.
	outputGrace = 5 * time.Second
)

// process is a container's init process or one of its execs.
type process struct {
	containerID string
	execID      string // "" for the init process
	ref         client.ProcessRef
	stdio       stdioPaths
	// spec is an exec's process for the agent, from Exec until Start.
	spec *protocol.Process
	done chan struct{} // closed once stopped, exit set

	mu     sync.Mutex
	status status     // guarded by mu
	pid    uint32     // guarded by mu; the guest pid, once created
	exit   exitStatus // guarded by mu; set when stopped
	files  stdioFiles // guarded by mu
}

// exitStatus is how a process ended.
type exitStatus struct {
	code uint32
	at   time.Time
}

func newProcess(containerID, execID string, io stdioPaths) *process {
	return &process{
		containerID: containerID, execID: execID, stdio: io,
		ref:    client.ProcessRef{ContainerID: containerID, ExecID: execID},
		done:   make(chan struct{}),
		status: statusCreated,
	}
}

// name is the process as errors name it.
func (p *process) name() string {
	if p.execID == "" {
		return "task " + p.containerID
	}
	return "exec " + p.execID + " of task " + p.containerID
}

// move changes the status if the move is allowed.
func (p *process) move(to status) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !canMove(p.status, to) {
		return moveError(p.name(), p.status, to)
	}
	p.status = to
	return nil
}

// require checks the process is in status s.
func (p *process) require(s status, verb string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.status != s {
		return errorf(ErrFailedPrecondition, "%s is %s, cannot %s", p.name(), p.status, verb)
	}
	return nil
}

func (p *process) snapshot() (status, uint32, exitStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status, p.pid, p.exit
}

func (p *process) setPid(pid uint32) {
	p.mu.Lock()
	p.pid = pid
	p.mu.Unlock()
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop records the process's end, once; it reports whether this call did.
func (p *process) stop(code uint32, at time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.status == statusStopped {
		return false
	}
	p.status = statusStopped
	p.exit = exitStatus{code: code, at: at}
	p.files.close()
	close(p.done)
	return true
}

// closeStdin ends the process's input if containerd never opened it;
// otherwise the close of containerd's writer ends it, after what it wrote.
func (p *process) closeStdin() {
	p.mu.Lock()
	in := p.files.in
	p.mu.Unlock()
	if in != nil {
		in.release()
	}
}

// watch relays the process's stdio, waits for its exit and its output, and
// records the end; onExit is called once, after the process is stopped.
func (p *process) watch(a *client.Client, onExit func(*process)) {
	ctx := context.Background() // the relay ends with the agent connection
	p.mu.Lock()
	files := p.files
	p.mu.Unlock()
	r := startRelay(ctx, a, p.ref, &files)
	code := uint32(unknownExit)
	if st, err := a.WaitProcess(ctx, p.ref); err == nil {
		code = uint32(st.Code)
	}
	// The host's clock, not the guest's ExitedAt: the guest clock may lag
	// the host's, and containerd compares the exit with the start it
	// stamped itself.
	at := time.Now()
	t := time.NewTimer(outputGrace)
	select {
	case <-r.done:
	case <-t.C:
	}
	t.Stop()
	if p.stop(code, at) {
		onExit(p)
	}
}

// wait blocks until the process stops or ctx ends.
func (p *process) wait(ctx context.Context) (exitStatus, error) {
	select {
	case <-p.done:
		_, _, e := p.snapshot()
		return e, nil
	case <-ctx.Done():
		return exitStatus{}, ctx.Err()
	}
}
