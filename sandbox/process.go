package sandbox

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/spec"
)

const (
	// UnknownExit is the exit status of a process whose end could not be
	// learnt (its VM died), as runc's containerd shim reports it.
	UnknownExit = 255
	// outputGrace bounds the wait for a process's output to end after it
	// exited: a process it left behind may hold the output open.
	outputGrace = 5 * time.Second
)

// Exit is how a process ended.
type Exit struct {
	Code int
	// At is the host's clock when the exit was learnt: the guest's clock
	// may lag, and front ends compare it with starts they stamped.
	At time.Time
	// OOMKilled: the guest's OOM killer ended the process or, for a
	// container's init, killed a process of the container during its life
	// (containerd's TaskOOM, Kubernetes' reason OOMKilled).
	OOMKilled bool
}

// Process is a container's init process or one of its execs.
type Process struct {
	c      *Container
	execID string // "" for the init process
	ref    client.ProcessRef
	io     IO
	done   chan struct{} // closed once stopped, exit set

	mu     sync.Mutex
	status Status        // guarded by mu
	pid    int           // guarded by mu: the guest pid, once created
	exit   Exit          // guarded by mu: set when stopped
	spec   *spec.Process // guarded by mu: an exec's, from AddExec until Start
	closed bool          // guarded by mu: io.Close was called
}

func newProcess(c *Container, execID string, pio IO) *Process {
	ref := client.ProcessRef{ContainerID: c.id, ExecID: execID}
	if execID == "" {
		ref.ExecID = c.id
	}
	return &Process{c: c, execID: execID, ref: ref, io: pio, done: make(chan struct{}), status: StatusCreated}
}

// ExecID is the exec's id, "" for the init process.
func (p *Process) ExecID() string { return p.execID }

// Container is the process's container.
func (p *Process) Container() *Container { return p.c }

// Pid is the process's pid in the guest, 0 before it is created there.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

// Status is where the process is in its life.
func (p *Process) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// Exit is how the process ended, and whether it has.
func (p *Process) Exit() (Exit, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit, p.status == StatusStopped
}

// Done is closed when the process has stopped and its exit is known.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait blocks until the process stops or ctx ends.
func (p *Process) Wait(ctx context.Context) (Exit, error) {
	select {
	case <-p.done:
		e, _ := p.Exit()
		return e, nil
	case <-ctx.Done():
		return Exit{}, ctx.Err()
	}
}

// name is the process as errors name it.
func (p *Process) name() string {
	if p.execID == "" {
		return fmt.Sprintf("container %q", p.c.id)
	}
	return fmt.Sprintf("exec %q of container %q", p.execID, p.c.id)
}

// Signal sends sig to the process, or with all to every process of its
// container. A process that has exited is ErrNotFound ("not running"),
// which is what runc says and what containerd expects.
func (p *Process) Signal(ctx context.Context, sig syscall.Signal, all bool) error {
	if sig <= 0 || sig > 64 {
		return errorf(ErrInvalidArgument, "invalid signal %d", sig)
	}
	if p.exited() {
		return errorf(ErrNotFound, "%s is not running: it has exited", p.name())
	}
	if st := p.Status(); st == StatusCreated && p.execID != "" {
		return errorf(ErrFailedPrecondition, "%s is %s, cannot signal it", p.name(), st)
	}
	err := p.c.sb.agent().SignalProcess(ctx, p.ref, sig, all)
	if Classify(err) == ErrNotFound || Classify(err) == ErrFailedPrecondition {
		return errorf(ErrNotFound, "%s is not running: %v", p.name(), err)
	}
	if err != nil {
		return fmt.Errorf("signalling %s: %w", p.name(), explain(p.c.sb, err))
	}
	return nil
}

// ResizeTerminal sets the size of the process's terminal.
func (p *Process) ResizeTerminal(ctx context.Context, size spec.ConsoleSize) error {
	if p.exited() {
		return errorf(ErrFailedPrecondition, "%s is stopped", p.name())
	}
	cs := &protocol.ConsoleSize{Height: uint32(size.Height), Width: uint32(size.Width)}
	if err := p.c.sb.agent().TtyWinResize(ctx, p.ref, cs); err != nil {
		return fmt.Errorf("resizing the terminal of %s: %w", p.name(), err)
	}
	return nil
}

// CloseStdin ends the process's input: through the front end's Input when
// it can release a writer that never came (a FIFO), otherwise in the guest.
func (p *Process) CloseStdin(ctx context.Context) error {
	if r, ok := p.io.Stdin.(interface{ Release() }); ok {
		r.Release()
		return nil
	}
	if p.exited() || p.io.Stdin == nil {
		return nil
	}
	return p.c.sb.agent().CloseStdin(ctx, p.ref)
}

// move changes the status if the move is allowed.
func (p *Process) move(to Status) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !canMove(p.status, to) {
		return errorf(ErrFailedPrecondition, "%s is %s, cannot make it %s", p.name(), p.status, to)
	}
	p.status = to
	return nil
}

// require checks the process is in one of ok, phrased like runc's refusals
// ("container x is running, cannot start").
func (p *Process) require(verb string, ok ...Status) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range ok {
		if p.status == s {
			return nil
		}
	}
	return errorf(ErrFailedPrecondition, "%s is %s, cannot %s", p.name(), p.status, verb)
}

func (p *Process) setPid(pid int) {
	p.mu.Lock()
	p.pid = pid
	p.mu.Unlock()
}

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop records the process's end, once, closing its files; it reports
// whether this call did.
func (p *Process) stop(code int, at time.Time) bool { return p.stopWith(Exit{Code: code, At: at}) }

// stopWith is stop with the whole exit.
func (p *Process) stopWith(e Exit) bool {
	p.mu.Lock()
	if p.status == StatusStopped {
		p.mu.Unlock()
		return false
	}
	p.status = StatusStopped
	p.exit = e
	p.mu.Unlock()
	p.closeIO()
	close(p.done)
	return true
}

// closeIO calls the front end's Close once.
func (p *Process) closeIO() {
	p.mu.Lock()
	closed := p.closed
	p.closed = true
	p.mu.Unlock()
	if !closed && p.io.Close != nil {
		p.io.Close()
	}
}

// watch relays the process's stdio, waits for its exit and its output, and
// records the end, then tells the observer.
func (p *Process) watch(r *relay) {
	sb := p.c.sb
	exit := Exit{Code: UnknownExit}
	st, err := sb.agent().WaitProcess(context.Background(), p.ref)
	if err != nil {
		sb.log.Warn("waiting for a process", "container", p.c.id, "exec", p.execID, "err", err)
	} else {
		exit.Code, exit.OOMKilled = st.Code, st.OOMKilled
	}
	// The host's clock, not the guest's ExitedAt: see Exit.At.
	exit.At = time.Now()
	t := time.NewTimer(outputGrace)
	select {
	case <-r.done:
		if err := r.error(); err != nil {
			sb.log.Warn("relaying a process's output", "container", p.c.id, "exec", p.execID, "err", err)
		}
	case <-t.C:
		sb.log.Warn("the output of an exited process is still open; not waiting for it", "container", p.c.id, "exec", p.execID)
	}
	t.Stop()
	if p.stopWith(exit) {
		sb.observer.ProcessExited(p, exit)
	}
}
