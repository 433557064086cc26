package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/guest"
)

// kernels breaks a pod's boot down, with each guest kernel there is an
// image of (the configuration's guest and those given with --guest): the
// guest kernel up to /init (its log), the agent's loading of the image's
// modules (its own log line), the rest of the agent's start until it
// answers, and the container's creation in the booted guest. Pods are made
// by the engine, as in the boot benchmark.
type kernels struct{}

func (kernels) Name() string     { return "kernels" }
func (kernels) Title() string    { return "Guest boot breakdown by guest kernel" }
func (kernels) Baseline() string { return kernelVariant(guest.KernelDebian) }

func kernelVariant(k guest.KernelSource) string { return string(k) + " kernel" }

// kernelImage is a guest image and the kernel in it.
type kernelImage struct {
	source  guest.KernelSource
	dir     string
	release string
	cfg     *configs.Config
}

type kernelsTrial struct {
	env    Env
	dir    string
	rfs    string
	images []kernelImage
	notes  []string
	runs   int
}

func (kernels) Setup(ctx context.Context, env Env) (Trial, error) {
	if err := firstErr(requireRoot(), requireGuest(env.Config), requireVirtiofsd(env.Config)); err != nil {
		return nil, err
	}
	images, notes := guestImages(env)
	if len(images) == 0 {
		return nil, skip("no guest image: %s", notes)
	}
	dir, err := os.MkdirTemp(env.WorkDir, "ker")
	if err != nil {
		return nil, err
	}
	t := &kernelsTrial{env: env, dir: dir, rfs: filepath.Join(dir, "rootfs"), images: images, notes: notes}
	if err := makeRootfs(ctx, t.rfs); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return t, nil
}

// guestImages finds one image per guest kernel among the configuration's
// guest directory and env.GuestDirs, and says which kernel has none and
// how to make one.
func guestImages(env Env) ([]kernelImage, []string) {
	var images []kernelImage
	var notes []string
	seen := map[guest.KernelSource]bool{}
	for _, dir := range append([]string{env.Config.Guest.Dir}, env.GuestDirs...) {
		m, err := guest.LoadManifest(dir)
		if err != nil {
			notes = append(notes, fmt.Sprintf("guest %s: %v", dir, err))
			continue
		}
		src := m.Kernel.From()
		if seen[src] {
			notes = append(notes, fmt.Sprintf("guest %s: a second %s, not run", dir, kernelVariant(src)))
			continue
		}
		seen[src] = true
		cfg := benchConfig(env.Config).Clone()
		cfg.Guest.Dir, cfg.Guest.Kernel, cfg.Guest.Initrd = dir, guest.KernelFile, guest.InitrdFile
		cfg.Guest.ImageType = configs.ImageInitramfs
		if m.Layout() == guest.FormatNVDIMM {
			cfg.Guest.ImageType, cfg.Guest.Image = configs.ImageNVDIMM, guest.RootImageFile
		}
		// The agent logs how long its module loading took at debug level.
		cfg.Agent.LogLevel = configs.LogDebug
		cfg.SharedFS.Driver = configs.FSVirtioFS
		images = append(images, kernelImage{source: src, dir: dir, release: m.Kernel.Release, cfg: cfg})
		notes = append(notes, fmt.Sprintf("%s: %s (guest %s, %d modules to load)", kernelVariant(src), m.Kernel.Release, dir, len(m.Modules)))
	}
	for _, k := range []guest.KernelSource{guest.KernelDebian, guest.KernelKite} {
		if !seen[k] {
			notes = append(notes, fmt.Sprintf("%s: not run: no guest image with it (kite guest build --kernel %s --out DIR, then kite bench --guest DIR)", kernelVariant(k), k))
		}
	}
	return images, notes
}

func (t *kernelsTrial) Notes() []string {
	return append([]string{"pods made by the engine, root file system over virtio-fs; " +
		"kernel to /init: the guest kernel's own clock; module loading: the agent's; " +
		"agent start: the rest until the agent answered, since QEMU answered QMP (QEMU loading the kernel included); " +
		"container create + start: in the booted guest"}, t.notes...)
}

func (t *kernelsTrial) Close(context.Context) error { return os.RemoveAll(t.dir) }

func (t *kernelsTrial) Repeat(ctx context.Context, rec *Recorder) error {
	for _, img := range rotate(t.images, rec.Repeat) {
		if err := t.boot(ctx, rec, img); err != nil {
			return fmt.Errorf("%s: %w", kernelVariant(img.source), err)
		}
	}
	return nil
}

// boot makes a pod with img's kernel and reads where its boot went.
func (t *kernelsTrial) boot(ctx context.Context, rec *Recorder, img kernelImage) (err error) {
	t.runs++
	start := time.Now()
	p, err := startPod(ctx, podSpec{cfg: img.cfg, host: t.env.host(), dir: filepath.Join(t.dir, fmt.Sprintf("k%d", t.runs)), rootfs: t.rfs})
	if err != nil {
		return err
	}
	total := time.Since(start)
	defer func() { err = errors.Join(err, p.stop()) }()
	dmesg, err := p.run(ctx, "dmesg")
	if err != nil {
		return err
	}
	toInit, err := parseInitTime(dmesg)
	if err != nil {
		return err
	}
	console, err := os.ReadFile(p.machine().Plan().QEMU.ConsoleLog)
	if err != nil {
		return fmt.Errorf("reading the guest console: %w", err)
	}
	modules, err := parseModuleLoading(string(console))
	if err != nil {
		return err
	}
	tm := p.machine().Timings()
	ready := tm.AgentReady - tm.QEMUStarted
	v := kernelVariant(img.source)
	rec.Add("kernel to /init", v, Millis, ms(toInit))
	rec.Add("module loading", v, Millis, ms(modules))
	rec.Add("agent start", v, Millis, ms(ready-toInit-modules))
	rec.Add("agent ready", v, Millis, ms(ready))
	rec.Add("container create + start", v, Millis, ms(p.containerStarted))
	rec.Add("pod create + start", v, Millis, ms(total))
	return nil
}
