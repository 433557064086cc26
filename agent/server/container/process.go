package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/kite-vm/kite/agent/server/reaper"
	"golang.org/x/sys/unix"
)

// Process is a process running in a container: the init process or an exec.
// Its stdio descriptors are the agent's ends; the caller reads and writes
// them and may close Stdin to send end-of-file.
type Process struct {
	id     string
	pid    int
	handle *os.Process // holds a pidfd: signals never reach a reused pid
	stdin  *os.File
	stdout *os.File
	stderr *os.File
	pty    *os.File

	done   chan struct{} // closed once exit is set
	exit   reaper.Exit
	exitOK bool // false when the reaper stopped first
}

// newProcess wraps a started stage. exits is its reaper registration.
func newProcess(id string, handle *os.Process, exits <-chan reaper.Exit, io *stdio, pty *os.File) *Process {
	p := &Process{
		id: id, pid: handle.Pid, handle: handle,
		stdin: io.stdin, stdout: io.stdout, stderr: io.stderr, pty: pty,
		done: make(chan struct{}),
	}
	go func() {
		p.exit, p.exitOK = <-exits
		close(p.done)
	}()
	return p
}

// ID is the process's id: the container's for the init process, the exec
// id otherwise.
func (p *Process) ID() string { return p.id }

// Pid is the process's pid in the agent's pid namespace.
func (p *Process) Pid() int { return p.pid }

// Stdin is the write end of the process's stdin pipe; nil with a terminal
// or without ProcessSpec.Stdin.
func (p *Process) Stdin() *os.File { return p.stdin }

// Stdout is the read end of the process's stdout pipe; nil with a terminal.
func (p *Process) Stdout() *os.File { return p.stdout }

// Stderr is the read end of the process's stderr pipe; nil with a terminal.
func (p *Process) Stderr() *os.File { return p.stderr }

// Pty is the master side of the process's terminal; nil without one. Reads
// fail with EIO once every holder of the terminal has closed it.
func (p *Process) Pty() *os.File { return p.pty }

// Signal sends sig to the process. A container's init process is PID 1 of
// its pid namespace: the kernel drops every signal it has no handler for,
// even from the agent, except SIGKILL and SIGSTOP.
func (p *Process) Signal(sig syscall.Signal) error {
	if p.exited() {
		return fmt.Errorf("signalling process %d: %w", p.pid, ErrExited)
	}
	if err := p.handle.Signal(sig); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("signalling process %d: %w", p.pid, ErrExited)
		}
		return fmt.Errorf("signalling process %d: %w", p.pid, err)
	}
	return nil
}

// Wait returns the process's exit, blocking until it has exited or ctx is
// done. Every call returns the same exit.
func (p *Process) Wait(ctx context.Context) (reaper.Exit, error) {
	select {
	case <-p.done:
		if !p.exitOK {
			return reaper.Exit{}, fmt.Errorf("waiting for process %d: %w", p.pid, ErrNoExitStatus)
		}
		return p.exit, nil
	case <-ctx.Done():
		return reaper.Exit{}, ctx.Err()
	}
}

// Resize sets the terminal's size; the process gets SIGWINCH.
func (p *Process) Resize(rows, cols uint16) error {
	if p.pty == nil {
		return fmt.Errorf("resizing process %d: %w", p.pid, ErrNoTerminal)
	}
	if err := setWinSize(p.pty, WinSize{Rows: rows, Cols: cols}); err != nil {
		return fmt.Errorf("resizing process %d: %w", p.pid, err)
	}
	return nil
}

// Close closes the agent's stdio descriptors. Call it once the output has
// been drained; the process itself is unaffected.
func (p *Process) Close() error {
	var errs []error
	for _, f := range []*os.File{p.stdin, p.stdout, p.stderr, p.pty} {
		if f != nil {
			if err := f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// setWinSize sets a pty's size without Fd(), which would make the pollable
// descriptor blocking.
func setWinSize(pty *os.File, ws WinSize) error {
	rc, err := pty.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	err = rc.Control(func(fd uintptr) {
		ioErr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: ws.Rows, Col: ws.Cols})
	})
	if err != nil {
		return err
	}
	return ioErr
}
