package server

import (
	"syscall"

	"github.com/kite-vm/kite/agent/server/cgroup"
	"github.com/kite-vm/kite/agent/server/reaper"
)

// oomWatch tells whether a process's end was the guest OOM killer's doing:
// the container's cgroup, its oom_kill count when the process started, and
// whether any exit counts or only a SIGKILL.
type oomWatch struct {
	cg   *cgroup.Group
	base uint64
	// anyExit is set for the init process, whose exit is the container's
	// end: an OOM kill anywhere in the container during its life makes
	// it OOMKilled, as containerd reports a runc container (its shell may
	// exit 1 after the kernel killed its memory-hungry child). An exec
	// is OOMKilled only if it died of SIGKILL itself.
	anyExit bool
}

// watchOOM reads the cgroup's count now, as a process starts.
func watchOOM(cg *cgroup.Group, anyExit bool) (oomWatch, error) {
	n, err := cg.OOMKills()
	if err != nil {
		return oomWatch{}, err
	}
	return oomWatch{cg: cg, base: n, anyExit: anyExit}, nil
}

// killed reports whether the OOM killer ended the process that exited
// with e; it reads the count, so call it once the exit has been reaped.
func (w oomWatch) killed(e reaper.Exit) bool {
	if w.cg == nil || !w.anyExit && e.Signal != syscall.SIGKILL {
		return false
	}
	n, err := w.cg.OOMKills()
	return err == nil && n > w.base
}
