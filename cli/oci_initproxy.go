package cli

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"

	"github.com/kite-vm/kite/internal/logging"
	"github.com/kite-vm/kite/oci"
	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
)

// initProxyCommand is the command `kite create` and `kite exec
// --pid-file` run an init proxy with (oci.RunInitProxy); it is not for
// people.
const initProxyCommand = "init-proxy"

// The init proxy joins the container's network namespace on the thread
// /proc/<pid>/ns/net shows, the main one: the main goroutine, which runs
// Main, stays on it.
func init() {
	if slices.Contains(os.Args[1:], initProxyCommand) {
		runtime.LockOSThread()
	}
}

// runInitProxy is the init proxy's main. It never returns.
func runInitProxy(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, initProxyCommand, "--control SOCKET [--exec-id ID] [--netns PATH] [--go-fd N] ID")
	ctl := fs.String("control", "", "the sandbox process's control socket")
	execID := fs.String("exec-id", "", "the exec to stand for (default: the init)")
	netns := fs.String("netns", "", "the network namespace to join")
	goFD := fs.Int("go-fd", -1, "wait for a byte on this pipe before watching")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, err := needID(fs.Args())
	if err != nil {
		return err
	}
	cfg := oci.ProxyConfig{ControlSocket: *ctl, ExecID: *execID, Netns: *netns,
		Logger: logging.From(ctx).With(logging.KeyContainer, id)}
	cfg.Report, err = control.OpenReport(oci.ProxyReportFD)
	if err != nil {
		return err
	}
	if *goFD >= 0 {
		if cfg.Go, err = control.OpenReport(*goFD); err != nil {
			return err
		}
	}
	oci.RunInitProxy(ctx, cfg)
	return nil
}

// proxySpec is the command line of an init proxy for container id, whose
// sandbox directory is sandboxDir: this binary with the hidden command.
func (e *env) proxySpec(root, sandboxDir, id, execID, netns string, deferred bool) oci.ProxySpec {
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	args := []string{"--root", root, "--log", e.daemonLogPath(filepath.Join(root, id)), "--log-format", e.globals.logFormat}
	if e.globals.debug {
		args = append(args, "--debug")
	}
	args = append(args, initProxyCommand, "--control", filepath.Join(sandboxDir, control.ControlSocketName))
	if execID != "" {
		args = append(args, "--exec-id", execID)
	}
	if netns != "" {
		args = append(args, "--netns", netns)
	}
	if deferred {
		args = append(args, "--go-fd", strconv.Itoa(oci.ProxyGoFD))
	}
	return oci.ProxySpec{Path: self, Args: append(args, id), Deferred: deferred}
}

// daemonLogPath is where the container's host processes log: --log, or
// the sandbox process's log in the container's directory.
func (e *env) daemonLogPath(stateDir string) string {
	if e.globals.logPath != "" {
		p, _ := filepath.Abs(e.globals.logPath)
		return p
	}
	return filepath.Join(stateDir, oci.DaemonLogName)
}

// proxyAlive reports whether st's init proxy runs.
func proxyAlive(st state.State) bool {
	return st.InitPid > 0 && (state.Proc{}).Alive(st.InitPid, st.InitPidStartTime)
}
