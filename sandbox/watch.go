package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/kite-vm/kite/fsshare"
)

// exitGrace is how long a dead virtiofsd waits for QEMU's exit to explain
// it before the sandbox is marked degraded: QEMU exits a moment after a
// guest shutdown closes virtiofsd.
const exitGrace = 500 * time.Millisecond

// watcher watches the sandbox's VM and share servers for deaths.
type watcher struct {
	s *Sandbox
}

// watchVM records every process as exited when QEMU dies under the
// sandbox, tells the observer, and stops what is left of the VM
// (virtiofsd, sockets, bindings), so that only the front end's state
// remains.
func (w watcher) watchVM() {
	s := w.s
	<-s.m.Process().Done()
	s.mu.Lock()
	stopping := s.stopping
	cs := s.containerList()
	s.mu.Unlock()
	if stopping {
		return
	}
	close(s.died)
	err := s.m.Process().ExitErr()
	s.log.Error("the VM exited under the sandbox", "err", err, "qemu_log", s.m.Process().LogTail(2048))
	now := time.Now()
	for _, c := range cs {
		for _, p := range c.Processes() {
			if p.stop(UnknownExit, now) {
				s.observer.ProcessExited(p, Exit{Code: UnknownExit, At: now})
			}
		}
	}
	s.observer.SandboxDied(fmt.Errorf("qemu exited: %v", err))
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

// watchVirtiofsd marks the sandbox degraded when a share's virtiofsd dies
// under a running VM: QEMU 7.2 cannot reconnect to a new one, and the
// guest's requests on that share would never be answered, so the requests
// that would touch it are refused from then on rather than left to hang.
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
	s.mu.Lock()
	if s.stopping || s.degraded != "" {
		s.mu.Unlock()
		return
	}
	tag := v.Plan().Tag
	reason := fmt.Sprintf("virtiofsd of share %q exited (%v): the guest can no longer reach its files; delete the container", tag, v.ExitErr())
	s.degraded = reason
	s.mu.Unlock()
	s.log.Error("share server died", "share", tag, "pid", v.Pid(), "err", v.ExitErr(), "virtiofsd_log", v.LogTail(2048))
	s.observer.Degraded(reason)
}
