package container

import (
	"errors"
	"syscall"
)

var (
	// ErrInvalidSpec marks a Spec or ProcessSpec rejected before anything
	// was started; the message names the field.
	ErrInvalidSpec = errors.New("invalid container spec")
	// ErrEscapesRoot marks a path in the container that would resolve
	// outside its root.
	ErrEscapesRoot = errors.New("path escapes the container root")
	// ErrState marks an operation the container's state does not allow,
	// such as Exec before Start or Start twice.
	ErrState = errors.New("invalid container state")
	// ErrExists marks an exec id already in use by a running process.
	ErrExists = errors.New("process id already in use")
	// ErrExited marks a signal or resize sent to a process that has
	// exited.
	ErrExited = errors.New("process has exited")
	// ErrNoTerminal marks a terminal operation on a process without one.
	ErrNoTerminal = errors.New("process has no terminal")
	// ErrNoExitStatus marks a wait that cannot complete: the reaper
	// stopped before the process's exit was collected.
	ErrNoExitStatus = errors.New("exit status lost: reaper stopped")
)

// StageError is a failure in the stage process, before the user's process
// ran: Op says what the stage was doing, e.g. `exec "/bin/nope"` or
// `mount tmpfs on "/dev"`.
type StageError struct {
	Op  string
	Err error
}

func (e *StageError) Error() string { return e.Op + ": " + e.Err.Error() }

func (e *StageError) Unwrap() error { return e.Err }

// remoteError carries an error's text across the sync socket and keeps what
// errors.Is needs on the agent's side: its errno (so fs.ErrNotExist
// matches) and whether it was ErrEscapesRoot.
type remoteError struct {
	msg     string
	errno   syscall.Errno
	escapes bool
}

func (e *remoteError) Error() string { return e.msg }

func (e *remoteError) Unwrap() []error {
	var errs []error
	if e.errno != 0 {
		errs = append(errs, e.errno)
	}
	if e.escapes {
		errs = append(errs, ErrEscapesRoot)
	}
	return errs
}
