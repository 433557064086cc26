package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/flock"
	"github.com/kite-vm/kite/vm"
)

// Template is a saved warm VM that CloneWarm restores instead of booting
// one (vm.Template): a directory of the templates root named by a digest
// of what it was made from, holding the guest's RAM, the saved device
// state and template.json.
type Template struct {
	dir   string
	built bool
	m     templateManifest
}

// TemplateInfo describes a template.
type TemplateInfo struct {
	Dir string
	// Built is true when EnsureTemplate made it, false when it found it.
	Built     bool
	Created   time.Time
	MemoryMiB int
	// Boot is how long its VM took to boot to a ready agent; Save what
	// saving it took.
	Boot time.Duration
	Save vm.SaveInfo
}

// Info describes the template.
func (t *Template) Info() TemplateInfo {
	return TemplateInfo{Dir: t.dir, Built: t.built, Created: t.m.Created, MemoryMiB: t.m.MemoryMiB, Boot: t.m.Boot, Save: t.m.Save}
}

// EnsureTemplate returns the template of the warm VMs cfg boots, from the
// templates directory root: the one there if it was made from the same
// configuration, guest and QEMU, else one it builds (a VM booted to a ready
// agent and saved), under the template's lock so that concurrent callers
// build it once. A template directory that does not match what its name
// says, or that a crash left half made, is refused and rebuilt; templates
// of other configurations that no one uses are removed once a new one is
// built. cfg is as for BootWarm (its ID and Dir are not used).
func EnsureTemplate(ctx context.Context, cfg Config, root string) (*Template, error) {
	if cfg.Config == nil || !filepath.IsAbs(root) {
		return nil, errorf(ErrInvalidArgument, "a VM template needs a configuration and an absolute templates directory (got %q)", root)
	}
	cfg.Config = templateConfig(warmConfig(cfg.Config))
	f, err := collectHost(cfg)
	if err != nil {
		return nil, err
	}
	id, err := identify(cfg, f, root)
	if err != nil {
		return nil, fmt.Errorf("planning the VM template: %w", err)
	}
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("creating the templates directory: %w", err)
	}
	key := id.digest()
	dir := filepath.Join(root, key)
	unlock, err := flock.Path(ctx, dir+templateLockSuffix, 0o600)
	if err != nil {
		return nil, err
	}
	defer unlock()
	m, err := readManifest(dir)
	if err == nil {
		if d := m.Identity.diff(id); d == "" {
			return &Template{dir: dir, m: m}, nil
		} else {
			cfg.logger().Warn("refusing the VM template: rebuilding it", "template", dir, "reason", d)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		cfg.logger().Warn("refusing the VM template: rebuilding it", "template", dir, "reason", err)
	}
	if err := removeTemplate(ctx, dir); err != nil {
		return nil, err
	}
	t, err := buildTemplate(ctx, cfg, f, dir, id)
	if err != nil {
		return nil, err
	}
	if n, err := removeTemplatesBut(ctx, root, key); err != nil {
		cfg.logger().Warn("removing unused VM templates", "err", err)
	} else if n > 0 {
		cfg.logger().Info("removed unused VM templates", "count", n)
	}
	return t, nil
}

// buildTemplate boots the template's VM in dir, its RAM in the template's
// RAM file, saves it and stops it; template.json, written last, says the
// template is complete. A failure leaves nothing of it.
func buildTemplate(ctx context.Context, cfg Config, f facts, dir string, id templateIdentity) (_ *Template, err error) {
	cfg.ID, cfg.Dir = "template-"+filepath.Base(dir), dir
	cfg.tpl = &vm.Template{Dir: dir, GenID: newGenID()}
	log := cfg.logger().With("template", dir)
	if err := os.Mkdir(dir, 0o711); err != nil {
		return nil, fmt.Errorf("creating the VM template directory: %w", err)
	}
	var cu cleanup.Stack
	defer func() {
		if err != nil {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopBudget)
			defer cancel()
			err = errors.Join(fmt.Errorf("building the VM template %s: %w", dir, err), cu.CleanCtx(uctx))
		}
	}()
	cu.AddCtx("remove the template", func(ctx context.Context) error { return removeTemplate(ctx, dir) })
	if err := cfg.tpl.CreateRAM(cfg.Config.Hypervisor.MemoryMiB, cfg.Config.Hypervisor.User); err != nil {
		return nil, err
	}
	s := newSandbox(cfg)
	start := time.Now()
	if err := (builder{s}).begin(&cu); err != nil {
		return nil, err
	}
	if s.lay, err = planSandbox(cfg, f); err != nil {
		return nil, err
	}
	if key, err := s.lay.vm.CloneKey(); err != nil || id.diff(templateIdentity{Format: id.Format, Key: key, Files: id.Files}) != "" {
		return nil, fmt.Errorf("the template's VM is not the one its identity says (%v)", err)
	}
	if err := (builder{s}).bootPlanned(ctx, &cu, start); err != nil {
		return nil, err
	}
	boot := s.m.Timings().AgentReady
	info, err := s.m.SaveTemplate(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Stop(); err != nil {
		return nil, fmt.Errorf("stopping the saved template VM: %w", err)
	}
	m := templateManifest{Identity: id, Created: time.Now().UTC(), MemoryMiB: cfg.Config.Hypervisor.MemoryMiB, Boot: boot, Save: info}
	if err := writeManifest(dir, m); err != nil {
		return nil, err
	}
	cu.Release()
	log.Info("VM template built", "boot", boot, "save", info.Save, "state_bytes", info.StateBytes)
	return &Template{dir: dir, built: true, m: m}, nil
}

// removeTemplate removes a template directory: first what a crash left of
// its VM (sandbox.Cleanup, from its crash record), then its files.
func removeTemplate(ctx context.Context, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, RecordName)); err == nil {
		if err := Cleanup(ctx, dir); err != nil {
			return fmt.Errorf("cleaning up the VM of template %s: %w", dir, err)
		}
	}
	var errs []error
	for _, name := range []string{templateManifestName, vm.TemplateStateName, vm.TemplateRAMName} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RemoveTemplates removes the VM templates of the templates directory
// root that no one builds or restores from (their lock is free), and says
// how many it removed: clones running from one keep its RAM mapped, which
// the removal does not take from them. kite pool drain calls it.
func RemoveTemplates(ctx context.Context, root string) (int, error) {
	n, err := removeTemplatesBut(ctx, root, "")
	if err == nil {
		// The directory itself goes once empty; one a template in use (or
		// being made) keeps stays.
		if rerr := os.Remove(root); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && !errors.Is(rerr, syscall.ENOTEMPTY) {
			err = fmt.Errorf("removing the templates directory: %w", rerr)
		}
	}
	return n, err
}

// removeTemplatesBut removes the unused templates of root but key's.
func removeTemplatesBut(ctx context.Context, root, key string) (int, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the templates directory: %w", err)
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || e.Name() == key {
			continue
		}
		dir := filepath.Join(root, e.Name())
		unlock, ok, err := flock.TryPath(dir+templateLockSuffix, 0o600)
		if err != nil || !ok {
			errs = append(errs, err)
			continue
		}
		err = removeTemplate(ctx, dir)
		if err == nil {
			err = os.Remove(dir + templateLockSuffix)
		}
		unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("removing VM template %s: %w", dir, err))
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}
