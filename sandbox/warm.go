package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/spec"
)

// ErrNoFit: a warm VM cannot carry the pod; the front end boots one for it.
var ErrNoFit = errors.New("the warm VM cannot carry this pod")

// Warm is a VM booted ahead of any pod, for a pool: its agent answers, its
// shared directory is served (empty), spare root ports wait for the pod's
// NICs and volumes, and nothing of a pod is in it. Claim makes it a pod's
// sandbox, in the process that booted it (its VM processes are tethered
// to that process).
type Warm struct {
	s    *Sandbox
	died chan struct{} // closed when QEMU or a share server died unclaimed

	mu      sync.Mutex
	claimed bool // guarded by mu
	stopped bool // guarded by mu
}

// BootWarm boots a warm VM in cfg.Dir (the pool slot's directory), with
// cfg.ID its name, planned as a sandbox with no pod: no network, no
// devices, no DAX volumes, and pool.root_ports more spare root ports. A
// failure undoes everything.
func BootWarm(ctx context.Context, cfg Config) (_ *Warm, err error) {
	if cfg.Config == nil || cfg.Dir == "" || cfg.ID == "" {
		return nil, errorf(ErrInvalidArgument, "booting a warm VM needs a configuration, a directory and an id")
	}
	cfg.Config = warmConfig(cfg.Config)
	s := newSandbox(cfg)
	var cu cleanup.Stack
	defer func() {
		if err != nil {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopBudget)
			defer cancel()
			err = errors.Join(fmt.Errorf("booting warm VM %q: %w", cfg.ID, err), cu.CleanCtx(uctx))
		}
	}()
	start := time.Now()
	if err := (builder{s}).begin(&cu); err != nil {
		return nil, err
	}
	f, err := collectHost(cfg)
	if err != nil {
		return nil, err
	}
	if s.lay, err = planSandbox(cfg, f); err != nil {
		return nil, err
	}
	if err := (builder{s}).bootPlanned(ctx, &cu, start); err != nil {
		return nil, err
	}
	w := &Warm{s: s, died: make(chan struct{})}
	go w.watch()
	cu.Release()
	return w, nil
}

// warmConfig is the configuration a warm VM boots with: the pool's root
// ports added to the spares.
func warmConfig(c *configs.Config) *configs.Config {
	out := c.Clone()
	out.Hotplug.SpareRootPorts = min(out.Hotplug.SpareRootPorts+out.Pool.RootPorts, 32)
	return out
}

// watch closes died when QEMU or a share server dies before a claim.
func (w *Warm) watch() {
	cases := []<-chan struct{}{w.s.m.Process().Done()}
	for _, d := range w.s.shareDaemons() {
		cases = append(cases, d.Done())
	}
	done := make(chan struct{})
	for _, c := range cases {
		go func() {
			select {
			case <-c:
				w.mu.Lock()
				claimed := w.claimed
				w.mu.Unlock()
				if !claimed {
					select {
					case <-done:
					default:
						close(done)
					}
				}
			case <-done:
			}
		}()
	}
	<-done
	close(w.died)
}

// Died is closed when the warm VM died before it was claimed: it must be
// stopped and replaced, never handed out.
func (w *Warm) Died() <-chan struct{} { return w.died }

// Pids are the warm VM's QEMU and virtiofsd.
func (w *Warm) Pids() []int { return w.s.Pids() }

// Timings are how long the boot took.
func (w *Warm) Timings() Timings { return w.s.timings }

// Memory is the guest RAM of the warm VM, in MiB.
func (w *Warm) Memory() int { return w.s.cfg.Config.Hypervisor.MemoryMiB }

// Stop stops an unclaimed warm VM and removes its record: the pool drains
// it. It is idempotent; a claimed VM is its sandbox's to stop.
func (w *Warm) Stop() error {
	w.mu.Lock()
	if w.claimed || w.stopped {
		w.mu.Unlock()
		return nil
	}
	w.stopped = true
	w.mu.Unlock()
	return w.s.Stop()
}

// Claim makes the warm VM the sandbox of a pod, as Create would have made
// one: cfg and first are what Create takes (cfg.Dir the pod's directory,
// where the crash record moves; the VM stays in the slot's). The pod's
// network endpoints are hot-plugged into the spare root ports, and the
// sandbox is created in the guest. A pod the VM cannot carry is ErrNoFit,
// with the reason, and leaves the warm VM as it was for another claim. A
// claim that fails after that undoes what it did and stops the VM, which
// is then not to be handed out again.
func (w *Warm) Claim(ctx context.Context, cfg Config, first *spec.Container) (_ *Sandbox, err error) {
	if cfg.Config == nil || cfg.Dir == "" || first == nil {
		return nil, errorf(ErrInvalidArgument, "claiming a warm VM needs a configuration, a directory and a first container")
	}
	if cfg.Config, err = podConfig(cfg.Config, first.Annotations); err != nil {
		return nil, fmt.Errorf("creating sandbox %q: %w", cfg.ID, err)
	}
	start := time.Now()
	f, err := collect(cfg, first)
	if err != nil {
		return nil, fmt.Errorf("creating sandbox %q: %w", cfg.ID, err)
	}
	if err := w.fits(cfg, f, first); err != nil {
		return nil, err
	}
	w.mu.Lock()
	if w.claimed || w.stopped {
		w.mu.Unlock()
		return nil, errorf(ErrFailedPrecondition, "warm VM %q was claimed or stopped already", w.s.cfg.ID)
	}
	select {
	case <-w.died:
		w.mu.Unlock()
		return nil, errorf(ErrUnavailable, "warm VM %q died", w.s.cfg.ID)
	default:
	}
	w.claimed = true
	w.mu.Unlock()
	s := w.s
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("creating sandbox %q from warm VM %q: %w", cfg.ID, w.s.cfg.ID, err), s.Stop())
		}
	}()
	if err := (builder{s}).adopt(cfg, first); err != nil {
		return nil, err
	}
	var cu cleanup.Stack
	defer func() {
		if err != nil {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopBudget)
			defer cancel()
			err = errors.Join(err, cu.CleanCtx(uctx))
		}
	}()
	if err := s.placeCgroup(first, &cu); err != nil {
		return nil, err
	}
	if err := (builder{s}).plugNetwork(ctx, f, &cu); err != nil {
		return nil, err
	}
	if err := (builder{s}).createInGuest(ctx, first.Hostname); err != nil {
		return nil, err
	}
	s.timings = Timings{Planned: s.timings.Planned, Booted: 0, Created: time.Since(start)}
	ws := watcher{s}
	go ws.watchVM()
	ws.watchShares()
	cu.Release()
	s.log.Info("sandbox created from a warm VM", "warm", w.s.cfg.ID, "took", time.Since(start))
	return s, nil
}

// fits says whether the warm VM can carry the pod: nothing that must be
// on the command line (PCI functions, VF netdevs, DAX volumes), and the
// same VM as a cold boot of the pod would give, but for at most as many
// vCPUs and as much memory.
func (w *Warm) fits(cfg Config, f facts, first *spec.Container) error {
	var why []string
	if len(f.physical) > 0 {
		why = append(why, "its network has VF netdevs, which are passed through at boot")
	}
	if len(f.dax) > 0 {
		why = append(why, "it has DAX volumes, mapped at boot")
	}
	if wantsFunctions(first) {
		why = append(why, "it claims PCI functions, plugged at boot")
	}
	if needsSharedMemory(cfg, f) && !w.s.lay.vm.QEMU.Memory.Shared {
		why = append(why, "its vhost-user NICs map the guest RAM, which the warm VM does not share (a template's clone never does)")
	}
	if len(why) > 0 {
		return fmt.Errorf("%w: %s", ErrNoFit, strings.Join(why, "; "))
	}
	have := w.s.cfg.Config.Hypervisor
	want := warmConfig(cfg.Config)
	wantMiB := want.Hypervisor.MemoryMiB
	if f.podMemory > 0 { // sized from the pod: what a cold boot would give it
		sized := w.s.cfg
		sized.Config = want
		if l, err := planSandbox(sized, f); err == nil {
			wantMiB = l.vm.QEMU.Memory.SizeMiB
		}
	}
	if want.Hypervisor.VCPUs > have.VCPUs || wantMiB > have.MemoryMiB {
		return fmt.Errorf("%w: it needs %d vCPUs and %d MiB, the warm VM has %d and %d",
			ErrNoFit, want.Hypervisor.VCPUs, wantMiB, have.VCPUs, have.MemoryMiB)
	}
	want.Hypervisor.VCPUs, want.Hypervisor.MemoryMiB = have.VCPUs, have.MemoryMiB
	// The pod's network knobs shape only the NICs plugged at claim.
	want.Network = w.s.cfg.Config.Network
	same := w.s.cfg
	same.Config = want
	f.netns, f.physical, f.functions, f.dax, f.podMemory = nil, nil, nil, nil, 0
	l, err := planSandbox(same, f)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoFit, err)
	}
	if d := planDiff(w.s.lay, l); d != "" {
		return fmt.Errorf("%w: its VM would differ (%s)", ErrNoFit, d)
	}
	return nil
}

// wantsFunctions reports whether the container asks for PCI functions:
// the SR-IOV device plugin's PCIDEVICE_* or VFIO device nodes.
func wantsFunctions(c *spec.Container) bool {
	for _, kv := range processEnv(c) {
		if strings.HasPrefix(kv, "PCIDEVICE_") {
			return true
		}
	}
	for _, d := range c.Devices {
		if strings.HasPrefix(d.GuestPath, "/dev/vfio/") || strings.HasPrefix(d.ContainerPath, "/dev/vfio/") {
			return true
		}
	}
	return false
}

// needsSharedMemory reports whether the pod's network has endpoints whose
// backend maps the guest RAM (vhost-user NICs).
func needsSharedMemory(cfg Config, f facts) bool {
	if f.netns == nil {
		return false
	}
	l, err := netmodels.Plan(netmodels.ConfigFrom(cfg.Config, false), f.netns)
	if err != nil {
		return false // the claim plans the network again, and says why
	}
	for _, ep := range l.Endpoints {
		if ep.Needs().SharedMemory {
			return true
		}
	}
	return false
}

// planDiff names the first difference between two plans of a VM: its
// command line, virtiofsd's, the agent's transport, the pinning.
func planDiff(a, b *layout) string {
	ca, erra := a.vm.Preview()
	cb, errb := b.vm.Preview()
	if erra != nil || errb != nil {
		return fmt.Sprintf("no command line: %v %v", erra, errb)
	}
	if i := firstDiff(ca.Args, cb.Args); i >= 0 {
		return "QEMU argument " + at(ca.Args, i) + " against " + at(cb.Args, i)
	}
	va, vb := a.shared.Share().Virtiofsd(), b.shared.Share().Virtiofsd()
	if (va == nil) != (vb == nil) {
		return "shared directory driver"
	}
	if va != nil {
		if i := firstDiff(va.Args, vb.Args); i >= 0 {
			return "virtiofsd argument " + at(va.Args, i) + " against " + at(vb.Args, i)
		}
	}
	if a.vm.Agent != b.vm.Agent {
		return "agent transport or timeouts"
	}
	if fmt.Sprint(a.vm.Pinning) != fmt.Sprint(b.vm.Pinning) {
		return "vCPU pinning"
	}
	return ""
}

func firstDiff(a, b []string) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}

func at(s []string, i int) string {
	if i < len(s) {
		return fmt.Sprintf("%q", s[i])
	}
	return "(none)"
}

// adopt makes a warm sandbox the pod's: its id, directory, observer and
// logger, its crash record moved to the pod's directory (written there
// before the slot's goes).
func (b builder) adopt(cfg Config, first *spec.Container) error {
	s := b.s
	slot, have := s.cfg.Dir, s.cfg.Config.Hypervisor
	s.cfg.ID, s.cfg.Dir, s.cfg.Root, s.cfg.Config = cfg.ID, cfg.Dir, cfg.Root, cfg.Config.Clone()
	s.cfg.Config = s.cfg.shaped(s.cfg.Config) // a clone's VM is a template's
	s.cfg.JoinCgroup = cfg.JoinCgroup
	// The VM is the warm one: its vCPUs and memory, at least the pod's.
	s.cfg.Config.Hypervisor.VCPUs, s.cfg.Config.Hypervisor.MemoryMiB = have.VCPUs, have.MemoryMiB
	if cfg.Observer != nil {
		s.observer = cfg.Observer
	}
	if cfg.Logger != nil {
		s.log = cfg.Logger
	}
	s.firstID, s.netnsPath = first.ID, first.NetnsPath
	s.claims = &claims{cfg: s.cfg, pid: s.pid, rec: s.rec}
	return s.rec.move(cfg.recordPath(), func(r *record) { r.ID, r.SlotDir = cfg.ID, slot })
}

// plugNetwork carries the pod's network into a VM booted without it: each
// interface's endpoint on a spare root port, attached as Network.Add
// attaches one, but counted among the interfaces of the boot.
func (b builder) plugNetwork(ctx context.Context, f facts, cu *cleanup.Stack) error {
	s := b.s
	if f.netns == nil {
		return nil
	}
	s.lay.net = netmodels.ConfigFrom(s.cfg.Config, s.lay.net.NoMSIX)
	nl, err := netmodels.Plan(s.lay.net, f.netns)
	if err != nil {
		return err
	}
	for _, ep := range nl.Endpoints {
		port, err := s.lay.topo.Take(ep.ID)
		if err != nil {
			return errorf(ErrInvalidArgument, "interface %q: %v (pool.root_ports)", ep.Link.Name, err)
		}
		ep.Bus, ep.Journal = port.ID, s.rec
		if _, err := s.m.Attach(ctx, ep); err != nil {
			s.lay.topo.Release(port)
			return fmt.Errorf("plugging interface %q: %w", ep.Link.Name, err)
		}
		cu.AddCtx("unplug interface "+ep.Link.Name, func(ctx context.Context) error { return s.m.Detach(ctx, ep.ID) })
		s.lay.endpoints = append(s.lay.endpoints, ep)
	}
	return nil
}

// Check says whether the warm VM can carry the pod of first, as Claim
// decides, without claiming it: nil, or ErrNoFit with the reason.
func (w *Warm) Check(cfg Config, first *spec.Container) error {
	if cfg.Config == nil || first == nil {
		return errorf(ErrInvalidArgument, "checking a warm VM needs a configuration and a first container")
	}
	c, err := podConfig(cfg.Config, first.Annotations)
	if err != nil {
		return err
	}
	cfg.Config = c
	f, err := collect(cfg, first)
	if err != nil {
		return err
	}
	return w.fits(cfg, f, first)
}

// CreateFunc makes a pod's sandbox: Create, or a warm VM's Creator.
type CreateFunc func(ctx context.Context, cfg Config, first *spec.Container) (*Sandbox, error)

// Creator is a CreateFunc for the process that took a claim for this warm
// VM: its first call claims the VM, or, if the pod turned out not to fit
// after all, stops it and creates the sandbox cold; later calls create
// cold.
func (w *Warm) Creator() CreateFunc {
	var once sync.Once
	return func(ctx context.Context, cfg Config, first *spec.Container) (*Sandbox, error) {
		var sb *Sandbox
		var err error
		claimed := false
		once.Do(func() {
			claimed = true
			sb, err = w.Claim(ctx, cfg, first)
			if errors.Is(err, ErrNoFit) {
				cfg.logger().Info("the warm VM cannot carry the pod: booting one", "reason", err)
				if serr := w.Stop(); serr != nil {
					cfg.logger().Warn("stopping the warm VM", "err", serr)
				}
				sb, err = Create(ctx, cfg, first)
			}
		})
		if !claimed {
			return Create(ctx, cfg, first)
		}
		return sb, err
	}
}
