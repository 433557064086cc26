// Package tether starts helper processes (QEMU, virtiofsd) that must not
// outlive the process that owns them: each gets SIGKILL when its owner
// dies, however it dies.
//
// The kernel sends the parent-death signal (PR_SET_PDEATHSIG) when the
// *thread* that forked the child exits, not the process. Go may retire a
// thread at any time a goroutine locked to it ends (the netns code does
// that on purpose), so children are forked from one goroutine locked, for
// the life of the process, to its own thread.
//
// The kernel clears the signal when the child changes its own credentials:
// drop privileges through cmd.SysProcAttr.Credential (applied before the
// signal is armed), not by a setuid of the child's own (QEMU's -runas),
// or the child is no longer tethered.
package tether

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

type request struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	once     sync.Once
	requests chan request
)

// Start starts cmd, as cmd.Start does, tethered to this process: the child
// is sent SIGKILL when this process exits. cmd.SysProcAttr is kept, with
// Pdeathsig set.
func Start(cmd *exec.Cmd) error {
	once.Do(func() {
		requests = make(chan request)
		go forker()
	})
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	done := make(chan error, 1)
	requests <- request{cmd: cmd, done: done}
	return <-done
}

// forker forks every tethered child from its own thread, which it never
// gives back: the thread lives exactly as long as the process.
func forker() {
	runtime.LockOSThread()
	for r := range requests {
		r.done <- r.cmd.Start()
	}
}
