package oci

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/runtime"
	ocispec "github.com/kite-vm/kite/runtime/oci"
)

// Names in the sandbox's state directory, next to state.json.
const (
	// VMDirName is the VM's own directory (runtime.VMInput.Dir): QEMU's
	// and virtiofsd's sockets, pid file and logs.
	VMDirName = "vm"
	// DaemonLogName is the sandbox process's log when the CLI is given no
	// --log: its stderr is the container's, not a place for logs.
	DaemonLogName = "daemon.log"
)

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
	// ConsoleSocket, for a container with a terminal, is the unix socket
	// the terminal's master is sent to.
	ConsoleSocket string
	// Stdio is the container's stdio when it has no terminal: the stdio
	// `kite create` was given.
	Stdio Stdio
	// Report is the pipe on which `kite create` waits for the outcome.
	Report *os.File
	// Logger receives what happens after create has returned; nil
	// discards it.
	Logger *slog.Logger
}

// daemon is the running sandbox process.
type daemon struct {
	id     string
	log    *slog.Logger
	handle *state.Handle
	vm     *runtime.VM
	agent  *client.Client
	ln     *net.UnixListener
	term   *hostTerminal // nil without a terminal
	stdio  Stdio
	init   *proc

	opMu sync.Mutex // serializes the requests that change the container

	mu      sync.Mutex
	st      state.State      // guarded by mu
	execs   map[string]*proc // guarded by mu
	removed bool             // guarded by mu: Shutdown removed the state
}

// RunDaemon is the main of the per-sandbox host process, which `kite
// create` starts (Spawn) in a session of its own: it boots the VM with the
// bundle's root file system shared into it, creates the container (not
// started), records the state, reports on cfg.Report, and then serves the
// control socket until a Shutdown or the end of ctx. It relays the
// container's stdio for as long as it runs, and records the exit code when
// the container's process exits.
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
		return errors.Join(err, writeReport(cfg.Report, report{Error: toError(err)}))
	}
	if err := writeReport(cfg.Report, report{Created: true}); err != nil {
		d.log.Warn("reporting to kite create", "err", err)
	}
	return d.serve(ctx)
}

// vmDir is the VM's directory inside the sandbox's.
func vmDir(h *state.Handle) string { return filepath.Join(h.Dir(), VMDirName) }

// load reads and converts the bundle.
func load(cfg DaemonConfig) (*ocispec.Plan, error) {
	spec, err := ocispec.Load(cfg.Bundle)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	plan, err := ocispec.Convert(spec, ocispec.Input{ContainerID: cfg.ID, Bundle: cfg.Bundle})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	if plan.Terminal && cfg.ConsoleSocket == "" {
		return nil, fmt.Errorf("%w: process.terminal is set but no console socket was given (--console-socket)", ErrInvalidArgument)
	}
	return plan, nil
}

// serve answers the control socket until a Shutdown, which has removed
// everything, or the end of ctx (SIGTERM), after which the VM is stopped and
// the state left, stopped, for `kite delete`.
func (d *daemon) serve(ctx context.Context) error {
	err := Serve(ctx, d.ln, d)
	if err == nil {
		return nil
	}
	d.log.Warn("stopping the sandbox", "err", err)
	d.opMu.Lock()
	defer d.opMu.Unlock()
	d.setStopped(unknownExit)
	stopCtx, cancel := context.WithTimeout(context.Background(), stopBudget)
	defer cancel()
	return errors.Join(err, d.teardown(stopCtx), d.ln.Close())
}
