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
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm"
	"github.com/kite-vm/kite/vm/attach"
)

// boot measures where a sandbox's boot time goes, through Kite's engine
// (sandbox.Create, then the container created and started) and, as the
// baseline, a VM of the same shape planned by vm.PlanMachine whose
// virtiofsd and QEMU command line are started directly, with the agent
// dialled by hand and the same container: the difference is what Kite's
// own steps cost.
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
	return []string{fmt.Sprintf("%d MiB guest, %d vCPU, root file system over virtio-fs", t.cfg.Hypervisor.MemoryMiB, t.cfg.Hypervisor.VCPUs),
		"kite: virtiofsd ready, QEMU started and agent ready as the VM reports them, since vm.Boot began; container started since sandbox.Create was called"}
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

// next names the next sandbox's directory.
func (t *bootTrial) next() string {
	t.runs++
	return filepath.Join(t.dir, fmt.Sprintf("b%d", t.runs))
}

// kite boots a pod through the engine and starts its container.
func (t *bootTrial) kite(ctx context.Context, rec *Recorder) (err error) {
	ps := podSpec{cfg: t.cfg, host: t.env.host(), dir: t.next(), rootfs: t.rfs}
	start := time.Now()
	p, err := startPod(ctx, ps)
	if err != nil {
		return err
	}
	started := time.Since(start)
	defer func() { err = errors.Join(err, p.stop()) }()
	tm := p.machine().Timings()
	rec.Add("virtiofsd ready", "kite", Millis, ms(tm.HostReady))
	rec.Add("QEMU started", "kite", Millis, ms(tm.QEMUStarted))
	rec.Add("agent ready", "kite", Millis, ms(tm.AgentReady))
	rec.Add("container started", "kite", Millis, ms(started))
	return nil
}

// bare runs a VM of the same shape by hand: its plan's virtiofsd and QEMU
// command line (the attachments' devices previewed), the agent, the
// container.
func (t *bootTrial) bare(ctx context.Context, rec *Recorder) (err error) {
	dir := t.next()
	root, err := rootShare(t.cfg, dir, t.rfs)
	if err != nil {
		return err
	}
	plan, err := planVM(t.cfg, t.env.host(), dir, t.runs, nil, root)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(plan.Dir, 0o700); err != nil {
		return err
	}
	b := bareVM{plan: plan}
	defer func() { err = errors.Join(err, b.stop(ctx), os.RemoveAll(plan.Dir)) }()
	if err := b.prepare(ctx); err != nil {
		return err
	}
	start := time.Now()
	if err := b.startVirtiofsd(ctx); err != nil {
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
	if err := b.startQEMU(ctx); err != nil {
		return err
	}
	qemuUp := time.Since(start)
	if err := b.dialAgent(ctx, ln); err != nil {
		return err
	}
	ready := time.Since(start)
	if err := createSandbox(ctx, b.agent, plan.ID, []*protocol.Storage{root.Storage(rootfsStorageID, "")}); err != nil {
		return err
	}
	if _, err := startSleeper(ctx, b.agent, nil); err != nil {
		return err
	}
	started := time.Since(start)
	rec.Add("virtiofsd ready", bareVariant, Millis, ms(fsReady))
	rec.Add("QEMU started", bareVariant, Millis, ms(qemuUp))
	rec.Add("agent ready", bareVariant, Millis, ms(ready))
	rec.Add("container started", bareVariant, Millis, ms(started))
	return nil
}

// bareVM is a VM started from a plan without vm.Boot.
type bareVM struct {
	plan    vm.Plan
	devices []qemu.Device            // the attachments' devices, previewed
	fsd     []*fsshare.VirtiofsdPlan // the shares' virtiofsd, to start
	running []*fsshare.Virtiofsd     // started
	host    cleanup.Stack            // the other attachments' host side
	proc    *qemu.Process
	agent   *client.Client
}

// prepare previews every attachment's device and, untimed, does the host
// side of those that are not shares (the reserved 9p backends' directories,
// which QEMU opens): a share's is its virtiofsd, which is started by hand.
func (b *bareVM) prepare(ctx context.Context) error {
	for _, a := range b.plan.Attachments {
		pv, ok := a.(attach.Previewer)
		if !ok {
			return fmt.Errorf("attachment %q has no device before it is attached", a.Name())
		}
		b.devices = append(b.devices, pv.Preview())
		if s, ok := a.(*fsshare.Share); ok {
			if v := s.Virtiofsd(); v != nil {
				b.fsd = append(b.fsd, v)
			}
			continue
		}
		if _, err := a.Attach(ctx, &b.host); err != nil {
			return err
		}
	}
	return nil
}

func (b *bareVM) startVirtiofsd(ctx context.Context) error {
	for _, vp := range b.fsd {
		v, err := fsshare.StartVirtiofsd(ctx, *vp)
		if err != nil {
			return err
		}
		b.running = append(b.running, v)
	}
	return nil
}

func (b *bareVM) startQEMU(ctx context.Context) error {
	cfg := b.plan.QEMU
	cfg.Devices = append(append([]qemu.Device(nil), cfg.Devices...), b.devices...)
	cl, err := cfg.Build()
	if err != nil {
		return err
	}
	b.proc, err = qemu.Start(ctx, cl, qemu.StartOptions{LogPath: b.plan.QEMULog})
	return err
}

func (b *bareVM) dialAgent(ctx context.Context, ln *client.SerialListener) error {
	a := b.plan.Agent
	wctx, cancel := context.WithTimeout(ctx, a.DialTimeout)
	defer cancel()
	var conn net.Conn
	var err error
	var opts []client.Option
	if a.Transport == client.TransportVsock {
		conn, err = client.DialVsock(wctx, a.GuestCID, a.VsockPort)
	} else {
		conn, err = ln.Accept(wctx)
		// One long attempt: a Check sent early waits in QEMU (vm/boot_agent.go).
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

// stop kills QEMU and virtiofsd by pid, with a budget of its own, and
// undoes the other attachments' host side.
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
	for _, v := range b.running {
		errs = append(errs, v.Stop(sctx, 2*time.Second))
	}
	return errors.Join(append(errs, b.host.CleanCtx(sctx))...)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
