package oci

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/oci/state"
)

// The daemon answers the control requests.
var _ Handler = (*daemon)(nil)

// cannot is the error for a request the container's status forbids; it
// reads like runc's ("container x is running, cannot start").
func (d *daemon) cannot(verb string, cur state.Status) error {
	return errorf(CodeFailedPrecondition, "container %q is %s, cannot %s", d.id, cur, verb)
}

// require checks that the container is in one of the statuses ok.
func (d *daemon) require(verb string, ok ...state.Status) error {
	if cur := d.status(); !slices.Contains(ok, cur) {
		return d.cannot(verb, cur)
	}
	return nil
}

// Start runs the created container's program.
func (d *daemon) Start(ctx context.Context) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if err := d.require("start", state.StatusCreated); err != nil {
		return err
	}
	if err := d.degraded("start"); err != nil {
		return err
	}
	if err := d.agent.StartContainer(ctx, d.id); err != nil {
		return fmt.Errorf("starting container %q: %w", d.id, err)
	}
	d.setStatus(state.StatusCreated, state.StatusRunning)
	return nil
}

// Kill signals the init process, or every process of the container.
func (d *daemon) Kill(ctx context.Context, req KillRequest) error {
	if req.Signal <= 0 || req.Signal > 64 {
		return errorf(CodeInvalidArgument, "invalid signal %d", req.Signal)
	}
	if cur := d.status(); cur == state.StatusStopped {
		return errorf(CodeFailedPrecondition, "container %q is not running (%s)", d.id, cur)
	}
	err := d.agent.SignalProcess(ctx, d.init.ref, syscall.Signal(req.Signal), req.All)
	if errors.Is(err, client.ErrNotFound) || errors.Is(err, client.ErrFailedPrecondition) {
		return errorf(CodeFailedPrecondition, "container %q is not running: %v", d.id, err)
	}
	if err != nil {
		return fmt.Errorf("signalling container %q: %w", d.id, err)
	}
	return nil
}

// Pause freezes the running container.
func (d *daemon) Pause(ctx context.Context) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if err := d.require("pause", state.StatusRunning); err != nil {
		return err
	}
	if err := d.agent.PauseContainer(ctx, d.id); err != nil {
		return fmt.Errorf("pausing container %q: %w", d.id, err)
	}
	d.setStatus(state.StatusRunning, state.StatusPaused)
	return nil
}

// Resume thaws the paused container.
func (d *daemon) Resume(ctx context.Context) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if err := d.require("resume", state.StatusPaused); err != nil {
		return err
	}
	if err := d.agent.ResumeContainer(ctx, d.id); err != nil {
		return fmt.Errorf("resuming container %q: %w", d.id, err)
	}
	d.setStatus(state.StatusPaused, state.StatusRunning)
	return nil
}

// Ps lists the init process and the execs that have not exited.
func (d *daemon) Ps(context.Context) (PsResponse, error) {
	var ps []Process
	if !d.init.exited() {
		ps = append(ps, Process{Pid: d.init.pid})
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.execs {
		if p != nil && !p.exited() { // nil: reserved, being started
			ps = append(ps, Process{ExecID: p.execID, Pid: p.pid})
		}
	}
	slices.SortFunc(ps, func(a, b Process) int { return a.Pid - b.Pid })
	return PsResponse{Processes: ps}, nil
}

// Shutdown stops the VM and removes the sandbox's files and state. The
// teardown has its own time budget: the client going away must not leave
// it half done.
func (d *daemon) Shutdown(_ context.Context, req ShutdownRequest) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	d.mu.Lock()
	cur := d.st.Status
	if !req.Force && (cur == state.StatusRunning || cur == state.StatusPaused) {
		d.mu.Unlock()
		return errorf(CodeFailedPrecondition, "cannot delete container %q that is not stopped: %s", d.id, cur)
	}
	d.removed = true
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
	defer cancel()
	err := d.teardown(ctx)
	// The socket goes with the listener; Serve then ends.
	err = errors.Join(err, d.ln.Close(), removeRecord(d.handle), removeIfExists(filepath.Join(d.handle.Dir(), DaemonLogName)))
	if err != nil {
		return fmt.Errorf("deleting container %q: %w", d.id, err)
	}
	return d.handle.Remove()
}

// teardown stops the VM (which gives passed-through functions back to
// their host drivers), drops the sandbox's claims on them and closes the
// terminal.
func (d *daemon) teardown(ctx context.Context) error {
	err := d.vm.Stop(ctx)
	if rec, rerr := readRecord(d.handle); rerr != nil {
		err = errors.Join(err, rerr)
	} else if rec.AllocDir != "" {
		_, rerr := devicemgr.NewAllocator(rec.AllocDir).Release(ctx, d.id)
		err = errors.Join(err, rerr)
	}
	if d.term != nil {
		d.term.close()
	}
	return err
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
