package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/atomicfile"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/fdclose"
	"github.com/kite-vm/kite/internal/logging"
	"github.com/kite-vm/kite/oci"
	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
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
	fs.Var(preserveFDs{}, "preserve-fds", "descriptors to pass to the container beyond stdio: only 0 (a VM's container cannot receive host descriptors)")
	// Accepted for runc compatibility; they mean nothing for a VM.
	fs.Bool("no-pivot", false, "ignored (runc compatibility)")
	fs.Bool("no-new-keyring", false, "ignored (runc compatibility)")
	return fs
}

// preserveFDs is runc's --preserve-fds, which passes the caller's
// descriptors 3..3+N-1 to the container's process. A container in a VM
// cannot receive host descriptors, so only 0 is accepted; every descriptor
// beyond stdio is closed for what Kite starts, as runc closes those it
// does not pass.
type preserveFDs struct{}

func (preserveFDs) String() string { return "0" }

func (preserveFDs) Set(v string) error {
	if v != "0" {
		return fmt.Errorf("%q: a container in a VM cannot receive host descriptors; only 0 is accepted", v)
	}
	return nil
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

// create checks the bundle and the configuration, reserves the id,
// starts the init proxy (in the container's network namespace, which it
// makes when the spec asks for a new one and has hooks to fill it), runs
// the prestart and createRuntime hooks, starts the sandbox process, which
// creates the VM and the container, lets the proxy watch the container's
// init, and runs the createContainer hooks. It returns the init proxy's
// pid, which is the container's for its callers (--pid-file, `kite
// state`). On failure nothing is left: no process, socket, mount, netns
// or state.
func (e *env) create(ctx context.Context, id string, o createOptions, stdio control.Stdio) (int, error) {
	bundle, plan, newNetns, err := loadBundle(id, o.bundle)
	if err != nil {
		return 0, err
	}
	if plan.Terminal && o.consoleSocket == "" {
		return 0, errors.New("process.terminal is set in config.json: --console-socket is required to receive the terminal")
	}
	if o.consoleSocket, err = absPath(o.consoleSocket); err != nil {
		return 0, err
	}
	if err := fdclose.OnExec(); err != nil {
		return 0, err
	}
	if plan.Terminal {
		// The terminal is the container's stdio: create's own must not
		// outlive it in the sandbox process (the runc shim reads them to
		// their end for create's errors).
		null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			return 0, err
		}
		defer null.Close()
		stdio = control.Stdio{In: null, Out: null, Err: null}
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
	root, err := e.stateRoot(cfg)
	if err != nil {
		return 0, err
	}
	store := state.Store{Root: root}
	sbDir, err := oci.SandboxDir(root, id)
	if err != nil {
		return 0, err
	}
	h, err := store.Create(id)
	if err != nil {
		return 0, err
	}
	st := state.State{ID: id, Bundle: bundle, Rootfs: plan.Rootfs.HostPath, Status: state.StatusCreating,
		Created: time.Now().UTC(), Annotations: plan.Annotations, Terminal: plan.Terminal, SandboxDir: sbDir, Hooks: plan.Hooks}
	var cu cleanup.Stack
	defer cu.Clean()
	cu.Add("removing the state", h.Remove)
	if err := h.Lock(ctx); err != nil {
		return 0, err
	}
	if err := oci.MakeSandboxDir(h, sbDir); err != nil {
		return 0, err
	}
	// From here, what is left is what a dead sandbox leaves.
	cu.Release()
	cu.Add("cleaning up", func() error { return e.cleanupFailedCreate(h, st) })
	netns := plan.NetnsPath
	if newNetns && hooksBeforeBoot(plan.Hooks) {
		st.Netns = filepath.Join(sbDir, oci.NetnsName)
		if err := oci.NewNetns(st.Netns); err != nil {
			return 0, err
		}
		netns = st.Netns
	}
	if err := h.Write(st); err != nil {
		return 0, err
	}
	proxy, err := oci.StartInitProxy(ctx, e.proxySpec(root, sbDir, id, "", netns, true))
	if err != nil {
		return 0, err
	}
	cu.Add("stopping the init proxy", func() error { proxy.Kill(); return nil })
	st.InitPid, st.InitPidStartTime = proxy.Pid, proxy.StartTime
	if err := h.Write(st); err != nil {
		return 0, err
	}
	for _, k := range []oci.HookKind{oci.HookPrestart, oci.HookCreateRuntime} {
		if err := oci.RunHooks(ctx, k, k.Of(plan.Hooks), hookState(st, specs.StateCreating), bundle); err != nil {
			return 0, err
		}
	}
	if err := e.startSandboxProcess(ctx, cfg, store, h, id, bundle, sbDir, st.Netns, o, stdio); err != nil {
		return 0, err
	}
	// The sandbox process writes the state from now on: undo through it.
	cu.Add("deleting the container", func() error { return e.forceDelete(h, id) })
	if err := proxy.Proceed(ctx); err != nil {
		return 0, err
	}
	if err := oci.RunHooks(ctx, oci.HookCreateContainer, oci.HookCreateContainer.Of(plan.Hooks), hookState(st, specs.StateCreating), bundle); err != nil {
		return 0, err
	}
	if err := writePidFile(o.pidFile, proxy.Pid); err != nil {
		return 0, err
	}
	cu.Release()
	h.Unlock()
	return proxy.Pid, nil
}

// hooksBeforeBoot says whether hooks run before the VM boots, which may
// configure the container's network namespace.
func hooksBeforeBoot(h *spec.Hooks) bool {
	return len(oci.HookPrestart.Of(h))+len(oci.HookCreateRuntime.Of(h)) > 0
}

// hookState is the state hooks get on stdin, with the status of their
// point in the lifecycle.
func hookState(st state.State, status specs.ContainerState) specs.State {
	s := state.OCIState(st, true)
	s.Status = status
	if status == specs.StateStopped {
		s.Pid = 0
	}
	return s
}

// loadBundle reads and converts the bundle, so that a bad one is reported
// before anything starts. newNetns says the spec asks for a network
// namespace of the container's own (linux.namespaces, network, no path).
func loadBundle(id, bundle string) (abs string, ctr *spec.Container, newNetns bool, err error) {
	if abs, err = filepath.Abs(bundle); err != nil {
		return "", nil, false, err
	}
	if err := state.ValidateID(id); err != nil {
		return "", nil, false, err
	}
	raw, err := spec.Load(abs)
	if err != nil {
		return "", nil, false, err
	}
	if ctr, err = spec.Convert(raw, spec.Input{ContainerID: id, Bundle: abs}); err != nil {
		return "", nil, false, err
	}
	if raw.Linux != nil {
		newNetns = slices.ContainsFunc(raw.Linux.Namespaces, func(ns specs.LinuxNamespace) bool {
			return ns.Type == specs.NetworkNamespace && ns.Path == ""
		})
	}
	return abs, ctr, newNetns, nil
}

// daemonSpec is the command line of the sandbox process: this binary, with
// the global flags that matter to it and the hidden sandbox-daemon command.
func (e *env) daemonSpec(store state.Store, h *state.Handle, id, bundle, sbDir, netns string, o createOptions, stdio control.Stdio) control.SpawnSpec {
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	args := []string{"--root", store.Root, "--log", e.daemonLogPath(h.Dir()), "--log-format", e.globals.logFormat}
	if cfg := configs.Locate(e.globals.configPath, e.getenv, configs.SystemPath); cfg != "" {
		abs, _ := filepath.Abs(cfg)
		args = append(args, "--config", abs)
	}
	if e.globals.debug {
		args = append(args, "--debug")
	}
	args = append(args, daemonCommand, "--bundle", bundle, "--dir", sbDir, "--report-fd", strconv.Itoa(control.ReportFD))
	if netns != "" {
		args = append(args, "--netns", netns)
	}
	if o.consoleSocket != "" {
		args = append(args, "--console-socket", o.consoleSocket)
	}
	return control.SpawnSpec{Path: self, Args: append(args, id), Stdio: stdio}
}

// cleanupFailedCreate removes what a failed create left, the sandbox
// process's leftovers included (its own undo ran unless it was killed half
// way): st is the state create last wrote.
func (e *env) cleanupFailedCreate(h *state.Handle, st state.State) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
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
