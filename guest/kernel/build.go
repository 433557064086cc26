package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// ErrToolchain means a tool the kernel build needs is missing.
var ErrToolchain = errors.New("kernel build tools missing")

// ErrConfig means the merged configuration lost values the fragments asked
// for: a fragment names a symbol whose dependencies it does not enable.
var ErrConfig = errors.New("kernel configuration does not match the fragments")

// Reproducible-build identity of every Kite kernel (uname -v shows it).
const (
	buildTimestamp = "Thu Jan  1 00:00:00 UTC 1970"
	buildUser      = "kite"
	buildHost      = "kite"
)

// Stage names a phase of Build, for progress display.
type Stage string

// Build's stages, in order.
const (
	StageExtract Stage = "extract" // unpacking the source tarball
	StageConfig  Stage = "config"  // merge_config.sh onto allnoconfig, then the check
	StageCompile Stage = "compile" // make vmlinux modules
	StageInstall Stage = "install" // vmlinux (stripped, PVH ELF) and modules into OutDir
)

// Options describe one kernel build.
type Options struct {
	// Source is the linux-source .deb (Path) to build from.
	Source Source
	// Fragments are merged in order onto allnoconfig; normally
	// KiteFragment() and then any of the operator's.
	Fragments []Fragment
	// WorkDir is scratch space for the source tree and the objects (about
	// 2 GiB); it is created and removed by Build.
	WorkDir string
	// OutDir receives the outputs (Result); it must not exist yet.
	OutDir string
	// Log receives the output of every command; required.
	Log *os.File
	// Jobs is make's -j; default: the number of CPUs.
	Jobs int
	// Progress receives stage reports; nil means none.
	Progress func(Stage, string)
}

// Result is what Build leaves in OutDir.
type Result struct {
	Release string // uname -r, e.g. 6.1.192-kite
	// Vmlinux is the uncompressed ELF kernel, symbols stripped as in a
	// bzImage's payload; QEMU boots it through its PVH entry note.
	Vmlinux string
	// Config is the final .config.
	Config string
	// ModulesDir is OutDir/lib/modules/<release>: the .ko files under
	// kernel/, and modules.builtin.
	ModulesDir string
}

// VmlinuxFile, ConfigFile are the names of Build's outputs in OutDir.
const (
	VmlinuxFile = "vmlinux"
	ConfigFile  = "config"
)

// Build builds a kernel: it extracts the source, merges the fragments onto
// allnoconfig with the kernel's scripts/kconfig/merge_config.sh, fails if a
// requested value did not make it into .config, compiles vmlinux and the
// modules, and installs them into OutDir.
func Build(ctx context.Context, o Options) (Result, error) {
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	if o.Progress == nil {
		o.Progress = func(Stage, string) {}
	}
	if o.Log == nil || o.Source.Path == "" || o.WorkDir == "" || o.OutDir == "" || len(o.Fragments) == 0 {
		return Result{}, errors.New("kernel.Build: Source.Path, Fragments, WorkDir, OutDir and Log are required")
	}
	if err := CheckTools(); err != nil {
		return Result{}, err
	}
	if err := os.RemoveAll(o.WorkDir); err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(o.WorkDir)
	b := &build{o: o, src: filepath.Join(o.WorkDir, "src"), obj: filepath.Join(o.WorkDir, "obj")}
	for _, step := range []func(context.Context) error{b.extract, b.configure, b.compile} {
		if err := step(ctx); err != nil {
			return Result{}, err
		}
	}
	return b.install(ctx)
}

// build is one Build's state.
type build struct {
	o        Options
	src, obj string
}

func (b *build) extract(ctx context.Context) error {
	b.o.Progress(StageExtract, fmt.Sprintf("unpacking %s %s", b.o.Source.Package, b.o.Source.Version))
	if err := os.MkdirAll(b.src, 0o755); err != nil {
		return err
	}
	return extractSource(ctx, b.o.Source.Path, b.src, b.o.Log)
}

// configure writes the fragments into the work directory, runs
// merge_config.sh -n (allnoconfig as the base) and checks the result.
func (b *build) configure(ctx context.Context) error {
	b.o.Progress(StageConfig, fmt.Sprintf("merging %s onto allnoconfig (x86_64)", fragmentNames(b.o.Fragments)))
	dir := filepath.Join(b.o.WorkDir, "fragments")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := []string{"-n", "-O", b.obj}
	for i, f := range b.o.Fragments {
		p := filepath.Join(dir, fmt.Sprintf("%02d-%s", i, filepath.Base(f.Name)))
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return err
		}
		args = append(args, p)
	}
	if err := os.MkdirAll(b.obj, 0o755); err != nil {
		return err
	}
	if err := b.run(ctx, "scripts/kconfig/merge_config.sh", args...); err != nil {
		return err
	}
	config, err := os.ReadFile(filepath.Join(b.obj, ".config"))
	if err != nil {
		return fmt.Errorf("reading the merged kernel config: %w", err)
	}
	if bad := Merge(b.o.Fragments...).Check(config); len(bad) > 0 {
		lines := make([]string, len(bad))
		for i, m := range bad {
			lines[i] = "  " + m.String()
		}
		return fmt.Errorf("%w: %d values were dropped (a dependency is off, or the symbol does not exist in %s %s):\n%s",
			ErrConfig, len(bad), b.o.Source.Package, b.o.Source.Version, strings.Join(lines, "\n"))
	}
	return nil
}

func (b *build) compile(ctx context.Context) error {
	b.o.Progress(StageCompile, fmt.Sprintf("make -j%d vmlinux modules (log: %s)", b.o.Jobs, b.o.Log.Name()))
	p := newMakeProgress(b.obj+"/", func(msg string) { b.o.Progress(StageCompile, msg) })
	defer p.stop()
	return b.runTo(ctx, p, "make", b.makeArgs("-j"+strconv.Itoa(b.o.Jobs), "vmlinux", "modules")...)
}

// makeArgs are the variables every make call of the build shares.
func (b *build) makeArgs(extra ...string) []string {
	return append([]string{
		"O=" + b.obj, "ARCH=x86_64",
		"KBUILD_BUILD_TIMESTAMP=" + buildTimestamp, "KBUILD_BUILD_USER=" + buildUser,
		"KBUILD_BUILD_HOST=" + buildHost, "KBUILD_BUILD_VERSION=1",
	}, extra...)
}

func (b *build) install(ctx context.Context) (Result, error) {
	rel, err := os.ReadFile(filepath.Join(b.obj, "include", "config", "kernel.release"))
	if err != nil {
		return Result{}, fmt.Errorf("reading the kernel release: %w", err)
	}
	r := Result{
		Release: strings.TrimSpace(string(rel)),
		Vmlinux: filepath.Join(b.o.OutDir, VmlinuxFile),
		Config:  filepath.Join(b.o.OutDir, ConfigFile),
	}
	r.ModulesDir = filepath.Join(b.o.OutDir, "lib", "modules", r.Release)
	b.o.Progress(StageInstall, "installing vmlinux and modules of "+r.Release)
	if err := os.MkdirAll(r.ModulesDir, 0o755); err != nil {
		return Result{}, err
	}
	// The bzImage's payload is made the same way (arch/x86/boot/compressed).
	if err := b.run(ctx, "objcopy", "-R", ".comment", "-S", filepath.Join(b.obj, "vmlinux"), r.Vmlinux); err != nil {
		return Result{}, err
	}
	if err := copyFile(filepath.Join(b.obj, ".config"), r.Config); err != nil {
		return Result{}, err
	}
	if err := copyFile(filepath.Join(b.obj, "modules.builtin"), filepath.Join(r.ModulesDir, "modules.builtin")); err != nil {
		return Result{}, err
	}
	order, err := os.ReadFile(filepath.Join(b.obj, "modules.order"))
	if err != nil {
		return Result{}, fmt.Errorf("reading modules.order: %w", err)
	}
	for _, line := range strings.Fields(string(order)) {
		ko := strings.TrimSuffix(strings.TrimPrefix(line, "kernel/"), ".o") // 6.1 lists .ko paths; older .o
		if !strings.HasSuffix(ko, ".ko") {
			ko += ".ko"
		}
		if err := copyFile(filepath.Join(b.obj, ko), filepath.Join(r.ModulesDir, "kernel", ko)); err != nil {
			return Result{}, err
		}
	}
	return r, nil
}

// run runs a command in the source tree, its output going to the log.
func (b *build) run(ctx context.Context, name string, args ...string) error {
	return b.runTo(ctx, nil, name, args...)
}

// runTo runs a command in the source tree with its output going to the log
// and, when tee is not nil, to tee as well.
func (b *build) runTo(ctx context.Context, tee *makeProgress, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = b.src
	cmd.Env = append(os.Environ(), "ARCH=x86_64", "LC_ALL=C")
	cmd.Stdout, cmd.Stderr = b.o.Log, b.o.Log
	if tee != nil {
		w := teeWriter{b.o.Log, tee}
		cmd.Stdout, cmd.Stderr = w, w
	}
	fmt.Fprintf(b.o.Log, "\n$ %s %s\n", name, strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w (the end of %s says why)", filepath.Base(name), firstWord(args), err, b.o.Log.Name())
	}
	return nil
}

func firstWord(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

func fragmentNames(frags []Fragment) string {
	names := make([]string, len(frags))
	for i, f := range frags {
		names[i] = f.Name
	}
	return strings.Join(names, " + ")
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}
