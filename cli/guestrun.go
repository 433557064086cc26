package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/internal/logging"
	"github.com/kite-vm/kite/runtime"
)

// runGuestRun boots a VM from the configured guest image, shares a rootfs
// directory into it and runs one command in a container there: a smoke test
// of a guest image, and the engine of the `make run` demo until the OCI
// runtime commands land.
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
	cfg, err := e.config()
	if err != nil {
		return err
	}
	id := "guest-run-" + strconv.Itoa(os.Getpid())
	plan, err := runtime.PlanVM(cfg, runtime.VMInput{
		ID: id, Dir: filepath.Join(e.globals.root, id), Host: runtime.DetectHost(""),
		Shares: []runtime.Share{{Tag: "rootfs", HostPath: abs}},
	})
	if err != nil {
		return err
	}
	log := logging.From(ctx).With(logging.KeySandbox, id)
	start := time.Now()
	vm, err := runtime.BootVM(ctx, plan)
	if err != nil {
		return err
	}
	stop := func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := vm.Stop(stopCtx); err != nil {
			log.Error("stopping the VM", "err", err)
		}
	}
	defer stop() // idempotent: covers the error paths
	code, ct, err := runInGuest(ctx, e, vm, plan, *hostname, fs.Args())
	if err != nil {
		return err
	}
	stop()
	if *timings {
		printTimings(e.io.Err, vm.Timings, ct, time.Since(start))
	}
	if code != 0 {
		return exitCodeError{code: code}
	}
	return nil
}

// containerTimes are the moments of the container's life after boot.
type containerTimes struct{ created, started, exited time.Duration }

func runInGuest(ctx context.Context, e *env, vm *runtime.VM, plan runtime.VMPlan, hostname string, argv []string) (int, containerTimes, error) {
	var ct containerTimes
	t0 := time.Now()
	a := vm.Agent
	if err := a.CreateSandbox(ctx, &protocol.CreateSandboxRequest{
		SandboxId: plan.ID, Hostname: hostname,
		Storages: []*protocol.Storage{plan.Mounts[0].Storage("rootfs", "")},
	}); err != nil {
		return 0, ct, fmt.Errorf("creating the sandbox in the guest: %w", err)
	}
	const cid = "demo"
	_, err := a.CreateContainer(ctx, &protocol.CreateContainerRequest{
		ContainerId: cid, ExecId: cid, Hostname: hostname,
		Rootfs: &protocol.Rootfs{StorageId: "rootfs"},
		Process: &protocol.Process{
			Args: argv, Cwd: "/", User: &protocol.User{},
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + hostname},
		},
		Mounts: []*protocol.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"ro", "nosuid", "nodev", "noexec"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev"}},
		},
	})
	if err != nil {
		return 0, ct, fmt.Errorf("creating the container: %w", err)
	}
	ct.created = time.Since(t0)
	if err := a.StartContainer(ctx, cid); err != nil {
		return 0, ct, fmt.Errorf("starting the container: %w", err)
	}
	ct.started = time.Since(t0)
	ref := client.ProcessRef{ContainerID: cid, ExecID: cid}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []struct {
		read func(context.Context, client.ProcessRef, int) ([]byte, error)
		w    io.Writer
	}{{a.ReadStdout, e.io.Out}, {a.ReadStderr, e.io.Err}} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = copyStream(ctx, s.read, ref, s.w) }()
	}
	st, err := a.WaitProcess(ctx, ref)
	if err != nil {
		return 0, ct, fmt.Errorf("waiting for the container: %w", err)
	}
	ct.exited = time.Since(t0)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, ct, fmt.Errorf("reading the container's output: %w", err)
	}
	return st.Code, ct, nil
}

func copyStream(ctx context.Context, read func(context.Context, client.ProcessRef, int) ([]byte, error), ref client.ProcessRef, w io.Writer) error {
	for {
		b, err := read(ctx, ref, 64<<10)
		if len(b) > 0 {
			if _, werr := w.Write(b); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func printTimings(w io.Writer, vt runtime.Timings, ct containerTimes, total time.Duration) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%7.0f ms", float64(d.Microseconds())/1000) }
	boot := vt.Booted
	fmt.Fprintf(w, "\ntiming (since the command started booting the VM):\n")
	fmt.Fprintf(w, "  virtiofsd ready       %s\n", ms(vt.VirtiofsdReady))
	fmt.Fprintf(w, "  QEMU started          %s\n", ms(vt.QEMUStarted))
	fmt.Fprintf(w, "  kernel + agent ready  %s   (boot: %s)\n", ms(vt.AgentReady), ms(vt.AgentReady-vt.QEMUStarted))
	fmt.Fprintf(w, "  container created     %s\n", ms(boot+ct.created))
	fmt.Fprintf(w, "  container started     %s\n", ms(boot+ct.started))
	fmt.Fprintf(w, "  container exited      %s\n", ms(boot+ct.exited))
	fmt.Fprintf(w, "  VM stopped, total     %s\n", ms(total))
}
