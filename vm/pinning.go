package vm

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/configs"
)

// maxCPU bounds a cpuset's CPU numbers: sched_setaffinity's mask (CPU_SETSIZE)
// holds 1024 CPUs.
const maxCPU = 1023

// CPUPinning is where BootVM pins QEMU's threads once QMP is connected. The
// zero value pins nothing.
type CPUPinning struct {
	// VCPUs[i] is the host CPU of vCPU i.
	VCPUs []int
	// Others are the CPUs of QEMU's other threads (main loop, I/O threads,
	// workers): the whole cpuset, so they stay off other pods' CPUs without
	// being tied to one.
	Others []int
	// Note says how the plan falls short of one vCPU per CPU, for the
	// caller to log; "" when it does not.
	Note string
}

// Enabled reports whether there is anything to pin.
func (p CPUPinning) Enabled() bool { return len(p.VCPUs) > 0 }

// planPinning maps vCPU i to cpuset[i % len(cpuset)] with
// hypervisor.vcpu_pinning on: 1:1 when the container has a CPU per vCPU,
// round-robin when it has fewer. No cpuset, no pinning: a container in the
// shared pool has no CPUs of its own to pin to.
func planPinning(h configs.Hypervisor, cpuset []int) (CPUPinning, error) {
	if !h.VCPUPinning {
		return CPUPinning{}, nil
	}
	if err := validateCPUSet(cpuset); err != nil {
		return CPUPinning{}, err
	}
	if len(cpuset) == 0 {
		return CPUPinning{Note: "hypervisor.vcpu_pinning: the container has no cpuset: vCPUs are not pinned"}, nil
	}
	p := CPUPinning{VCPUs: make([]int, h.VCPUs), Others: slices.Clone(cpuset)}
	for i := range p.VCPUs {
		p.VCPUs[i] = cpuset[i%len(cpuset)]
	}
	if h.VCPUs > len(cpuset) {
		p.Note = fmt.Sprintf("hypervisor.vcpu_pinning: %d vCPUs on %d CPUs (%s): vCPUs share CPUs round-robin", h.VCPUs, len(cpuset), CPUList(cpuset))
	}
	return p, nil
}

func validateCPUSet(cpuset []int) error {
	seen := map[int]bool{}
	for _, c := range cpuset {
		if c < 0 || c > maxCPU {
			return fmt.Errorf("%w: cpuset %s: CPU %d is outside 0..%d", ErrInvalid, CPUList(cpuset), c, maxCPU)
		}
		if seen[c] {
			return fmt.Errorf("%w: cpuset %s: CPU %d is listed twice", ErrInvalid, CPUList(cpuset), c)
		}
		seen[c] = true
	}
	return nil
}

// CPUList renders CPUs the way the kernel's cpu lists read ("0-2,5"),
// ascending; for errors and notes.
func CPUList(cpus []int) string {
	sorted := slices.Compact(slices.Sorted(slices.Values(cpus)))
	var parts []string
	for i := 0; i < len(sorted); {
		j := i
		for j+1 < len(sorted) && sorted[j+1] == sorted[j]+1 {
			j++
		}
		part := strconv.Itoa(sorted[i])
		if j > i {
			part += "-" + strconv.Itoa(sorted[j])
		}
		parts = append(parts, part)
		i = j + 1
	}
	return strings.Join(parts, ",")
}
