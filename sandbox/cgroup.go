package sandbox

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/kite-vm/kite/hostcgroup"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/spec"
)

// hostCgroup is the sandbox's cgroup on the host (linux.cgroupsPath of its
// first container), which its process joined before the VM started: QEMU,
// virtiofsd and every helper run in it.
type hostCgroup struct {
	cg   *hostcgroup.Cgroup
	pid  int // the process that joined it
	need memoryNeed

	mu sync.Mutex
	// containers are the sandbox's containers with their limits, as
	// created and updated, summed into the cgroup's CPU limits.
	containers map[string]*spec.Container // guarded by mu
}

// placeCgroup makes the sandbox's cgroup from the first container's
// cgroupsPath, once the VM is planned and before it boots, and moves this
// process into it: what it spawns from then on starts there. A VM already
// running (a warm one, claimed) has its processes moved in too; what they
// touched before stays counted where they were. It refuses a cgroup under
// a memory limit smaller than the VM needs. The cgroup is recorded before
// it is made; leaving and removing it go on cu. Without a cgroupsPath the
// sandbox stays in the caller's cgroup.
func (s *Sandbox) placeCgroup(first *spec.Container, cu *cleanup.Stack) error {
	if first.CgroupsPath == "" {
		return nil
	}
	if !s.cfg.JoinCgroup {
		return errorf(ErrUnsupported, "linux.cgroupsPath %q: the sandbox's host cgroup is joined by the process that serves it alone (Config.JoinCgroup)", first.CgroupsPath)
	}
	path, err := hostcgroup.ParsePath(first.CgroupsPath)
	if err != nil {
		return fmt.Errorf("linux.cgroupsPath: %w", err)
	}
	layout, err := hostcgroup.ReadLayout()
	if err != nil {
		return err
	}
	hc := &hostCgroup{pid: s.pid, need: needOf(s.lay.vm, plannedVirtiofsds(s.lay)),
		containers: map[string]*spec.Container{first.ID: first}}
	r, err := hc.resources()
	if err != nil {
		return err
	}
	plan, err := hostcgroup.NewPlan(layout, path, r)
	if err != nil {
		return fmt.Errorf("linux.cgroupsPath %q: %w", first.CgroupsPath, err)
	}
	lim, err := hostcgroup.MemoryLimitAbove(plan)
	if err != nil {
		return err
	}
	if err := checkNeed(lim, hc.need, s.lay.vm.QEMU.Memory.SizeMiB); err != nil {
		return err
	}
	if err := hostcgroup.Check(plan); err != nil {
		return err
	}
	if err := s.rec.update(func(r *record) { r.Cgroups = plan.Paths() }); err != nil {
		return err
	}
	cu.AddCtx("remove the host cgroup", func(ctx context.Context) error { return hostcgroup.Remove(ctx, plan.Paths()) })
	if hc.cg, err = hostcgroup.Create(plan); err != nil {
		return err
	}
	if err := hc.cg.Join(hc.pid); err != nil {
		return err
	}
	cu.Add("leave the host cgroup", func() error { return hc.cg.Leave(hc.pid) })
	if s.m != nil {
		for _, pid := range ownedProcesses(s.vmDir, s.Pids()) {
			if err := hc.cg.Join(pid); err != nil {
				return err
			}
		}
	}
	s.hostcg = hc
	s.log.Debug("sandbox placed in its host cgroup", "cgroup", plan.Dirs[0].Cgroup, "layout", layout.Mode(),
		"memory_limit_mib", hc.need.totalMiB(), "need", hc.need.String(), "limit_above_mib", lim.Bytes>>20)
	return nil
}

// collectPodMemory is the memory limit the guest RAM is sized from
// (podMemoryBytes). Under CRI it is the sum kubelet passes for the pod,
// which leaves out containers without a limit: when the pod's cgroup has
// no memory limit (kubelet sets one only if every container has one), the
// sum is not the pod's and is not taken.
func collectPodMemory(first *spec.Container) int64 {
	n := podMemoryBytes(first)
	if n == 0 || !infraContainer(first) || first.CgroupsPath == "" {
		return n
	}
	path, err := hostcgroup.ParsePath(first.CgroupsPath)
	if err != nil {
		return n // placeCgroup says why
	}
	layout, err := hostcgroup.ReadLayout()
	if err != nil {
		return n
	}
	plan, err := hostcgroup.NewPlan(layout, path, hostcgroup.Resources{})
	if err != nil {
		return n
	}
	if lim, err := hostcgroup.MemoryLimitAbove(plan); err == nil && lim.Bytes == 0 {
		return 0
	}
	return n
}

// plannedVirtiofsds counts the virtiofsd the boot starts: the shared
// directory's. (A virtio-fs volume hot-plugged later adds one, which the
// margins of the need take.)
func plannedVirtiofsds(l *layout) int {
	if l.shared.Share().Virtiofsd() != nil {
		return 1
	}
	return 0
}

// resources are the cgroup's limits: the containers' CPU limits summed,
// and the VM's memory need.
func (hc *hostCgroup) resources() (hostcgroup.Resources, error) {
	cs := slices.Collect(maps.Values(hc.containers))
	r, err := podCPU(cs)
	r.MemoryBytes = hc.need.bytes()
	return r, err
}

// set records a container's limits (nil c: it went) and applies the
// sums; a failure leaves the previous limits recorded. Without a host
// cgroup (nil hc) there is nothing to do.
func (hc *hostCgroup) set(id string, c *spec.Container) error {
	if hc == nil {
		return nil
	}
	hc.mu.Lock()
	defer hc.mu.Unlock()
	old, had := hc.containers[id]
	if c == nil {
		delete(hc.containers, id)
	} else {
		hc.containers[id] = c
	}
	r, err := hc.resources()
	if err == nil {
		err = hc.cg.Set(r)
	}
	if err != nil {
		if had {
			hc.containers[id] = old
		} else {
			delete(hc.containers, id)
		}
		return fmt.Errorf("applying the pod's limits to its host cgroup: %w", err)
	}
	return nil
}

// add counts a created container's limits in the host cgroup.
func (hc *hostCgroup) add(c *spec.Container) error { return hc.set(c.ID, c) }

// drop stops counting a removed container's.
func (hc *hostCgroup) drop(id string) error { return hc.set(id, nil) }

// update counts a container's updated limits: r's set fields over what it
// had.
func (hc *hostCgroup) update(id string, r *spec.Resources) error {
	if hc == nil {
		return nil
	}
	hc.mu.Lock()
	c := hc.containers[id]
	hc.mu.Unlock()
	if c == nil {
		return nil
	}
	return hc.set(id, &spec.Container{ID: c.ID, Annotations: c.Annotations, Resources: mergeResources(c.Resources, r)})
}

// mergeResources is r's set fields over base's.
func mergeResources(base, r *spec.Resources) *spec.Resources {
	out := &spec.Resources{}
	if base != nil {
		*out = *base // the pointers are never written through
	}
	if r == nil {
		return out
	}
	out.CPUShares = or(r.CPUShares, out.CPUShares)
	out.CPUQuota = or(r.CPUQuota, out.CPUQuota)
	out.CPUPeriod = or(r.CPUPeriod, out.CPUPeriod)
	out.MemoryLimit = or(r.MemoryLimit, out.MemoryLimit)
	out.PidsLimit = or(r.PidsLimit, out.PidsLimit)
	if r.CPUs != "" {
		out.CPUs = r.CPUs
	}
	if r.Mems != "" {
		out.Mems = r.Mems
	}
	return out
}

func or[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// remove, at Stop, once the VM is gone: this process leaves the cgroup
// and it is removed, with whatever still ran in it killed.
func (hc *hostCgroup) remove(ctx context.Context) error {
	if hc == nil {
		return nil
	}
	err := hc.cg.Leave(hc.pid)
	return errors.Join(err, hostcgroup.Remove(ctx, hc.cg.Paths()))
}

// HostStats are the sandbox's usage as its host cgroup counts it: the VM,
// its share servers and the per-sandbox process, what kubelet sees of the
// pod.
type HostStats struct {
	MemoryUsageBytes, MemoryLimitBytes, MemoryWorkingSetBytes uint64
	CPUUsageNs, CPUUserNs, CPUSystemNs                        uint64
	// Pids counts the host tasks (threads) in the cgroup.
	Pids uint64
}

// HostStats reads the sandbox's host cgroup; a sandbox without one (no
// linux.cgroupsPath) is ErrFailedPrecondition.
func (s *Sandbox) HostStats() (HostStats, error) {
	if s.hostcg == nil {
		return HostStats{}, errorf(ErrFailedPrecondition, "sandbox %q has no host cgroup (its first container has no linux.cgroupsPath)", s.cfg.ID)
	}
	st, err := s.hostcg.cg.Stats()
	if err != nil {
		return HostStats{}, err
	}
	return HostStats(st), nil
}

// removeCgroups is Cleanup's: the recorded cgroups, what runs in them
// killed.
func removeCgroups(ctx context.Context, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	return hostcgroup.Remove(ctx, paths)
}
