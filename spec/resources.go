package spec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// resources converts the cgroup limits the guest applies. Zero means
// "not set", as runc reads it; a negative memory or pids limit means
// unlimited. The other knobs are listed as ignored: they tune the host's
// scheduling and accounting, while inside the VM the guest's size is the
// real limit.
func (c resourceConverter) resources(r *specs.LinuxResources) *Resources {
	if r == nil {
		return nil
	}
	out := &Resources{}
	if cpu := r.CPU; cpu != nil {
		out.CPUShares = nonZero(cpu.Shares)
		out.CPUQuota = nonZero(cpu.Quota)
		out.CPUPeriod = nonZero(cpu.Period)
		out.CPUs, out.Mems = cpu.Cpus, cpu.Mems
		c.ignoreCPU(cpu)
	}
	if mem := r.Memory; mem != nil {
		out.MemoryLimit = limit(mem.Limit)
		c.ignoreMemory(mem)
	}
	if r.Pids != nil {
		out.PidsLimit = limit(r.Pids.Limit)
	}
	out.Devices = c.deviceRules(r.Devices)
	c.ignoreResources(r)
	if out.empty() {
		return nil
	}
	return out
}

func nonZero[T uint64 | int64](p *T) *T {
	if p == nil || *p == 0 {
		return nil
	}
	v := *p
	return &v
}

// limit maps a memory or pids limit: unset for zero, -1 for unlimited.
func limit(p *int64) *int64 {
	if p == nil || *p == 0 {
		return nil
	}
	v := max(*p, -1)
	return &v
}

// field is a spec field and whether the spec sets it.
type field struct {
	name string
	set  bool
}

// ignoreFields lists the fields that are set under prefix as ignored.
func ignoreFields(c *findings, prefix, why string, fs []field) {
	for _, f := range fs {
		if f.set {
			c.ignore(prefix+f.name, why)
		}
	}
}

func (c resourceConverter) ignoreCPU(cpu *specs.LinuxCPU) {
	ignoreFields(c.findings, "linux.resources.cpu.", "not applied in the guest yet", []field{
		{"burst", cpu.Burst != nil}, {"realtimeRuntime", cpu.RealtimeRuntime != nil},
		{"realtimePeriod", cpu.RealtimePeriod != nil}, {"idle", cpu.Idle != nil},
	})
}

func (c resourceConverter) ignoreMemory(mem *specs.LinuxMemory) {
	//lint:ignore SA1019 older tools still write it, and it must be listed as ignored
	kernel := mem.Kernel != nil
	ignoreFields(c.findings, "linux.resources.memory.", "the guest has no swap; only the memory limit is applied", []field{
		{"reservation", mem.Reservation != nil}, {"swap", mem.Swap != nil}, {"kernel", kernel},
		{"kernelTCP", mem.KernelTCP != nil}, {"swappiness", mem.Swappiness != nil},
		{"disableOOMKiller", mem.DisableOOMKiller != nil}, {"useHierarchy", mem.UseHierarchy != nil},
		{"checkBeforeUpdate", mem.CheckBeforeUpdate != nil},
	})
}

func (c resourceConverter) ignoreResources(r *specs.LinuxResources) {
	ignoreFields(c.findings, "linux.resources.", "not applied in the guest yet", []field{
		{"blockIO", r.BlockIO != nil}, {"hugepageLimits", len(r.HugepageLimits) > 0},
		{"network", r.Network != nil}, {"rdma", len(r.Rdma) > 0}, {"unified", len(r.Unified) > 0},
	})
}
