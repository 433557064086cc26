package reaper

import (
	"syscall"
	"time"
)

// Exit is how a process ended.
type Exit struct {
	// Pid is the process id in the reaper's pid namespace.
	Pid int
	// Status is the exit code, or 128 + the signal number when the
	// process was killed by a signal, as a shell reports it.
	Status int
	// Signaled is true when a signal killed the process.
	Signaled bool
	// Signal is the signal that killed it; zero when it exited.
	Signal syscall.Signal
	// At is when the reaper collected the status.
	At time.Time
}

// exitFromStatus converts a wait4 status. Stopped and continued states never
// reach it: the reaper does not ask for them.
func exitFromStatus(pid int, ws syscall.WaitStatus, at time.Time) Exit {
	e := Exit{Pid: pid, At: at}
	if ws.Signaled() {
		e.Signaled = true
		e.Signal = ws.Signal()
		e.Status = 128 + int(e.Signal)
		return e
	}
	e.Status = ws.ExitStatus()
	return e
}
