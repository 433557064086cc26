package oci

import (
	"context"
	"syscall"
	"time"

	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/sandbox"
)

// The daemon serves the init proxies' watches.
var _ control.WatchHandler = (*daemon)(nil)

// killWait bounds the wait for a process killed on its proxy's behalf,
// or by a forced delete, to be reported exited.
const killWait = 10 * time.Second

// Watch serves an init proxy (RunInitProxy): wait returns once the
// process has exited, and for the init once its exit is in the state, so
// that whoever sees the proxy exit reads a stopped container. A proxy
// that goes away first was killed (SIGKILL, which it cannot forward): the
// process is killed too.
func (d *daemon) Watch(ctx context.Context, req control.WatchRequest) (int, func() (control.WaitExecResponse, error), error) {
	p := d.c.Init()
	var recorded <-chan struct{} = d.stopped
	if req.ExecID != "" {
		var err error
		if p, err = d.c.Exec(req.ExecID); err != nil {
			return 0, nil, err
		}
		recorded = p.Done()
	}
	wait := func() (control.WaitExecResponse, error) {
		select {
		case <-recorded:
		case <-ctx.Done():
			if !exited(recorded) {
				d.killGone(p)
				return control.WaitExecResponse{}, ctx.Err()
			}
		}
		return control.WaitExecResponse{ExitCode: d.exitCode(p)}, nil
	}
	return p.Pid(), wait, nil
}

// exitCode is how p ended: the recorded exit code for the init (the
// engine's, or UnknownExit when the sandbox stopped under it).
func (d *daemon) exitCode(p *sandbox.Process) int {
	if p.ExecID() == "" {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.st.ExitCode != nil {
			return *d.st.ExitCode
		}
		return sandbox.UnknownExit
	}
	e, _ := p.Exit()
	return e.Code
}

// killGone kills a process whose proxy went away, unless the whole
// sandbox is going (Shutdown, SIGTERM), which stops it anyway.
func (d *daemon) killGone(p *sandbox.Process) {
	d.mu.Lock()
	removed := d.removed
	d.mu.Unlock()
	if removed {
		return
	}
	d.log.Warn("the init proxy went away: killing its process", "exec", p.ExecID())
	ctx, cancel := context.WithTimeout(context.Background(), killWait)
	defer cancel()
	if err := p.Signal(ctx, syscall.SIGKILL, false); err != nil {
		d.log.Warn("killing a process whose proxy went away", "exec", p.ExecID(), "err", err)
	}
}

// killInit kills every process of a running container before a forced
// delete, and waits for the exit to be recorded, so that its init proxy
// exits as killed by SIGKILL, as runc's init does.
func (d *daemon) killInit() {
	p := d.c.Init()
	if st := p.Status(); st != sandbox.StatusRunning && st != sandbox.StatusPaused && st != sandbox.StatusCreated {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), killWait)
	defer cancel()
	if p.Status() == sandbox.StatusPaused {
		if err := d.c.Resume(ctx); err != nil { // a frozen process may not take SIGKILL
			d.log.Warn("thawing the container before killing it", "err", err)
		}
	}
	if err := p.Signal(ctx, syscall.SIGKILL, true); err != nil {
		d.log.Warn("killing the container before deleting it", "err", err)
		return
	}
	select {
	case <-d.stopped:
	case <-ctx.Done():
		d.log.Warn("the killed container did not exit in time", "wait", killWait)
	}
}

func exited(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
