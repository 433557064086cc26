package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kite-vm/kite/guest"
)

func runGuest(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "build":
			return runGuestBuild(ctx, e, args[1:])
		case "run":
			return runGuestRun(ctx, e, args[1:])
		}
	}
	return fmt.Errorf("%w: want 'kite guest build [--out DIR]' or 'kite guest run --rootfs DIR -- CMD'", errUsage)
}

func runGuestBuild(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "guest build", "")
	out := fs.String("out", "", "output directory (default: guest.dir of the configuration)")
	cache := fs.String("cache", "", "kernel download cache (default: OUT/cache)")
	agent := fs.String("agent", "", "static kite-agent binary (default: kite-agent next to this kite)")
	busybox := fs.String("busybox", guest.DefaultBusybox, "static busybox to include")
	modules := fs.String("modules", "", "extra kernel modules, comma-separated (dependencies are added)")
	baseline := fs.Bool("baseline", false, "build the busybox-only baseline image (no agent), for boot benchmarks")
	kernel := fs.String("kernel", "", `guest kernel: "kite" (built from Debian's linux-source with Kite's config; cached) or "debian" (Debian's linux-image-amd64) (default: guest.kernel_source of the configuration)`)
	var kernelConfig stringList
	fs.Var(&kernelConfig, "kernel-config", "config fragment merged after Kite's own (--kernel kite; repeatable), e.g. with CONFIG_XFS_FS=m for --modules xfs")
	jobs := fs.Int("jobs", 0, "parallel jobs of the Kite kernel's build (default: the number of CPUs)")
	format := fs.String("format", string(guest.FormatInitramfs),
		"image layout: initramfs (the whole guest in the initramfs) or nvdimm (a DAX root image, "+guest.RootImageFile+", and a small initramfs that mounts it; for guest.image_type = \"nvdimm\")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	opts := guest.BuildOptions{
		OutDir:       *out,
		CacheDir:     *cache,
		BusyboxPath:  *busybox,
		Format:       guest.Format(*format),
		Kernel:       guest.KernelSource(*kernel),
		KernelConfig: kernelConfig,
		Jobs:         *jobs,
		Progress:     progressPrinter(e),
	}
	if opts.OutDir == "" {
		opts.OutDir = cfg.Guest.Dir
	}
	if opts.Kernel == "" {
		opts.Kernel = guest.KernelSource(cfg.Guest.KernelSource)
	}
	if len(opts.KernelConfig) == 0 && cfg.Guest.KernelConfig != "" && opts.Kernel == guest.KernelKite {
		opts.KernelConfig = []string{cfg.Guest.KernelConfig}
	}
	opts.ExtraModules = append(opts.ExtraModules, cfg.Guest.ExtraModules...)
	if *modules != "" {
		opts.ExtraModules = append(opts.ExtraModules, strings.Split(*modules, ",")...)
	}
	if *baseline {
		opts.Init = guest.InitBusybox
	} else if opts.AgentPath, err = agentPath(*agent); err != nil {
		return err
	}
	start := time.Now()
	m, err := guest.Build(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.io.Out, "guest image in %s (%s): kernel %s (%s), %d modules, initramfs %.1f MiB",
		opts.OutDir, time.Since(start).Round(10*time.Millisecond), m.Kernel.Release, m.Kernel.From(), len(m.Modules),
		float64(m.Initramfs.Size)/(1<<20))
	if m.RootImage != nil {
		fmt.Fprintf(e.io.Out, ", NVDIMM root image %s %.1f MiB", guest.RootImageFile, float64(m.RootImage.Size)/(1<<20))
	}
	fmt.Fprintln(e.io.Out)
	return nil
}

// agentPath resolves the agent binary: the flag, else kite-agent beside the
// running kite binary.
func agentPath(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding kite-agent: %w; pass --agent", err)
	}
	p := filepath.Join(filepath.Dir(self), "kite-agent")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no kite-agent beside %s: build it (make build) or pass --agent PATH", self)
	}
	return p, nil
}

// progressPrinter shows each build step with the time since the start.
func progressPrinter(e *env) guest.Progress {
	start := time.Now()
	return guest.ProgressFunc(func(ev guest.Event) {
		fmt.Fprintf(e.io.Err, "[%5.1fs] %-9s %s\n", time.Since(start).Seconds(), ev.Step, ev.Message)
	})
}
