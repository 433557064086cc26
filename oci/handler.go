package oci

import (
	"context"
	"errors"
	"fmt"

	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
)

// The daemon answers the control requests.
var _ control.Handler = (*daemon)(nil)

// Start runs the created container's program.
func (d *daemon) Start(ctx context.Context) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if err := d.c.Start(ctx); err != nil {
		return err
	}
	d.setStatus(state.StatusCreated, state.StatusRunning)
	return nil
}

// Kill signals the init process, or every process of the container, or
// an exec.
func (d *daemon) Kill(ctx context.Context, req control.KillRequest) error {
	if req.ExecID != "" {
		p, err := d.c.Exec(req.ExecID)
		if err != nil {
			return err
		}
		return p.Signal(ctx, req.Signal, false)
	}
	return d.c.Init().Signal(ctx, req.Signal, req.All)
}

// Pause freezes the running container.
func (d *daemon) Pause(ctx context.Context) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if err := d.c.Pause(ctx); err != nil {
		return err
	}
	d.setStatus(state.StatusRunning, state.StatusPaused)
	return nil
}

// Resume thaws the paused container.
func (d *daemon) Resume(ctx context.Context) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if err := d.c.Resume(ctx); err != nil {
		return err
	}
	d.setStatus(state.StatusPaused, state.StatusRunning)
	return nil
}

// Exec starts a process in the running container, relaying its stdio to
// the passed files, which the engine closes once the process's output has
// ended.
func (d *daemon) Exec(ctx context.Context, req control.ExecRequest, stdio control.Stdio) (control.ExecResponse, error) {
	if err := state.ValidateID(req.ExecID); err != nil {
		stdio.Close()
		return control.ExecResponse{}, fmt.Errorf("%w: exec id: %v", control.ErrInvalidArgument, err)
	}
	proc, err := spec.ConvertProcess(req.Process)
	if err != nil {
		stdio.Close()
		return control.ExecResponse{}, fmt.Errorf("exec process: %w", err)
	}
	pio := sandbox.IO{Stdout: stdio.Out, Stderr: stdio.Err, Terminal: proc.Terminal, Close: stdio.Close}
	switch {
	case proc.Terminal:
		pio.Stdin, pio.Stderr, pio.ConsoleSize = sandbox.FileInput(stdio.In), nil, consoleSize(stdio.Out)
	case !isDevNull(stdio.In):
		pio.Stdin = sandbox.FileInput(stdio.In)
	}
	d.opMu.Lock()
	defer d.opMu.Unlock()
	p, err := d.c.AddExec(req.ExecID, proc, pio)
	if err != nil {
		stdio.Close()
		return control.ExecResponse{}, err
	}
	if err := p.Start(ctx); err != nil {
		_, rerr := d.c.RemoveExec(req.ExecID) // closes the stdio
		return control.ExecResponse{}, errors.Join(err, rerr)
	}
	if proc.Terminal {
		go d.followSize(p, stdio.Out, pio.ConsoleSize)
	}
	return control.ExecResponse{Pid: p.Pid()}, nil
}

// WaitExec waits for a process's exit and returns its exit code.
func (d *daemon) WaitExec(ctx context.Context, req control.WaitExecRequest) (control.WaitExecResponse, error) {
	p := d.c.Init()
	if req.ExecID != "" {
		var err error
		if p, err = d.c.Exec(req.ExecID); err != nil {
			return control.WaitExecResponse{}, err
		}
	}
	e, err := p.Wait(ctx)
	if err != nil {
		return control.WaitExecResponse{}, err
	}
	return control.WaitExecResponse{ExitCode: e.Code}, nil
}

// Ps lists the init process and the execs that have not exited.
func (d *daemon) Ps(ctx context.Context) (control.PsResponse, error) {
	entries, err := d.c.Ps(ctx)
	if err != nil {
		return control.PsResponse{}, err
	}
	ps := make([]control.Process, 0, len(entries))
	for _, e := range entries {
		ps = append(ps, control.Process{ExecID: e.ExecID, Pid: e.Pid, Child: e.Child})
	}
	return control.PsResponse{Processes: ps}, nil
}

// Shutdown stops the sandbox and removes its files and state. The
// engine's teardown has its own time budget: the client going away must
// not leave it half done.
func (d *daemon) Shutdown(_ context.Context, req control.ShutdownRequest) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	d.mu.Lock()
	cur := d.st.Status
	if !req.Force && (cur == state.StatusRunning || cur == state.StatusPaused) {
		d.mu.Unlock()
		return fmt.Errorf("%w: cannot delete container %q that is not stopped: %s", control.ErrFailedPrecondition, d.id, cur)
	}
	d.mu.Unlock()
	if req.Force {
		d.killInit()
	}
	d.mu.Lock()
	d.removed = true
	d.mu.Unlock()
	err := d.teardown()
	d.setStopped(sandbox.UnknownExit) // for the watchers: the state is gone
	// The socket goes with the listener; Serve then ends.
	d.mu.Lock()
	st := d.st
	d.mu.Unlock()
	err = errors.Join(err, d.ln.Close(), removeFrontEndFiles(d.handle, st))
	if err != nil {
		return fmt.Errorf("deleting container %q: %w", d.id, err)
	}
	return d.handle.Remove()
}
