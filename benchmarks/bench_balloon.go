package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/guest"
)

// balloon measures whether a VM gives back the memory its guest frees: a
// pod's container fills 100 MiB of tmpfs and removes it, and QEMU's PSS is
// read idle, filled, and a while after the free, with
// hypervisor.free_page_reporting (a virtio-balloon reporting free pages)
// against without (the baseline). Guest RAM is shared (virtio-fs), so a
// returned page is a hole QEMU punched in the memfd.
type balloon struct{}

const (
	reportingVariant = "free page reporting"
	noBalloonVariant = "no balloon"
	// balloonFillMiB is what the container allocates and frees.
	balloonFillMiB = 100
	// balloonWait is how long after the free QEMU is measured: the guest
	// reports pages two seconds after they become free.
	balloonWait = 10 * time.Second
)

func (balloon) Name() string     { return "balloon" }
func (balloon) Title() string    { return "Memory given back after a container frees it" }
func (balloon) Baseline() string { return noBalloonVariant }

type balloonTrial struct {
	env  Env
	dir  string
	rfs  string
	cfgs map[string]*configs.Config
	runs int
}

func (balloon) Setup(ctx context.Context, env Env) (Trial, error) {
	if err := firstErr(requireRoot(), requireGuest(env.Config), requireVirtiofsd(env.Config), requireBalloonDriver(env.Config)); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(env.WorkDir, "bal")
	if err != nil {
		return nil, err
	}
	t := &balloonTrial{env: env, dir: dir, rfs: filepath.Join(dir, "rootfs"), cfgs: map[string]*configs.Config{}}
	for v, on := range map[string]bool{reportingVariant: true, noBalloonVariant: false} {
		c := benchConfig(env.Config).Clone()
		c.SharedFS.Driver = configs.FSVirtioFS
		c.Hypervisor.FreePageReporting = on
		t.cfgs[v] = c
	}
	if err := makeRootfs(ctx, t.rfs); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return t, nil
}

// requireBalloonDriver skips when the guest image predates virtio_balloon
// in its module list: its guest could not report anything.
func requireBalloonDriver(cfg *configs.Config) error {
	m, err := guest.LoadManifest(cfg.Guest.Dir)
	if err != nil {
		return skip("reading the guest image's manifest: %v", err)
	}
	if !slices.Contains(m.ModuleNames(), "virtio_balloon") && !slices.Contains(m.Builtin, "virtio_balloon") {
		return skip("the guest image in %s has no virtio_balloon driver (built before it joined the default modules): make guest", cfg.Guest.Dir)
	}
	return nil
}

func (t *balloonTrial) Notes() []string {
	return []string{fmt.Sprintf("%d MiB guest RAM shared (virtio-fs); the container fills %d MiB of tmpfs, then removes it; QEMU's PSS %s later",
		t.cfgs[reportingVariant].Hypervisor.MemoryMiB, balloonFillMiB, balloonWait)}
}

func (t *balloonTrial) Close(context.Context) error { return os.RemoveAll(t.dir) }

func (t *balloonTrial) Repeat(ctx context.Context, rec *Recorder) error {
	for _, v := range rotate([]string{reportingVariant, noBalloonVariant}, rec.Repeat) {
		if err := t.measure(ctx, rec, v); err != nil {
			return fmt.Errorf("%s: %w", v, err)
		}
	}
	return nil
}

func (t *balloonTrial) measure(ctx context.Context, rec *Recorder, variant string) (err error) {
	t.runs++
	p, err := startPod(ctx, podSpec{cfg: t.cfgs[variant], host: t.env.host(), dir: filepath.Join(t.dir, fmt.Sprintf("m%d", t.runs)), rootfs: t.rfs})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, p.stop()) }()
	qemu := p.machine().Process().Pid()
	pss := func() (float64, error) {
		kib, err := pssKiB(procRoot, qemu)
		return float64(kib) / 1024, err
	}
	if err := sleepCtx(ctx, idleSettle); err != nil {
		return err
	}
	idle, err := pss()
	if err != nil {
		return err
	}
	if _, err := p.run(ctx, fmt.Sprintf("head -c %d /dev/zero > /tmp/fill", balloonFillMiB<<20)); err != nil {
		return err
	}
	filled, err := pss()
	if err != nil {
		return err
	}
	if _, err := p.run(ctx, "rm /tmp/fill"); err != nil {
		return err
	}
	if err := sleepCtx(ctx, balloonWait); err != nil {
		return err
	}
	freed, err := pss()
	if err != nil {
		return err
	}
	rec.Add("QEMU PSS idle", variant, MiB, idle)
	rec.Add(fmt.Sprintf("QEMU PSS, %d MiB filled", balloonFillMiB), variant, MiB, filled)
	rec.Add(fmt.Sprintf("QEMU PSS, %s after the free", balloonWait), variant, MiB, freed)
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
