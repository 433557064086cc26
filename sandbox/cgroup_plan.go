package sandbox

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/hostcgroup"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vm"
)

// What the sandbox's processes other than QEMU take of the host's memory
// (measured, TCG, idle: docs/containerd.md "Memory overhead").
const (
	// virtiofsdMiB bounds one virtiofsd: 2 MiB resident measured (its
	// parent and sandboxed child), room for its thread pool under load.
	virtiofsdMiB = 16
	// ownProcessMiB bounds the per-sandbox process (the OCI front end's or
	// the shim): 15 MiB resident measured, 3 of them anonymous; room for
	// the Go heap's growth and the stdio relays.
	ownProcessMiB = 48
)

// CRI annotations the host cgroup reads.
const (
	// A container whose container-type is "sandbox" is a CRI pod's
	// infrastructure (pause) container: containerd's and CRI-O's keys.
	annotationContainerdType = "io.kubernetes.cri.container-type"
	annotationCRIOType       = "io.kubernetes.cri-o.ContainerType"
	containerTypeSandbox     = "sandbox"
	// annotationSandboxMemory is the pod's memory limit, the sum of its
	// containers', which containerd (1.7 and later) puts on the sandbox
	// container.
	annotationSandboxMemory = "io.kubernetes.cri.sandbox-memory"
)

// infraContainer reports whether c is a CRI pod's pause container: its
// limits are not the pod's.
func infraContainer(c *spec.Container) bool {
	return c.Annotations[annotationContainerdType] == containerTypeSandbox || c.Annotations[annotationCRIOType] == containerTypeSandbox
}

// podMemoryBytes is the memory limit the guest RAM is sized from: the
// pod's under CRI (containerd's sandbox-memory annotation), else the
// container's; 0 for none, or when a pod annotation sets memory_mib
// itself.
func podMemoryBytes(first *spec.Container) int64 {
	if _, ok := first.Annotations[configs.AnnotationPrefix+"hypervisor.memory_mib"]; ok {
		return 0
	}
	if infraContainer(first) {
		n, err := strconv.ParseInt(first.Annotations[annotationSandboxMemory], 10, 64)
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	if r := first.Resources; r != nil && r.MemoryLimit != nil && *r.MemoryLimit > 0 {
		return *r.MemoryLimit
	}
	return 0
}

// memoryNeed is the most the sandbox's processes take of the host's
// memory: the VM's, its share servers', the per-sandbox process's.
type memoryNeed struct {
	vm.HostMemory
	VirtiofsdMiB, OwnMiB int
	// PodMiB is the pod's limit the guest RAM was sized from, 0 if none.
	PodMiB int
}

func needOf(p vm.Plan, virtiofsds int) memoryNeed {
	return memoryNeed{HostMemory: p.HostMemory(), VirtiofsdMiB: virtiofsds * virtiofsdMiB, OwnMiB: ownProcessMiB,
		PodMiB: p.Memory.PodMiB}
}

func (n memoryNeed) totalMiB() int { return n.Total() + n.VirtiofsdMiB + n.OwnMiB }

func (n memoryNeed) bytes() int64 { return int64(n.totalMiB()) << 20 }

func (n memoryNeed) String() string {
	parts := []string{fmt.Sprintf("guest RAM %d", n.GuestMiB), fmt.Sprintf("QEMU %d", n.QEMUMiB)}
	if n.TCGMiB > 0 {
		parts = append(parts, fmt.Sprintf("TCG translation buffer %d", n.TCGMiB))
	}
	if n.VirtiofsdMiB > 0 {
		parts = append(parts, fmt.Sprintf("virtiofsd %d", n.VirtiofsdMiB))
	}
	parts = append(parts, fmt.Sprintf("the sandbox's own process %d", n.OwnMiB))
	return strings.Join(parts, " + ") + " MiB"
}

// checkNeed refuses a sandbox whose cgroup sits below a memory limit
// smaller than its VM needs: the kernel would kill QEMU once the guest
// touched enough memory, long after create said yes.
func checkNeed(lim hostcgroup.Limit, n memoryNeed, guestMiB int) error {
	if lim.Bytes == 0 || lim.Bytes >= n.bytes() {
		return nil
	}
	have := int(lim.Bytes >> 20)
	fix := fmt.Sprintf("or a smaller guest (hypervisor.memory_mib, now %d MiB: the pod's memory limit was not known to size it from)", guestMiB)
	if n.PodMiB > 0 {
		fix = fmt.Sprintf("with a RuntimeClass overhead.podFixed memory of at least %d MiB (what the VM needs beyond the %d MiB of its containers' limits; see docs/containerd.md)",
			n.totalMiB()-n.PodMiB, n.PodMiB)
	}
	return errorf(ErrFailedPrecondition, "cgroup %s limits memory to %d MiB (%s) but the sandbox's VM needs %d MiB (%s): give the pod %d MiB more, %s",
		lim.Cgroup, have, lim.File, n.totalMiB(), n, n.totalMiB()-have, fix)
}

// podCPU sums the CPU limits of the pod's containers for its host cgroup,
// the VM as a whole: the quotas (at a common period) and the shares, the
// union of the cpusets. A container without a quota or a cpuset makes the
// pod's unlimited; a CRI pause container counts for nothing, and a pod
// with no other container is unlimited.
func podCPU(cs []*spec.Container) (hostcgroup.Resources, error) {
	var work []*spec.Resources
	for _, c := range cs {
		if !infraContainer(c) {
			work = append(work, c.Resources)
		}
	}
	var out hostcgroup.Resources
	if len(work) == 0 {
		return out, nil
	}
	out.CPUQuota, out.CPUPeriod = sumQuota(work)
	for _, r := range work {
		if r != nil && r.CPUShares != nil {
			out.CPUShares += *r.CPUShares
		}
	}
	out.CPUShares = min(out.CPUShares, 262144)
	var err error
	if out.CPUs, err = unionList(work, func(r *spec.Resources) string { return r.CPUs }); err != nil {
		return hostcgroup.Resources{}, errorf(ErrInvalidArgument, "linux.resources.cpu.cpus: %v", err)
	}
	if out.Mems, err = unionList(work, func(r *spec.Resources) string { return r.Mems }); err != nil {
		return hostcgroup.Resources{}, errorf(ErrInvalidArgument, "linux.resources.cpu.mems: %v", err)
	}
	return out, nil
}

// defaultPeriodUs is the kernel's CFS period.
const defaultPeriodUs = 100000

// sumQuota adds the quotas up at the period they share, or the default
// one; 0, 0 when a container has none.
func sumQuota(rs []*spec.Resources) (int64, uint64) {
	period := uint64(0)
	for _, r := range rs {
		if r == nil || r.CPUQuota == nil || *r.CPUQuota <= 0 {
			return 0, 0
		}
		p := uint64(defaultPeriodUs)
		if r.CPUPeriod != nil {
			p = *r.CPUPeriod
		}
		if period == 0 {
			period = p
		} else if period != p {
			period = defaultPeriodUs
		}
	}
	var quota int64
	for _, r := range rs {
		p := int64(defaultPeriodUs)
		if r.CPUPeriod != nil {
			p = int64(*r.CPUPeriod)
		}
		quota += (*r.CPUQuota*int64(period) + p - 1) / p
	}
	return max(quota, 1000), period
}

// unionList is the union of the containers' cpuset lists, "" when one has
// none (the parent's, all of it).
func unionList(rs []*spec.Resources, list func(*spec.Resources) string) (string, error) {
	var all []int
	for _, r := range rs {
		if r == nil || list(r) == "" {
			return "", nil
		}
		ids, err := devicemgr.ParseCPUList(list(r))
		if err != nil {
			return "", err
		}
		all = append(all, ids...)
	}
	slices.Sort(all)
	return formatList(slices.Compact(all)), nil
}

// formatList writes sorted ids in cpuset list syntax, runs as ranges.
func formatList(ids []int) string {
	var parts []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(ids[i]))
		} else {
			parts = append(parts, strconv.Itoa(ids[i])+"-"+strconv.Itoa(ids[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
