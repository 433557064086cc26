package oci

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
)

// DaemonLogName is the sandbox process's log when the CLI is given no
// --log: its stderr is the container's, not a place for logs.
const DaemonLogName = "daemon.log"

// DaemonConfig is what the sandbox process needs to create and serve one
// sandbox.
type DaemonConfig struct {
	// ID is the container's id, reserved by `kite create` (state.Create),
	// which has written its creating state.
	ID string
	// Store is the state root.
	Store state.Store
	// Config is the effective configuration.
	Config *configs.Config
	// Bundle is the absolute path of the OCI bundle.
	Bundle string
	// Dir is the sandbox directory (SandboxDir), which `kite create` made:
	// the engine's, and the control socket's.
	Dir string
	// Netns, when set, is the network namespace Kite made for the
	// container (NewNetns), which hooks have configured: the VM takes its
	// interfaces as those of a pod netns the spec named.
	Netns string
	// ConsoleSocket, for a container with a terminal, is the unix socket
	// the terminal's master is sent to.
	ConsoleSocket string
	// Stdio is the container's stdio when it has no terminal: the stdio
	// `kite create` was given.
	Stdio control.Stdio
	// Report is the pipe on which `kite create` waits for the outcome.
	Report *os.File
	// Logger receives what happens after create has returned; nil
	// discards it.
	Logger *slog.Logger
	// Create makes the sandbox: nil is sandbox.Create (a VM booted for
	// it); a warm process of the pool gives its warm VM's Creator.
	Create sandbox.CreateFunc
}

// daemon is the running sandbox process: an adapter from the control
// protocol to the engine, which keeps the OCI state in step.
type daemon struct {
	*hotplug
	id     string
	log    *slog.Logger
	handle *state.Handle
	sb     *sandbox.Sandbox
	c      *sandbox.Container
	ln     *net.UnixListener
	term   *hostTerminal // nil without a terminal

	opMu sync.Mutex // serializes the requests that change the container

	// stopped is closed once the container's end is recorded (setStopped).
	stopped chan struct{}

	mu      sync.Mutex
	st      state.State // guarded by mu
	removed bool        // guarded by mu: Shutdown removed the state
}

// RunDaemon is the main of the per-sandbox host process, which `kite
// create` starts (control.Spawn) in a session of its own: it has the engine
// create the sandbox and the container (not started) from the bundle,
// records the state, reports on cfg.Report, and then serves the control
// socket until a Shutdown or the end of ctx.
//
// Being a process main, it sets the process's signal handling: SIGPIPE and
// SIGHUP are ignored (a reader of the container's output that goes away,
// a terminal hung up by the holder of its master must not end the VM).
func RunDaemon(ctx context.Context, cfg DaemonConfig) error {
	signal.Ignore(syscall.SIGPIPE, syscall.SIGHUP)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d, err := create(ctx, cfg)
	if err != nil {
		return errors.Join(err, control.ReportFailure(cfg.Report, err))
	}
	if err := control.ReportCreated(cfg.Report); err != nil {
		d.log.Warn("reporting to kite create", "err", err)
	}
	return d.serve(ctx)
}

// create does everything up to serving; a failure undoes it all, so that
// nothing is left but the state directory `kite create` reserved and
// removes.
func create(ctx context.Context, cfg DaemonConfig) (_ *daemon, err error) {
	ctr, err := load(cfg)
	if err != nil {
		return nil, err
	}
	h, err := cfg.Store.Open(cfg.ID)
	if err != nil {
		return nil, err
	}
	st, err := h.Read()
	if err != nil {
		return nil, err
	}
	d := &daemon{id: cfg.ID, log: cfg.Logger, handle: h, st: st, stopped: make(chan struct{})}
	var cu cleanup.Stack
	defer func() {
		if cerr := cu.Clean(); cerr != nil {
			d.log.Error("undoing a failed create", "err", cerr)
		}
	}()
	if cfg.Dir == "" {
		cfg.Dir = h.Dir()
	}
	create := cfg.Create
	if create == nil {
		create = sandbox.Create
	}
	sb, err := create(ctx, sandbox.Config{ID: cfg.ID, Dir: cfg.Dir, Config: cfg.Config, Root: cfg.Store.Root, JoinCgroup: true,
		Observer: d, Logger: cfg.Logger}, ctr)
	if err != nil {
		return nil, err
	}
	d.sb, d.hotplug = sb, &hotplug{sb: sb, log: d.log}
	cu.Add("stopping the sandbox", d.sb.Stop)
	pio, err := d.containerIO(cfg, ctr, &cu)
	if err != nil {
		return nil, err
	}
	if d.c, err = d.sb.CreateContainer(ctx, ctr, pio); err != nil {
		return nil, err
	}
	if d.ln, err = control.Listen(filepath.Join(cfg.Dir, control.ControlSocketName)); err != nil {
		return nil, err
	}
	cu.Add("closing the control socket", d.ln.Close)
	if err := d.writeCreated(ctr); err != nil {
		return nil, err
	}
	if d.term != nil {
		d.watchResize()
	}
	cu.Release()
	return d, nil
}

// load reads and converts the bundle.
// ContainerOf is the container cfg's bundle describes, as RunDaemon would
// create it: a warm process checks a claim's pod against its VM with it.
func ContainerOf(cfg DaemonConfig) (*spec.Container, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return load(cfg)
}

func load(cfg DaemonConfig) (*spec.Container, error) {
	s, err := spec.Load(cfg.Bundle)
	if err != nil {
		return nil, err
	}
	ctr, err := spec.Convert(s, spec.Input{ContainerID: cfg.ID, Bundle: cfg.Bundle})
	if err != nil {
		return nil, err
	}
	if cfg.Netns != "" {
		ctr.NetnsPath = cfg.Netns
	}
	if ctr.Terminal && cfg.ConsoleSocket == "" {
		return nil, fmt.Errorf("%w: process.terminal is set but no console socket was given (--console-socket)", control.ErrInvalidArgument)
	}
	for _, f := range ctr.Ignored {
		cfg.Logger.Debug("ignoring a field of config.json", "field", f)
	}
	return ctr, nil
}

// containerIO is the container's stdio: a host terminal whose master went
// to the console socket, or the process's own stdio (runc's semantics:
// create's stdio becomes the container's).
func (d *daemon) containerIO(cfg DaemonConfig, ctr *spec.Container, cu *cleanup.Stack) (sandbox.IO, error) {
	if !ctr.Terminal {
		pio := sandbox.IO{Stdout: cfg.Stdio.Out, Stderr: cfg.Stdio.Err}
		if !isDevNull(cfg.Stdio.In) {
			pio.Stdin = sandbox.FileInput(cfg.Stdio.In) // nothing to relay otherwise: the agent gives /dev/null
		}
		return pio, nil
	}
	t, err := openTerminal(true)
	if err != nil {
		return sandbox.IO{}, err
	}
	cu.Add("closing the terminal", func() error { t.close(); return nil })
	if err := control.SendConsole(cfg.ConsoleSocket, t.master); err != nil {
		return sandbox.IO{}, err
	}
	t.master.Close() // the caller holds it now
	t.master = nil
	d.term = t
	return sandbox.IO{Stdin: sandbox.FileInput(t.slave), Stdout: t.slave, Terminal: true, ConsoleSize: t.size()}, nil
}

// writeCreated records the created container.
func (d *daemon) writeCreated(ctr *spec.Container) error {
	start, err := state.Proc{}.StartTime(os.Getpid())
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	pids := d.sb.Pids()
	d.st.Status = state.StatusCreated
	d.st.Rootfs = ctr.Rootfs.HostPath
	d.st.Pid, d.st.PidStartTime = os.Getpid(), start
	d.st.QEMUPid, d.st.VirtiofsdPids = pids[0], pids[1:]
	d.st.GuestPid = d.c.Init().Pid()
	d.st.ControlSocket = d.ln.Addr().String()
	d.st.Terminal = ctr.Terminal
	d.st.Warnings = d.sb.Warnings()
	for _, w := range d.st.Warnings {
		d.log.Warn(w)
	}
	return d.handle.Write(d.st)
}

// serve answers the control socket until a Shutdown, which has removed
// everything, or the end of ctx (SIGTERM), after which the VM is stopped
// and the state left, stopped, for `kite delete`.
func (d *daemon) serve(ctx context.Context) error {
	err := control.Serve(ctx, d.ln, d)
	if err == nil {
		return nil
	}
	d.log.Warn("stopping the sandbox", "err", err)
	d.opMu.Lock()
	defer d.opMu.Unlock()
	d.setStopped(sandbox.UnknownExit)
	return errors.Join(err, d.teardown(), d.ln.Close())
}

// teardown stops the sandbox and closes the terminal.
func (d *daemon) teardown() error {
	err := d.sb.Stop()
	if d.term != nil {
		d.term.close()
	}
	return err
}

// isDevNull reports whether f is /dev/null, which the guest can give the
// process itself.
func isDevNull(f *os.File) bool {
	if f == nil {
		return true
	}
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(os.DevNull)
	return err == nil && os.SameFile(a, b)
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
