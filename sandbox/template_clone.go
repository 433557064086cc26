package sandbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/flock"
	"github.com/kite-vm/kite/vm"
)

// CloneWarm makes a warm VM by restoring t, a template EnsureTemplate
// returned for the same configuration, in cfg.Dir (the pool slot's
// directory) with cfg.ID its name: QEMU maps the template's RAM file
// copy-on-write and loads the saved device state, the agent takes the new
// connection, and the guest is made unique (its generation id, a seed for
// its kernel's RNG, the clock). The Warm is claimed, checked and stopped as
// BootWarm's is. A template made from another configuration, guest or QEMU
// than cfg's is refused (ErrStaleTemplate). A failure undoes everything.
func CloneWarm(ctx context.Context, cfg Config, t *Template) (_ *Warm, err error) {
	if cfg.Config == nil || cfg.Dir == "" || cfg.ID == "" || t == nil {
		return nil, errorf(ErrInvalidArgument, "cloning a warm VM needs a configuration, a directory, an id and a template")
	}
	cfg.Config = templateConfig(warmConfig(cfg.Config))
	cfg.tpl = &vm.Template{Dir: t.dir, Clone: true, GenID: newGenID()}
	var cu cleanup.Stack
	defer func() {
		if err != nil {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopBudget)
			defer cancel()
			err = errors.Join(fmt.Errorf("cloning warm VM %q from template %s: %w", cfg.ID, t.dir, err), cu.CleanCtx(uctx))
		}
	}()
	start := time.Now()
	f, err := collectHost(cfg)
	if err != nil {
		return nil, err
	}
	// Held while QEMU opens the template's files: a rebuild waits, and
	// RemoveTemplates passes it by.
	unlock, err := flock.PathShared(ctx, t.dir+templateLockSuffix, 0o600)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := checkTemplate(cfg, f, t); err != nil {
		return nil, err
	}
	s := newSandbox(cfg)
	if err := (builder{s}).begin(&cu); err != nil {
		return nil, err
	}
	if s.lay, err = planSandbox(cfg, f); err != nil {
		return nil, err
	}
	if err := (builder{s}).bootPlanned(ctx, &cu, start); err != nil {
		return nil, err
	}
	w := &Warm{s: s, died: make(chan struct{})}
	go w.watch()
	cu.Release()
	s.log.Debug("warm VM cloned", "template", t.dir, "restored", s.m.Timings().Restored, "agent_ready", s.m.Timings().AgentReady)
	return w, nil
}

// checkTemplate refuses a template that is not cfg's, or no longer is on
// disk what it was: its identity is planned anew and compared with the
// one template.json holds.
func checkTemplate(cfg Config, f facts, t *Template) error {
	id, err := identify(cfg, f, t.dir)
	if err != nil {
		return fmt.Errorf("planning the VM template: %w", err)
	}
	m, err := readManifest(t.dir)
	if err != nil {
		return fmt.Errorf("%w: %w: %w (EnsureTemplate rebuilds it)", ErrFailedPrecondition, ErrStaleTemplate, err)
	}
	if d := m.Identity.diff(id); d != "" {
		return fmt.Errorf("%w: %w: %s", ErrFailedPrecondition, ErrStaleTemplate, d)
	}
	return nil
}

// VMTimings are the moments of the warm VM's boot, or of a clone's
// restore (vm.Timings.Restored), for measurements.
func (w *Warm) VMTimings() vm.Timings { return w.s.m.Timings() }
