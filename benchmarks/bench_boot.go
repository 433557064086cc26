package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/runtime"
)

// boot measures where a sandbox's boot time goes, through the runtime
// (PlanVM + BootVM) and, as the baseline, the same plan's virtiofsd and QEMU
// command line started directly with the agent dialled by hand: the
// difference is what the runtime's own steps cost.
type boot struct{}

const bareVariant = "bare qemu + agent"

func (boot) Name() string     { return "boot" }
func (boot) Title() string    { return "Boot breakdown, since the start of the boot" }
func (boot) Baseline() string { return bareVariant }

type bootTrial struct {
	env  Env
	cfg  *configs.Config
	dir  string // work directory, removed by Close
	rfs  string // the busybox root file system
	runs int    // sandboxes booted so far: names them
}

func (boot) Setup(ctx context.Context, env Env) (Trial, error) {
	if err := firstErr(requireRoot(), requireGuest(env.Config), requireVirtiofsd(env.Config)); err != nil {
		return nil, err
	}
	cfg := benchConfig(env.Config)
	cfg.SharedFS.Driver = configs.FSVirtioFS
	dir, err := os.MkdirTemp(env.WorkDir, "boot")
	if err != nil {
		return nil, err
	}
	t := &bootTrial{env: env, cfg: cfg, dir: dir, rfs: filepath.Join(dir, "rootfs")}
	if err := makeRootfs(ctx, t.rfs); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return t, nil
}

func (t *bootTrial) Notes() []string {
	return []string{fmt.Sprintf("%d MiB guest, %d vCPU, root file system over virtio-fs", t.cfg.Hypervisor.MemoryMiB, t.cfg.Hypervisor.VCPUs)}
}

func (t *bootTrial) Close(context.Context) error { return os.RemoveAll(t.dir) }

func (t *bootTrial) Repeat(ctx context.Context, rec *Recorder) error {
	steps := []func(context.Context, *Recorder) error{t.kite, t.bare}
	if rec.Repeat%2 != 0 {
		steps[0], steps[1] = steps[1], steps[0]
	}
	for _, step := range steps {
		if err := step(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}

func (t *bootTrial) plan() (runtime.VMPlan, error) {
	t.runs++
	id := fmt.Sprintf("b%d", t.runs)
	return planPod(t.cfg, t.env.Host, t.dir, id, t.runs, []runtime.Share{{Tag: rootfsStorageID, HostPath: t.rfs}})
}

// kite boots through the runtime and starts a container.
func (t *bootTrial) kite(ctx context.Context, rec *Recorder) (err error) {
	plan, err := t.plan()
	if err != nil {
		return err
	}
	start := time.Now()
	vm, err := runtime.BootVM(ctx, plan)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stopVM(ctx, vm)) }()
	if _, err := startPodSleeper(ctx, vm.Agent, plan); err != nil {
		return err
	}
	started := time.Since(start)
	tm := vm.Timings
	rec.Add("virtiofsd ready", "kite", Millis, ms(tm.VirtiofsdReady))
	rec.Add("QEMU started", "kite", Millis, ms(tm.QEMUStarted))
	rec.Add("agent ready", "kite", Millis, ms(tm.AgentReady))
	rec.Add("container started", "kite", Millis, ms(started))
	return nil
}

// bare runs the same plan by hand: virtiofsd, QEMU, agent, container.
func (t *bootTrial) bare(ctx context.Context, rec *Recorder) (err error) {
	plan, err := t.plan()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(plan.Dir, 0o700); err != nil {
		return err
	}
	var b bareVM
	defer func() { err = errors.Join(err, b.stop(ctx), os.RemoveAll(plan.Dir)) }()
	start := time.Now()
	if err := b.startVirtiofsd(ctx, plan); err != nil {
		return err
	}
	fsReady := time.Since(start)
	var ln *client.SerialListener
	if plan.Agent.Transport == client.TransportSerial {
		// QEMU connects to the agent socket: it must listen first.
		if ln, err = client.ListenSerial(plan.Agent.SocketPath); err != nil {
			return err
		}
		defer ln.Close()
	}
	if err := b.startQEMU(ctx, plan); err != nil {
		return err
	}
	qemuUp := time.Since(start)
	if err := b.dialAgent(ctx, plan, ln); err != nil {
		return err
	}
	ready := time.Since(start)
	if _, err := startPodSleeper(ctx, b.agent, plan); err != nil {
		return err
	}
	started := time.Since(start)
	rec.Add("virtiofsd ready", bareVariant, Millis, ms(fsReady))
	rec.Add("QEMU started", bareVariant, Millis, ms(qemuUp))
	rec.Add("agent ready", bareVariant, Millis, ms(ready))
	rec.Add("container started", bareVariant, Millis, ms(started))
	return nil
}

// bareVM is a VM started without the runtime.
type bareVM struct {
	fsd   []*runtime.Virtiofsd
	proc  *qemu.Process
	agent *client.Client
}

func (b *bareVM) startVirtiofsd(ctx context.Context, plan runtime.VMPlan) error {
	for _, vp := range plan.Virtiofsd {
		v, err := runtime.StartVirtiofsd(ctx, vp)
		if err != nil {
			return err
		}
		b.fsd = append(b.fsd, v)
	}
	return nil
}

func (b *bareVM) startQEMU(ctx context.Context, plan runtime.VMPlan) error {
	cl, err := plan.QEMU.Build()
	if err != nil {
		return err
	}
	b.proc, err = qemu.Start(ctx, cl, qemu.StartOptions{LogPath: plan.QEMULog})
	return err
}

func (b *bareVM) dialAgent(ctx context.Context, plan runtime.VMPlan, ln *client.SerialListener) error {
	a := plan.Agent
	wctx, cancel := context.WithTimeout(ctx, a.DialTimeout)
	defer cancel()
	var conn net.Conn
	var err error
	var opts []client.Option
	if a.Transport == client.TransportVsock {
		conn, err = client.DialVsock(wctx, a.GuestCID, a.VsockPort)
	} else {
		conn, err = ln.Accept(wctx)
		// One long attempt: a Check sent early waits in QEMU (boot_agent.go).
		opts = append(opts, client.WithReadyBackoff(a.DialTimeout, a.DialTimeout))
	}
	if err != nil {
		return fmt.Errorf("connecting to the agent: %w", err)
	}
	b.agent = client.New(conn, opts...)
	if _, err := b.agent.WaitReady(wctx); err != nil {
		return fmt.Errorf("waiting for the agent: %w", err)
	}
	return nil
}

// stop kills QEMU and virtiofsd by pid, with a budget of its own.
func (b *bareVM) stop(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), vmStopBudget)
	defer cancel()
	var errs []error
	if b.agent != nil {
		b.agent.Close()
	}
	if b.proc != nil {
		t := 2 * time.Second
		if _, err := b.proc.Stop(sctx, nil, qemu.StopTimeouts{Term: t, Kill: 10 * time.Second}); err != nil {
			errs = append(errs, fmt.Errorf("stopping QEMU %d: %w", b.proc.Pid(), err))
		}
	}
	for _, v := range b.fsd {
		errs = append(errs, v.Stop(sctx, 2*time.Second))
	}
	return errors.Join(errs...)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
