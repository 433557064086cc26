package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/kite-vm/kite/internal/tether"
)

// StartOptions are the process-level settings of Start.
type StartOptions struct {
	// LogPath receives QEMU's stdout and stderr, appended. Required: a file
	// can be read after QEMU exited (boot errors quote it) and cannot fill
	// up and block QEMU as an unread pipe would.
	LogPath string
	Env     []string // nil inherits ours
	Dir     string   // "" inherits ours
}

// Process is a running (or exited) QEMU started by Start.
type Process struct {
	cmd      *exec.Cmd
	cmdline  Cmdline
	logPath  string
	logStart int64 // where this run's output begins in logPath
	done     chan struct{}
	exitErr  error // written once before done is closed
}

// Start runs QEMU and waits until it is ready, that is until its QMP monitor
// answers a command. Waiting for the socket file, or for the greeting, is
// not enough: QEMU binds the socket, and greets from the monitor thread,
// before it creates the devices, so a bad device kills QEMU after both
// (measured on 7.2). If QEMU exits first, or ctx ends
// first (QEMU is then killed), the error carries the tails of QEMU's output
// and of the console log.
//
// QEMU runs in its own process group, so a signal aimed at our terminal's
// group does not reach it, and without a parent-death signal: the owner
// decides when it ends. The caller keeps ownership of the files in
// c.ExtraFiles and may close them once Start returns.
func Start(ctx context.Context, c Cmdline, o StartOptions) (*Process, error) {
	if c.Path == "" || c.QMPSocket == "" || o.LogPath == "" {
		return nil, fmt.Errorf("starting qemu: %w: Cmdline.Path, Cmdline.QMPSocket and StartOptions.LogPath are required", ErrInvalid)
	}
	// A socket file left by an earlier QEMU must not be taken for ours.
	if err := os.Remove(c.QMPSocket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing stale QMP socket %q: %w", c.QMPSocket, err)
	}
	p, err := spawn(c, o)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func spawn(c Cmdline, o StartOptions) (*Process, error) {
	log, err := os.OpenFile(o.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening qemu log: %w", err)
	}
	defer log.Close() // the child has its own copy
	st, err := log.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening qemu log: %w", err)
	}
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.ExtraFiles = c.ExtraFiles
	cmd.Env, cmd.Dir = o.Env, o.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Tethered: it dies with the process that owns the sandbox, and so
	// never runs on unseen after that process was killed.
	if err := tether.Start(cmd); err != nil {
		return nil, fmt.Errorf("starting qemu %q: %w", c.Path, err)
	}
	p := &Process{cmd: cmd, cmdline: c, logPath: o.LogPath, logStart: st.Size(), done: make(chan struct{})}
	go p.reap()
	return p, nil
}

// reap waits for QEMU, then removes the pidfile if it still names our QEMU
// (QEMU removes it on a clean exit, not when killed).
func (p *Process) reap() {
	err := p.cmd.Wait()
	if pf := p.cmdline.PidFile; pf != "" {
		if b, rerr := os.ReadFile(pf); rerr == nil && strings.TrimSpace(string(b)) == strconv.Itoa(p.Pid()) {
			os.Remove(pf)
		}
	}
	p.exitErr = err
	close(p.done)
}

// Pid is QEMU's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Cmdline is the command line QEMU was started with.
func (p *Process) Cmdline() Cmdline { return p.cmdline }

// Done is closed when QEMU has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for QEMU to exit and returns ExitErr, or ctx's error first.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.exitErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ExitErr is how QEMU ended: nil for exit status 0, an *exec.ExitError
// otherwise; ErrRunning while it runs.
func (p *Process) ExitErr() error {
	select {
	case <-p.done:
		return p.exitErr
	default:
		return ErrRunning
	}
}

// Signal sends sig to QEMU (not to its group), or returns ErrExited.
func (p *Process) Signal(sig os.Signal) error {
	select {
	case <-p.done:
		return ErrExited
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return ErrExited
		}
		return fmt.Errorf("signalling qemu %d: %w", p.Pid(), err)
	}
	return nil
}
