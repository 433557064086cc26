package sandbox

import (
	"log/slog"

	"github.com/kite-vm/kite/devicemgr"
)

// checkNUMA compares the NUMA nodes of the sandbox's functions with its
// CPUs' (the pod's exclusive CPUs, else the first container's cpuset): a
// function on another node is a warning, in the log and in Warnings, or a
// refusal with devices.numa_strict.
func (s *Sandbox) checkNUMA(f facts) error {
	cpus := f.podCPUs
	if len(cpus) == 0 {
		cpus = f.cpuset
	}
	ms, err := devicemgr.CheckNUMA(s.cfg.sysfs(), f.functions, cpus)
	if err != nil {
		s.log.Warn("checking the NUMA nodes of the PCI functions", "err", err)
		return nil
	}
	for _, m := range ms {
		if s.cfg.Config.Devices.NUMAStrict {
			return errorf(ErrFailedPrecondition, "%s (devices.numa_strict)", m)
		}
		s.log.Warn("NUMA mismatch", "bdf", m.BDF, "node", m.Node, "cpu_nodes", m.CPUNodes, "source", m.Source)
		s.warnings = append(s.warnings, m.String())
	}
	return nil
}

// nearCPUs orders the cpuset vCPUs are pinned from (vcpu_pinning) with the
// CPUs on the NUMA node of the sandbox's functions first, so that its
// vCPUs run next to its devices when the cpuset spans nodes, as its guest
// RAM is bound to that node with hugepages.
func nearCPUs(sc Config, log *slog.Logger, f *facts) {
	node := numaNode(f.functions)
	if node == nil || len(f.cpuset) < 2 || !sc.Config.Hypervisor.VCPUPinning {
		return
	}
	cpus, err := devicemgr.NearFirst(sc.sysfs(), f.cpuset, *node)
	if err != nil {
		log.Warn("ordering the cpuset by NUMA node", "err", err)
		return
	}
	f.cpuset = cpus
}
