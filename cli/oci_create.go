package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/atomicfile"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/logging"
	"github.com/kite-vm/kite/oci"
	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/spec"
)

// createOptions are the flags create and run share.
type createOptions struct {
	bundle        string
	pidFile       string
	consoleSocket string
}

func (o *createOptions) register(e *env, name string) *flag.FlagSet {
	fs := newFlags(e, name, "[flags] ID")
	fs.StringVar(&o.bundle, "bundle", ".", "the OCI bundle: a directory with config.json and the root file system")
	fs.StringVar(&o.bundle, "b", ".", "short for --bundle")
	fs.StringVar(&o.pidFile, "pid-file", "", "write the sandbox process's pid to this file")
	fs.StringVar(&o.consoleSocket, "console-socket", "", "unix socket to send the terminal's master to (process.terminal)")
	// Accepted for runc compatibility; they mean nothing for a VM.
	fs.Bool("no-pivot", false, "ignored (runc compatibility)")
	fs.Bool("no-new-keyring", false, "ignored (runc compatibility)")
	return fs
}

// runCreate creates the container and its VM; `kite start` runs it.
func runCreate(ctx context.Context, e *env, args []string) error {
	var o createOptions
	fs := o.register(e, "create")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, err := needID(fs.Args())
	if err != nil {
		return err
	}
	stdio, err := daemonStdio(e.io, false)
	if err != nil {
		return err
	}
	defer stdio.close()
	_, err = e.create(ctx, id, o, stdio.files)
	return err
}

// create checks the bundle and the configuration, reserves the id and
// starts the sandbox process, which creates the VM and the container; it
// returns the sandbox process's pid. On failure nothing is left: no
// process, socket, mount or state.
func (e *env) create(ctx context.Context, id string, o createOptions, stdio control.Stdio) (int, error) {
	bundle, plan, err := loadBundle(id, o.bundle)
	if err != nil {
		return 0, err
	}
	if plan.Terminal && o.consoleSocket == "" {
		return 0, errors.New("process.terminal is set in config.json: --console-socket is required to receive the terminal")
	}
	if o.consoleSocket, err = absPath(o.consoleSocket); err != nil {
		return 0, err
	}
	cfg, err := e.config()
	if err != nil {
		return 0, err
	}
	if err := cfg.CheckBinaries(); err != nil {
		return 0, err
	}
	for _, f := range plan.Ignored {
		logging.From(ctx).Debug("ignoring a field of config.json", logging.KeyContainer, id, "field", f)
	}
	store, err := e.store()
	if err != nil {
		return 0, err
	}
	h, err := store.Create(id)
	if err != nil {
		return 0, err
	}
	var cu cleanup.Stack
	defer cu.Clean()
	cu.Add("removing the state", h.Remove)
	if err := h.Lock(ctx); err != nil {
		return 0, err
	}
	if err := h.Write(state.State{ID: id, Bundle: bundle, Rootfs: plan.Rootfs.HostPath, Status: state.StatusCreating,
		Created: time.Now().UTC(), Annotations: plan.Annotations, Terminal: plan.Terminal}); err != nil {
		return 0, err
	}
	pid, err := control.Spawn(ctx, e.daemonSpec(store, h, id, bundle, o, stdio))
	if err != nil {
		return 0, errors.Join(err, e.cleanupFailedCreate(h))
	}
	cu.Add("deleting the container", func() error { return e.forceDelete(h, id) })
	if err := writePidFile(o.pidFile, pid); err != nil {
		return 0, err
	}
	cu.Release()
	h.Unlock()
	return pid, nil
}

// loadBundle reads and converts the bundle, so that a bad one is reported
// before anything starts.
func loadBundle(id, bundle string) (string, *spec.Container, error) {
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return "", nil, err
	}
	if err := state.ValidateID(id); err != nil {
		return "", nil, err
	}
	raw, err := spec.Load(abs)
	if err != nil {
		return "", nil, err
	}
	ctr, err := spec.Convert(raw, spec.Input{ContainerID: id, Bundle: abs})
	if err != nil {
		return "", nil, err
	}
	return abs, ctr, nil
}

// daemonSpec is the command line of the sandbox process: this binary, with
// the global flags that matter to it and the hidden sandbox-daemon command.
func (e *env) daemonSpec(store state.Store, h *state.Handle, id, bundle string, o createOptions, stdio control.Stdio) control.SpawnSpec {
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	logPath := filepath.Join(h.Dir(), oci.DaemonLogName)
	if e.globals.logPath != "" {
		logPath, _ = filepath.Abs(e.globals.logPath)
	}
	args := []string{"--root", store.Root, "--log", logPath, "--log-format", e.globals.logFormat}
	if cfg := configs.Locate(e.globals.configPath, e.getenv, configs.SystemPath); cfg != "" {
		abs, _ := filepath.Abs(cfg)
		args = append(args, "--config", abs)
	}
	if e.globals.debug {
		args = append(args, "--debug")
	}
	args = append(args, daemonCommand, "--bundle", bundle, "--report-fd", strconv.Itoa(control.ReportFD))
	if o.consoleSocket != "" {
		args = append(args, "--console-socket", o.consoleSocket)
	}
	return control.SpawnSpec{Path: self, Args: append(args, id), Stdio: stdio}
}

// cleanupFailedCreate removes what a sandbox process that failed left: its
// own undo ran unless it was killed half way.
func (e *env) cleanupFailedCreate(h *state.Handle) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := h.Read()
	if err != nil {
		st = state.State{ID: h.ID()}
	}
	return oci.CleanupDead(ctx, h, st)
}

// forceDelete undoes a create whose sandbox process runs.
func (e *env) forceDelete(h *state.Handle, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := h.Read()
	if err != nil {
		return err
	}
	c := &container{h: h, st: st, alive: state.Proc{}.Alive(st.Pid, st.PidStartTime)}
	return c.remove(ctx, true)
}

// writePidFile writes pid atomically, as runc does: a reader never sees a
// partial file.
func writePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(abs, 0o644, []byte(strconv.Itoa(pid))); err != nil {
		return fmt.Errorf("writing the pid file: %w", err)
	}
	return nil
}

func absPath(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	return filepath.Abs(p)
}
