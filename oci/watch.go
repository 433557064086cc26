package oci

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/runtime"
)

const (
	// unknownExit is the exit code recorded when the process's end could
	// not be learnt (the VM died): containerd's convention.
	unknownExit = 255
	// outputGrace bounds the wait for a process's output to end after it
	// exited: a process it left behind may hold the output open.
	outputGrace = 5 * time.Second
)

// startWatchers relays the init process's stdio, and watches for its exit,
// for the VM's death and for resizes of the terminal.
func (d *daemon) startWatchers() {
	ctx := context.Background() // relays end when the agent connection closes
	var r *relay
	if d.term != nil {
		r = startRelay(ctx, d.agent, d.init.ref, d.term.slave, d.term.slave, nil)
		d.watchResize()
	} else {
		var in *os.File
		if !isDevNull(d.stdio.In) {
			in = d.stdio.In
		}
		r = startRelay(ctx, d.agent, d.init.ref, in, d.stdio.Out, d.stdio.Err)
	}
	go d.watch(d.init, r, func() {})
	go d.watchVM()
	for _, v := range d.vm.Virtiofsd() {
		go d.watchVirtiofsd(v)
	}
}

// watchVirtiofsd marks the sandbox degraded when a share's virtiofsd dies
// under a running VM: QEMU 7.2 cannot reconnect to a new one, and the
// guest's requests on that share would never be answered, so the requests
// that would touch it are refused from then on rather than left to hang.
func (d *daemon) watchVirtiofsd(v *runtime.Virtiofsd) {
	<-v.Done()
	select {
	case <-d.vm.Process().Done():
		return // the VM went first: virtiofsd followed it
	case <-time.After(exitGrace):
		// QEMU exits a moment after a guest shutdown closes virtiofsd.
	}
	select {
	case <-d.vm.Process().Done():
		return
	default:
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.removed {
		return
	}
	reason := fmt.Sprintf("virtiofsd of share %q exited (%v): the guest can no longer reach its files; delete the container", v.Plan().Tag, v.ExitErr())
	d.log.Error("share server died", "share", v.Plan().Tag, "pid", v.Pid(), "err", v.ExitErr(), "virtiofsd_log", v.LogTail(2048))
	d.st.Degraded = reason
	d.writeLocked()
}

// exitGrace is how long a dead virtiofsd waits for QEMU's exit to explain
// it before the sandbox is marked degraded.
const exitGrace = 500 * time.Millisecond

// degraded refuses a request on a degraded sandbox.
func (d *daemon) degraded(verb string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st.Degraded == "" {
		return nil
	}
	return errorf(CodeFailedPrecondition, "container %q cannot %s: %s", d.id, verb, d.st.Degraded)
}

// watch waits for p to exit and its output to be copied, then records how
// it ended.
func (d *daemon) watch(p *proc, r *relay, closeFiles func()) {
	ctx := context.Background()
	code := unknownExit
	st, err := d.agent.WaitProcess(ctx, p.ref)
	if err != nil {
		d.log.Warn("waiting for a process", "exec", p.execID, "err", err)
	} else {
		code = st.Code
	}
	t := time.NewTimer(outputGrace)
	select {
	case <-r.done:
		if r.err != nil {
			d.log.Warn("relaying a process's output", "exec", p.execID, "err", r.err)
		}
	case <-t.C:
		d.log.Warn("the output of an exited process is still open; not waiting for it", "exec", p.execID)
	}
	t.Stop()
	closeFiles()
	p.code = code
	close(p.done)
	if p == d.init {
		d.setStopped(code)
	}
}

// watchVM records the container as stopped when QEMU dies under it, and
// stops what is left of the VM (virtiofsd, sockets), so that only the
// state remains for `kite delete`.
func (d *daemon) watchVM() {
	<-d.vm.Process().Done()
	d.mu.Lock()
	removed := d.removed
	d.mu.Unlock()
	if removed {
		return // Shutdown stopped it
	}
	d.log.Error("the VM exited under the container", "err", d.vm.Process().ExitErr(),
		"qemu_log", d.vm.Process().LogTail(2048))
	d.setStopped(unknownExit)
	ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
	defer cancel()
	if err := d.vm.Stop(ctx); err != nil {
		d.log.Warn("cleaning up after the VM", "err", err)
	}
}

// watchResize forwards the window size of the terminal to the guest. The
// slave is the process's controlling terminal, so the kernel sends SIGWINCH
// when the holder of the master resizes it.
func (d *daemon) watchResize() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	go func() {
		for range ch {
			sz := d.term.size()
			if sz == nil || d.init.exited() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := d.agent.TtyWinResize(ctx, d.init.ref, sz); err != nil {
				d.log.Warn("resizing the terminal", "err", err)
			}
			cancel()
		}
	}()
}

// setStopped records the container's end, once.
func (d *daemon) setStopped(code int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st.Status == state.StatusStopped {
		return
	}
	d.st.Status = state.StatusStopped
	d.st.ExitCode = &code
	d.writeLocked()
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

func (d *daemon) status() state.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st.Status
}
