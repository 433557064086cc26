package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vm"
)

// Sandbox is a pod sandbox: one VM and the containers in it.
type Sandbox struct {
	cfg Config
	// vmDir is the VM's directory: in the sandbox's directory, or in the
	// pool's for a sandbox made from a warm VM.
	vmDir    string
	log      *slog.Logger
	observer Observer
	pid      int // the owning process: this one
	rec      *recorder
	lay      *layout
	m        *vm.Machine
	firstID  string // the container the sandbox was created for
	// netnsPath is the pod's network namespace ("" for none), where
	// interfaces added later come from.
	netnsPath string
	net       *Network
	vols      *Volumes
	devs      *devices
	claims    *claims
	hostcg    *hostCgroup  // nil without a linux.cgroupsPath
	seq       atomic.Int64 // numbers hot-plugged devices' ids
	stopOnce  sync.Once
	stopErr   error
	died      chan struct{} // closed when QEMU exited on its own
	timings   Timings
	warnings  []string // set at Create
	// podFns are the functions claimed for the pod (Config.PodDevices),
	// not named by the first container: a later container gets them.
	podFns map[string]bool

	mu         sync.Mutex
	containers map[string]*Container // guarded by mu
	degraded   string                // guarded by mu: why, once a share died
	stopping   bool                  // guarded by mu: Stop has begun
}

// Create creates a sandbox for its first container: it collects what the
// host has, claims the container's PCI functions, plans the VM, records
// what a crash cleanup needs, boots the VM with the pod's network, the
// shared directory, the DAX volumes and the functions, and creates the
// sandbox in the guest (hostname, storages). The container itself is
// created by CreateContainer. A failure undoes everything.
func Create(ctx context.Context, cfg Config, first *spec.Container) (_ *Sandbox, err error) {
	if cfg.Config == nil || cfg.Dir == "" || first == nil {
		return nil, errorf(ErrInvalidArgument, "creating a sandbox needs a configuration, a directory and a first container")
	}
	if cfg.Config, err = podConfig(cfg.Config, first.Annotations); err != nil {
		return nil, fmt.Errorf("creating sandbox %q: %w", cfg.ID, err)
	}
	s := newSandbox(cfg)
	s.firstID, s.netnsPath = first.ID, first.NetnsPath
	var cu cleanup.Stack
	defer func() {
		if err != nil {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopBudget)
			defer cancel()
			err = errors.Join(fmt.Errorf("creating sandbox %q: %w", cfg.ID, err), cu.CleanCtx(uctx))
		}
	}()
	start := time.Now()
	if err := (builder{s}).begin(&cu); err != nil {
		return nil, err
	}
	if err := (builder{s}).boot(ctx, first, &cu, start); err != nil {
		return nil, err
	}
	if err := (builder{s}).createInGuest(ctx, first.Hostname); err != nil {
		return nil, err
	}
	s.timings.Created = time.Since(start)
	w := watcher{s}
	go w.watchVM()
	w.watchShares()
	cu.Release()
	return s, nil
}

// builder makes a sandbox: the steps of Create, BootWarm and Claim.
type builder struct{ s *Sandbox }

// newSandbox is a sandbox not yet begun.
func newSandbox(cfg Config) *Sandbox {
	s := &Sandbox{cfg: cfg, log: cfg.Logger, observer: cfg.Observer, pid: os.Getpid(), vmDir: cfg.vmDir(),
		rec: &recorder{path: cfg.recordPath()}, died: make(chan struct{}),
		containers: map[string]*Container{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.observer == nil {
		s.observer = nopObserver{}
	}
	s.claims = &claims{cfg: cfg, pid: s.pid, rec: s.rec}
	s.net = &Network{sb: s}
	s.vols = &Volumes{sb: s, byName: map[string]*hotVolume{}}
	s.devs = &devices{sb: s}
	return s
}

// begin writes the first crash record: who owns the sandbox, where its VM
// lives.
func (b builder) begin(cu *cleanup.Stack) error {
	s := b.s
	self, err := devicemgr.ProcessOf(devicemgr.DefaultProcRoot, s.pid)
	if err != nil {
		return err
	}
	if err := s.rec.update(func(r *record) {
		r.ID, r.Owner, r.VMDir, r.SysfsRoot = s.cfg.ID, self, s.vmDir, s.cfg.sysfs()
	}); err != nil {
		return err
	}
	cu.Add("remove the crash record", s.rec.remove)
	return nil
}

// boot collects, claims, plans, records and boots.
func (b builder) boot(ctx context.Context, first *spec.Container, cu *cleanup.Stack, start time.Time) error {
	s := b.s
	f, err := collect(s.cfg, first)
	if err != nil {
		return err
	}
	if f.functions, err = s.claims.claim(ctx, first, f.podDevices, nil); err != nil {
		return err
	}
	if len(f.functions) > 0 {
		cu.Add("release the sandbox's PCI functions", func() error { return s.claims.release(context.Background(), first.ID) })
	}
	s.podFns = podFunctions(f.podDevices, first)
	if err := s.checkNUMA(f); err != nil {
		return err
	}
	if err := collectVFs(s.cfg, &f); err != nil {
		return err
	}
	nearCPUs(s.cfg, s.log, &f)
	if s.lay, err = planSandbox(s.cfg, f); err != nil {
		return err
	}
	for _, ep := range s.lay.endpoints {
		ep.Journal = s.rec // each records its pod netns change before making it
	}
	for _, fn := range s.lay.functions {
		fn.Journal = s.rec // and each function its VF settings
	}
	if err := s.placeCgroup(first, cu); err != nil {
		return err
	}
	return b.bootPlanned(ctx, cu, start)
}

// bootPlanned records what the boot of the planned VM will leave outside
// its directory, and boots it.
func (b builder) bootPlanned(ctx context.Context, cu *cleanup.Stack, start time.Time) (err error) {
	s := b.s
	if err := b.recordBoot(); err != nil {
		return err
	}
	t0 := time.Now()
	s.timings.Planned = t0.Sub(start)
	if s.m, err = vm.Boot(ctx, s.lay.vm); err != nil {
		return err
	}
	s.timings.Booted = time.Since(start)
	cu.AddCtx("stop the VM", s.m.Stop)
	t := s.m.Timings()
	s.log.Debug("VM booted", "host_ready", t.HostReady, "qemu_started", t.QEMUStarted, "agent_ready", t.AgentReady,
		"booted", t.Booted, "took", time.Since(t0))
	return s.rec.update(func(r *record) { r.Pids = s.Pids() })
}

// recordBoot records, before the boot, what it will leave outside the VM
// directory: virtiofsd's lock file, the functions' drivers.
func (b builder) recordBoot() error {
	s := b.s
	bindings, err := devicemgr.CurrentBindings(s.cfg.sysfs(), s.lay.bound)
	if err != nil {
		return err
	}
	if err := s.rec.addBindings(s.cfg.sysfs(), bindings); err != nil {
		return err
	}
	if v := s.lay.shared.Share().Virtiofsd(); v != nil {
		return s.rec.update(func(r *record) { r.LockFiles = append(r.LockFiles, v.LockFile) })
	}
	return nil
}

// createInGuest creates the sandbox in the guest: its hostname, and the
// shared directory and DAX volumes mounted.
func (b builder) createInGuest(ctx context.Context, hostname string) error {
	s := b.s
	ctx, done := watcher{s}.watchCreate(ctx)
	defer done()
	storages := []*protocol.Storage{s.lay.shared.Storage()}
	for _, d := range s.lay.dax {
		storages = append(storages, d.Storage())
	}
	err := s.agent().CreateSandbox(ctx, &protocol.CreateSandboxRequest{SandboxId: s.cfg.ID, Hostname: hostname, Storages: storages,
		Sysctls: guestSysctls(s.cfg.Config)})
	if cause := context.Cause(ctx); err != nil && cause != nil && ctx.Err() != nil && !errors.Is(cause, context.DeadlineExceeded) && !errors.Is(cause, context.Canceled) {
		// QEMU or a share server died under the request: say which.
		return fmt.Errorf("creating the sandbox in the guest: %w (%v)", cause, err)
	}
	if err != nil {
		return fmt.Errorf("creating the sandbox in the guest: %w", err)
	}
	return nil
}

// Timings are the stages of Create, from its start: the collect, claim
// and plan steps done (the VM's own timings count from there), the VM
// booted, the sandbox created in the guest.
type Timings struct {
	Planned, Booted, Created time.Duration
}

// Timings is how long creating the sandbox took, by stage.
func (s *Sandbox) Timings() Timings { return s.timings }

// ID is the sandbox's id.
func (s *Sandbox) ID() string { return s.cfg.ID }

// Machine is the sandbox's VM.
func (s *Sandbox) Machine() *vm.Machine { return s.m }

// Pids are QEMU's pid and the share servers' (virtiofsd), for the front
// end's state.
func (s *Sandbox) Pids() []int {
	pids := []int{s.m.Process().Pid()}
	for _, d := range s.shareDaemons() {
		pids = append(pids, d.Pid())
	}
	return pids
}

// shareDaemons are the running virtiofsd of the shared directory and of
// the virtio-fs volumes.
func (s *Sandbox) shareDaemons() []*fsshare.Virtiofsd {
	var out []*fsshare.Virtiofsd
	if d := s.lay.shared.Share().Daemon(); d != nil {
		out = append(out, d)
	}
	return append(out, s.vols.daemons()...)
}

func (s *Sandbox) agent() *client.Client { return s.m.Agent() }

// Stop ends the sandbox: the VM stops (giving every device back to the
// host), the claims are dropped and the crash record goes. Its teardown has
// its own time budget: the caller going away must not leave it half done.
// Stop is idempotent.
func (s *Sandbox) Stop() error {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopping = true
		cs := s.containerList()
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
		defer cancel()
		err := s.m.Stop(ctx)
		for _, c := range cs {
			c.init.stop(UnknownExit, time.Now())
		}
		if dir := s.rec.allocDir(); dir != "" {
			_, rerr := devicemgr.NewAllocator(dir).ReleaseSandbox(ctx, s.cfg.ID)
			err = errors.Join(err, rerr)
		}
		err = errors.Join(err, s.hostcg.remove(ctx))
		slot := s.rec.slotDir()
		s.stopErr = errors.Join(err, s.rec.remove(), removeSlot(slot))
	})
	return s.stopErr
}

// Network is the sandbox's pod network: interfaces carried at boot and
// added later.
func (s *Sandbox) Network() *Network { return s.net }

// Volumes are the volumes hot-plugged into the sandbox.
func (s *Sandbox) Volumes() *Volumes { return s.vols }

// next returns a fresh number for a hot-plugged device's id.
func (s *Sandbox) next() int { return int(s.seq.Add(1)) }

// Died is closed when QEMU exited on its own, not by Stop.
func (s *Sandbox) Died() <-chan struct{} { return s.died }

// Warnings are what Create found wrong but not fatal: PCI functions on a
// NUMA node away from the pod's CPUs (devices.numa_strict refuses them).
func (s *Sandbox) Warnings() []string { return slices.Clone(s.warnings) }

// Degraded says why the sandbox can no longer serve a share, "" while it
// can.
func (s *Sandbox) Degraded() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.degraded
}

// checkDegraded refuses a request on a degraded sandbox.
func (s *Sandbox) checkDegraded(what, verb string) error {
	if reason := s.Degraded(); reason != "" {
		return errorf(ErrFailedPrecondition, "%s cannot %s: %s", what, verb, reason)
	}
	return nil
}

func processEnv(c *spec.Container) []string {
	if c.Process == nil {
		return nil
	}
	return c.Process.Env
}
