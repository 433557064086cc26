package oci

import (
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/sandbox"
)

// The daemon keeps the OCI state in step with what the engine reports.
var _ sandbox.Observer = (*daemon)(nil)

// ProcessExited records the container's exit when its init process ends.
func (d *daemon) ProcessExited(p *sandbox.Process, e sandbox.Exit) {
	if p.ExecID() == "" {
		d.setStopped(e.Code)
	}
}

// SandboxDied records the container as stopped (its exit was recorded
// already when the engine stopped its init).
func (d *daemon) SandboxDied(err error) {
	d.log.Error("the VM exited under the container", "err", err)
	d.setStopped(sandbox.UnknownExit)
}

// Degraded records why the sandbox can no longer serve the container
// fully, for `kite state`.
func (d *daemon) Degraded(reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.Degraded = reason
	d.writeLocked()
}

// setStopped records the container's end, once, then tells the init's
// watchers (stopped).
func (d *daemon) setStopped(code int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st.Status == state.StatusStopped {
		return
	}
	d.st.Status = state.StatusStopped
	d.st.ExitCode = &code
	d.writeLocked()
	close(d.stopped)
}

// setStatus moves the container from one status to another, unless it has
// moved meanwhile (the process exited while it was being started).
func (d *daemon) setStatus(from, to state.Status) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st.Status != from {
		return
	}
	d.st.Status = to
	d.writeLocked()
}

// writeLocked writes the state, unless Shutdown has removed it. The
// sandbox process is the only writer while it runs, so it needs no lock
// beyond mu: the CLI commands hold the container's lock among themselves.
func (d *daemon) writeLocked() {
	if d.removed {
		return
	}
	if err := d.handle.Write(d.st); err != nil {
		d.log.Error("writing the state", "err", err)
	}
}
