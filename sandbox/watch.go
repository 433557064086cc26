package sandbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/internal/filetail"
	"github.com/kite-vm/kite/qemu"
)

// exitGrace is how long a dead virtiofsd waits for QEMU's exit to explain
// it before the sandbox is failed: QEMU exits a moment after a guest
// shutdown closes virtiofsd.
const exitGrace = 500 * time.Millisecond

// failStop bounds each step of stopping the VM of a failed sandbox: QMP
// quit (QEMU flushes its block caches), then SIGTERM, then SIGKILL.
var failStop = qemu.StopTimeouts{Quit: 2 * time.Second, Term: time.Second, Kill: 5 * time.Second}

// logTailBytes of QEMU's output go into the reason it died.
const logTailBytes = 512

// watcher watches the sandbox's VM and share servers for deaths.
type watcher struct {
	s *Sandbox
}

// watchVM records every process as exited when QEMU dies under the
// sandbox (or was stopped because the sandbox failed), tells the observer
// why, and stops what is left of the VM (virtiofsd, sockets, bindings), so
// that only the front end's state remains.
func (w watcher) watchVM() {
	s := w.s
	<-s.m.Process().Done()
	s.mu.Lock()
	stopping, reason := s.stopping, s.degraded
	cs := s.containerList()
	s.mu.Unlock()
	if stopping {
		return
	}
	close(s.died)
	cause := fmt.Errorf("qemu exited: %v", s.m.Process().ExitErr())
	if reason != "" {
		cause = errors.New(reason)
	}
	s.log.Error("the VM exited under the sandbox", "err", cause, "qemu_log", s.m.Process().LogTail(2048))
	now := time.Now()
	for _, c := range cs {
		for _, p := range c.Processes() {
			if p.stop(UnknownExit, now) {
				s.observer.ProcessExited(p, Exit{Code: UnknownExit, At: now})
			}
		}
	}
	s.observer.SandboxDied(cause)
	ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
	defer cancel()
	if err := s.m.Stop(ctx); err != nil {
		s.log.Warn("cleaning up after the VM", "err", err)
	}
}

// watchShares watches the share servers running at boot.
func (w watcher) watchShares() {
	for _, d := range w.s.shareDaemons() {
		go w.watchVirtiofsd(d)
	}
}

// watchVirtiofsd fails the sandbox when a share's virtiofsd dies under a
// running VM. QEMU 7.2 cannot reconnect to a new one, and the guest's
// requests on that share would never be answered: every exec, every read
// of the rootfs and finally the VM's own shutdown would hang. So the
// sandbox is marked degraded with the reason, and its VM stopped: every
// process exits (the front ends report the exits and the reason) and
// delete has nothing left to wait for.
func (w watcher) watchVirtiofsd(v *fsshare.Virtiofsd) {
	s := w.s
	<-v.Done()
	vmDone := s.m.Process().Done()
	select {
	case <-vmDone:
		return // the VM went first: virtiofsd followed it
	case <-time.After(exitGrace):
	}
	select {
	case <-vmDone:
		return
	default:
	}
	reason := v.Death().Error()
	s.mu.Lock()
	if s.stopping || s.degraded != "" {
		s.mu.Unlock()
		return
	}
	s.degraded = reason
	s.mu.Unlock()
	s.log.Error("share server died: stopping the VM", "share", v.Plan().Tag, "pid", v.Pid(), "err", v.ExitErr(), "virtiofsd_log", v.LogTail(2048))
	s.observer.Degraded(reason)
	ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
	defer cancel()
	if _, err := s.m.Process().Stop(ctx, s.m.QMP(), failStop); err != nil {
		s.log.Error("stopping the VM of the failed sandbox", "err", err)
	}
}

// watchCreate returns a context for the guest requests of Create that ends
// as soon as QEMU or a share server dies, with the death as its cause, so
// that a create never waits out a timeout on a VM that cannot answer.
func (w watcher) watchCreate(ctx context.Context) (context.Context, context.CancelFunc) {
	s := w.s
	ctx, cancel := context.WithCancelCause(ctx)
	for _, d := range s.shareDaemons() {
		go func() {
			select {
			case <-d.Done():
				cancel(errorf(ErrUnavailable, "%v", d.Death()))
			case <-ctx.Done():
			}
		}()
	}
	go func() {
		select {
		case <-s.m.Process().Done():
			cancel(errorf(ErrUnavailable, "qemu exited: %v; its output ends: %s", s.m.Process().ExitErr(), filetail.LastLines(s.m.Process().LogTail(logTailBytes), 3)))
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// goneWithVM reports whether a guest request failed because the VM is
// going (a failed sandbox being stopped, or QEMU exiting): what it would
// have removed went with the VM.
func goneWithVM(s *Sandbox, err error) bool {
	if Classify(err) != ErrUnavailable {
		return false
	}
	wait := 100 * time.Millisecond
	if s.Degraded() != "" {
		wait = failStop.Quit + failStop.Term + failStop.Kill
	}
	select {
	case <-s.m.Process().Done():
		return true
	case <-time.After(wait):
		return false
	}
}

// explain puts the reason a sandbox failed on an error from a request that
// failed because of it.
func explain(s *Sandbox, err error) error {
	if err == nil {
		return nil
	}
	if reason := s.Degraded(); reason != "" {
		return errorf(ErrUnavailable, "%s (%v)", reason, err)
	}
	if Classify(err) != ErrUnavailable {
		return err // the guest answered: the VM is up
	}
	// The request fails as the VM's connection closes, a moment before
	// QEMU is reaped.
	select {
	case <-s.m.Process().Done():
		return errorf(ErrUnavailable, "the VM exited: %v (%v)", s.m.Process().ExitErr(), err)
	case <-time.After(100 * time.Millisecond):
	}
	return err
}
