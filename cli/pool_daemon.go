package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/oci"
	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/pool"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/shim"
)

// roleOCI is the claim of `kite create`: the warm process becomes the
// container's sandbox process.
const roleOCI = "oci"

// ociClaim is what `kite create` hands a warm process: what it would have
// given the sandbox process on its command line, and its stdio (the
// claim's files, in order).
type ociClaim struct {
	Root          string `json:"root"`
	ID            string `json:"id"`
	Bundle        string `json:"bundle"`
	Dir           string `json:"dir"`
	Netns         string `json:"netns,omitempty"`
	ConsoleSocket string `json:"consoleSocket,omitempty"`
	LogPath       string `json:"logPath"`
}

// daemonConfig is the sandbox process's configuration the claim describes.
func (c ociClaim) daemonConfig(cfg *configs.Config) oci.DaemonConfig {
	return oci.DaemonConfig{ID: c.ID, Store: state.Store{Root: c.Root}, Config: cfg, Bundle: c.Bundle, Dir: c.Dir,
		Netns: c.Netns, ConsoleSocket: c.ConsoleSocket}
}

// runPoolDaemon is a warm process: it boots a warm VM in a new slot of the
// pool, waits for a claim its VM fits, and becomes the sandbox process the
// claim asks for. SIGTERM (a drain) or the VM's death while it waits
// stops it, leaving nothing.
func runPoolDaemon(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, poolDaemonCommand, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	root, err := e.stateRoot(cfg)
	if err != nil {
		return err
	}
	slot, err := pool.NewSlot(cfg.Pool.DirUnder(root), pool.Digest(cfg), cfg.Hypervisor.MemoryMiB)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(slot.Dir, pool.LogName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return errors.Join(err, leaveSlot(slot))
	}
	defer logf.Close()
	log := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: cfg.Runtime.LogLevel.Slog()})).With("slot", slot.ID)
	w, err := newWarm(ctx, cfg, root, sandbox.Config{ID: slot.ID, Dir: slot.Dir, Config: cfg, Root: root, Logger: log})
	if err != nil {
		log.Error("booting the warm VM", "err", err)
		return errors.Join(err, leaveSlot(slot))
	}
	if err := slot.Ready(w.Timings().Booted); err != nil {
		return errors.Join(err, w.Stop(), leaveSlot(slot))
	}
	log.Info("warm VM ready", "boot", w.Timings().Booted)
	acc, err := slot.Serve(ctx, w.Died(), func(r pool.Request, files []*os.File) error { return fitClaim(w, cfg, r, files) })
	if err != nil {
		log.Info("leaving the pool", "reason", err)
		return errors.Join(w.Stop(), leaveSlot(slot))
	}
	return runClaimed(ctx, w, cfg, acc, log)
}

// newWarm boots the slot's warm VM, or with pool.template clones it from
// the pool's VM template, which the first warm process to need it builds
// (the others wait for it).
func newWarm(ctx context.Context, cfg *configs.Config, root string, sc sandbox.Config) (*sandbox.Warm, error) {
	if !cfg.Pool.Template {
		return sandbox.BootWarm(ctx, sc)
	}
	dir := templatesDir(cfg, root)
	for attempt := 0; ; attempt++ {
		t, err := sandbox.EnsureTemplate(ctx, sc, dir)
		if err != nil {
			return nil, err
		}
		w, err := sandbox.CloneWarm(ctx, sc, t)
		// Replaced between the two calls (another configuration's fill):
		// the next EnsureTemplate builds it anew.
		if errors.Is(err, sandbox.ErrStaleTemplate) && attempt == 0 {
			continue
		}
		return w, err
	}
}

// templatesDir holds the pool's VM templates.
func templatesDir(cfg *configs.Config, root string) string {
	return filepath.Join(cfg.Pool.DirUnder(root), "templates")
}

// leaveSlot removes a slot whose warm process ends unclaimed (the engine
// removed its own files).
func leaveSlot(s *pool.Slot) error {
	if err := s.Leave(); err != nil {
		return err
	}
	if err := os.Remove(s.Dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// fitClaim says whether the warm VM takes a claim.
func fitClaim(w *sandbox.Warm, cfg *configs.Config, r pool.Request, files []*os.File) error {
	if r.Digest != pool.Digest(cfg) {
		return errors.New("booted with another configuration or guest")
	}
	switch r.Role {
	case roleOCI:
		var c ociClaim
		if err := json.Unmarshal(r.Payload, &c); err != nil {
			return fmt.Errorf("reading the claim: %w", err)
		}
		if len(files) != 3 {
			return fmt.Errorf("a claim with %d files, want stdin, stdout, stderr", len(files))
		}
		ctr, err := oci.ContainerOf(c.daemonConfig(cfg))
		if err != nil {
			return err
		}
		return w.Check(sandbox.Config{ID: c.ID, Dir: c.Dir, Config: cfg, Root: c.Root}, ctr)
	case shim.RoleShim:
		var c shim.Claim
		if err := json.Unmarshal(r.Payload, &c); err != nil {
			return fmt.Errorf("reading the claim: %w", err)
		}
		if len(files) != 1 {
			return fmt.Errorf("a claim with %d files, want the listener", len(files))
		}
		ctr, err := c.FirstContainer()
		if err != nil {
			return err
		}
		return w.Check(sandbox.Config{ID: c.Flags.ID, Config: cfg, Root: cfg.Runtime.Root}, ctr)
	}
	return fmt.Errorf("unknown role %q", r.Role)
}

// runClaimed becomes what the claim asks for.
func runClaimed(ctx context.Context, w *sandbox.Warm, cfg *configs.Config, acc *pool.Accepted, log *slog.Logger) error {
	if acc.Request.Role == shim.RoleShim {
		acc.Conn.Close()
		var c shim.Claim
		if err := json.Unmarshal(acc.Request.Payload, &c); err != nil {
			return errors.Join(err, w.Stop())
		}
		log.Info("claimed by the shim", "pod", c.Flags.ID, "namespace", c.Flags.Namespace)
		// The shim serves until containerd shuts it down, not until ctx
		// (a signal) ends: it handles SIGTERM itself.
		if err := shim.ServeClaimed(c, cfg, acc.Files[0], w.Creator()); err != nil {
			log.Error("shim daemon", "err", err)
			return exitCodeError{code: exitError}
		}
		return nil
	}
	report, err := acc.Conn.File()
	acc.Conn.Close()
	if err != nil {
		return errors.Join(err, w.Stop())
	}
	defer report.Close()
	var c ociClaim
	if err := json.Unmarshal(acc.Request.Payload, &c); err != nil {
		return errors.Join(err, w.Stop())
	}
	logf, err := os.OpenFile(c.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		control.ReportFailure(report, err)
		return errors.Join(err, w.Stop())
	}
	defer logf.Close()
	plog := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: cfg.Runtime.LogLevel.Slog()})).With("sandbox", c.ID)
	log.Info("claimed", "container", c.ID, "log", c.LogPath)
	dc := c.daemonConfig(cfg)
	dc.Stdio = control.Stdio{In: acc.Files[0], Out: acc.Files[1], Err: acc.Files[2]}
	dc.Report, dc.Logger, dc.Create = report, plog, w.Creator()
	if err := oci.RunDaemon(ctx, dc); err != nil {
		plog.Error("sandbox process", "err", err)
		return exitCodeError{code: exitError}
	}
	return nil
}
