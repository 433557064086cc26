package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kite-vm/kite/internal/logging"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vm"
)

// runGuestRun boots a VM from the configured guest image, shares a rootfs
// directory into it and runs one command in a container there, through the
// engine: a smoke test of a guest image, and the timing half of the `make
// run` demo.
func runGuestRun(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "guest run", "--rootfs DIR [--timings] -- COMMAND [ARG...]")
	rootfs := fs.String("rootfs", "", "host directory to use as the container's root file system (required)")
	timings := fs.Bool("timings", false, "print a timing breakdown on stderr")
	hostname := fs.String("hostname", "kite", "the container's hostname")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *rootfs == "" || fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: need --rootfs and a command", errUsage)
	}
	abs, err := filepath.Abs(*rootfs)
	if err != nil {
		return err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return fmt.Errorf("--rootfs %s: not a directory (%v)", abs, err)
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	root, err := e.stateRoot(cfg)
	if err != nil {
		return err
	}
	id := "guest-run-" + strconv.Itoa(os.Getpid())
	dir := filepath.Join(root, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	defer os.Remove(dir)
	log := logging.From(ctx).With(logging.KeySandbox, id)
	start := time.Now()
	ctr := guestRunContainer(abs, *hostname, fs.Args())
	sb, err := sandbox.Create(ctx, sandbox.Config{ID: id, Dir: dir, Config: cfg, Root: root, Logger: log}, ctr)
	if err != nil {
		return err
	}
	defer func() {
		if err := sb.Stop(); err != nil {
			log.Error("stopping the VM", "err", err)
		}
	}()
	code, ct, err := runInGuest(ctx, e, sb, ctr)
	if err != nil {
		return err
	}
	vt := sb.Machine().Timings()
	if err := sb.Stop(); err != nil {
		return err
	}
	if *timings {
		printTimings(e.io.Err, vt, ct, time.Since(start))
	}
	if code != 0 {
		return exitCodeError{code: code}
	}
	return nil
}

// guestRunContainer is the container `guest run` runs: the command in the
// rootfs with a minimal environment and the usual pseudo file systems.
func guestRunContainer(rootfs, hostname string, argv []string) *spec.Container {
	return &spec.Container{
		ID: "demo", Hostname: hostname,
		Rootfs: spec.Rootfs{HostPath: rootfs},
		Process: &spec.Process{Args: argv, Cwd: "/",
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + hostname}},
		Mounts: []spec.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"ro", "nosuid", "nodev", "noexec"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev"}},
		},
		Namespaces: spec.Namespaces{PID: spec.NamespaceNew, UTS: spec.NamespaceNew, IPC: spec.NamespaceNew, Cgroup: spec.NamespaceNew},
	}
}

// containerTimes are the moments of the container's life after boot.
type containerTimes struct{ created, started, exited time.Duration }

func runInGuest(ctx context.Context, e *env, sb *sandbox.Sandbox, ctr *spec.Container) (int, containerTimes, error) {
	var ct containerTimes
	t0 := time.Now()
	c, err := sb.CreateContainer(ctx, ctr, sandbox.IO{Stdout: e.io.Out, Stderr: e.io.Err})
	if err != nil {
		return 0, ct, err
	}
	ct.created = time.Since(t0)
	if err := c.Start(ctx); err != nil {
		return 0, ct, err
	}
	ct.started = time.Since(t0)
	ex, err := c.Init().Wait(ctx)
	if err != nil {
		return 0, ct, fmt.Errorf("waiting for the container: %w", err)
	}
	ct.exited = time.Since(t0)
	if ex.Code == sandbox.UnknownExit && sb.Machine().Process().ExitErr() != nil {
		return 0, ct, errors.New("the VM exited before the container did")
	}
	return ex.Code, ct, nil
}

func printTimings(w io.Writer, vt vm.Timings, ct containerTimes, total time.Duration) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%7.0f ms", float64(d.Microseconds())/1000) }
	boot := vt.Booted
	fmt.Fprintf(w, "\ntiming (since the command started booting the VM):\n")
	fmt.Fprintf(w, "  host side ready       %s\n", ms(vt.HostReady))
	fmt.Fprintf(w, "  QEMU started          %s\n", ms(vt.QEMUStarted))
	fmt.Fprintf(w, "  kernel + agent ready  %s   (boot: %s)\n", ms(vt.AgentReady), ms(vt.AgentReady-vt.QEMUStarted))
	fmt.Fprintf(w, "  container created     %s\n", ms(boot+ct.created))
	fmt.Fprintf(w, "  container started     %s\n", ms(boot+ct.started))
	fmt.Fprintf(w, "  container exited      %s\n", ms(boot+ct.exited))
	fmt.Fprintf(w, "  VM stopped, total     %s\n", ms(total))
}
