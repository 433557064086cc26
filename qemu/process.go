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

	"github.com/kite-vm/kite/internal/fdclose"
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
	// User runs QEMU unprivileged (LookupUser), with no capability but
	// Cmdline.Caps; nil keeps ours (root). Start first checks that the user
	// can open what QEMU opens by path (kernel, initrd, NVDIMM images,
	// disks, sockets) and hands it the VFIO groups of the command line.
	User *User
}

// Process is a running (or exited) QEMU started by Start.
type Process struct {
	cmd      *exec.Cmd
	cmdline  Cmdline
	logPath  string
	logStart int64         // where this run's output begins in logPath
	console  *consoleDrain // nil without a console log
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
// group does not reach it, tethered to this process (internal/tether),
// with no descriptor but stdio, the ones Build handed over and
// c.ExtraFiles, and, with o.User, as that user with c.Caps alone. The
// caller keeps ownership of the files in c.ExtraFiles and may close them
// once Start returns.
func Start(ctx context.Context, c Cmdline, o StartOptions) (*Process, error) {
	if c.Path == "" || c.QMPSocket == "" || o.LogPath == "" {
		return nil, fmt.Errorf("starting qemu: %w: Cmdline.Path, Cmdline.QMPSocket and StartOptions.LogPath are required", ErrInvalid)
	}
	if len(c.handover) == 0 {
		// QEMU binds the socket (a Cmdline made by hand): a socket file
		// left by an earlier QEMU must not be taken for ours.
		if err := os.Remove(c.QMPSocket); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("removing stale QMP socket %q: %w", c.QMPSocket, err)
		}
	}
	if err := c.prepare(o.User); err != nil {
		return nil, fmt.Errorf("starting qemu: %w", err)
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
	hand, console, err := c.openHandover()
	if err != nil {
		c.removeQMPSocket()
		return nil, err
	}
	defer closeAll(hand) // the child has its own copies
	started := false
	defer func() {
		if !started && console != nil {
			console.close()
		}
	}()
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.ExtraFiles = append(hand, c.ExtraFiles...)
	cmd.Env, cmd.Dir = o.Env, o.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if o.User != nil {
		cmd.SysProcAttr.Credential = o.User.credential()
		for _, cp := range c.Caps {
			cmd.SysProcAttr.AmbientCaps = append(cmd.SysProcAttr.AmbientCaps, uintptr(cp))
		}
	}
	// No descriptor of ours but stdio and ExtraFiles reaches QEMU, even one
	// inherited without close-on-exec by the process that started us.
	if err := fdclose.OnExec(); err != nil {
		c.removeQMPSocket()
		return nil, fmt.Errorf("starting qemu %q: %w", c.Path, err)
	}
	// Tethered: it dies with the process that owns the sandbox, and so
	// never runs on unseen after that process was killed. The credentials
	// above are applied before the parent-death signal is armed.
	if err := tether.Start(cmd); err != nil {
		c.removeQMPSocket()
		return nil, fmt.Errorf("starting qemu %q: %w", c.Path, err)
	}
	started = true
	p := &Process{cmd: cmd, cmdline: c, logPath: o.LogPath, logStart: st.Size(), console: console, done: make(chan struct{})}
	// Written before the reaper runs, which removes it once QEMU is gone.
	if len(c.handover) > 0 && c.PidFile != "" {
		if err := writePidFile(c.PidFile, p.Pid()); err != nil {
			p.cmd.Process.Signal(syscall.SIGKILL)
			go p.reap()
			<-p.done
			return nil, err
		}
	}
	go p.reap()
	return p, nil
}

// prepare checks what an unprivileged QEMU opens by path (unless it keeps
// CAP_DAC_OVERRIDE, which reaches every path) and hands it its VFIO
// groups.
func (c Cmdline) prepare(u *User) error {
	if u == nil {
		return nil
	}
	if !hasCap(c.Caps, CapDACOverride) {
		if err := checkAccess(u, c.uses); err != nil {
			return err
		}
	}
	for _, bdf := range c.vfio {
		if err := HandOverVFIO("/sys", bdf, u); err != nil {
			return err
		}
	}
	return nil
}

// removeQMPSocket removes the socket Start bound, when QEMU did not start.
func (c Cmdline) removeQMPSocket() {
	if len(c.handover) > 0 {
		os.Remove(c.QMPSocket)
	}
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// reap waits for QEMU, then removes the pidfile if it still names our QEMU
// (QEMU removes one it wrote on a clean exit, not when killed; Start's is
// never QEMU's to remove).
func (p *Process) reap() {
	err := p.cmd.Wait()
	p.finishConsole()
	p.cmdline.removeQMPSocket() // bound by Start: QEMU does not remove it
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
