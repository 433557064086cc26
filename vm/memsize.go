package vm

import (
	"strings"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
)

// The guest's own memory, measured on Kite's guest (Debian's 6.1 kernel,
// the initramfs with the agent) under TCG by reading /proc/meminfo in the
// guest at -m 256, 512 and 1024 (docs/containerd.md, "Memory overhead").
const (
	// guestReservedMiB is what the kernel keeps out of MemTotal whatever
	// the RAM (its image, boot reservations): 45.8 MiB measured.
	guestReservedMiB = 48
	// guestReservedPerMille is what it keeps in proportion to RAM (struct
	// page and the like): 1.71% measured.
	guestReservedPerMille = 18
	// guestSwiotlbMiB is the bounce buffer the kernel reserves, and zeroes,
	// when guest memory can reach above 4 GiB (memory slots, or RAM beyond
	// the low 2-3 GiB), unless told swiotlb=noforce: 64.75 MiB measured.
	guestSwiotlbMiB = 65
	// guestRunMiB is what the booted guest uses besides a container: the
	// unpacked initramfs (13 MiB, the agent runs from it), slab (18 MiB),
	// the agent: 50-64 MiB measured; and the kernel's free-page reserve.
	guestRunMiB = 72
	// guestSwiotlbBelowMiB: guest RAM above this may reach above 4 GiB
	// (q35 moves RAM beyond 2.75 GiB there; microvm's split is not
	// measured, so take the lower bound).
	guestSwiotlbBelowMiB = 2048
)

// What QEMU itself takes of the host, besides guest RAM, as a memory
// cgroup counts it (measured at -m 512, TCG, tb-size 32: 56 MiB anonymous,
// of which the 32 MiB translation buffer, and 20 MiB of its binary's and
// libraries' pages).
const (
	// qemuOwnMiB is QEMU's heap, device state and mapped binary, with room
	// for I/O buffers.
	qemuOwnMiB = 64
	// qemuDefaultTBMiB is QEMU 7.2's TCG translation buffer when
	// hypervisor.tcg_tb_size_mib is 0.
	qemuDefaultTBMiB = 1024
	// qemuPageTableDivisor: QEMU's page tables for guest RAM take 8 bytes
	// per 4 KiB page, 1 MiB per 512 MiB.
	qemuPageTableDivisor = 512
)

// MemorySizing says how the guest RAM was sized.
type MemorySizing struct {
	// PodMiB is the pod's memory limit the RAM was sized from (rounded up),
	// 0 when hypervisor.memory_mib was taken.
	PodMiB int
	// OverheadMiB is the guest's own share added to it.
	OverheadMiB int
	// Capped: the sum was more than max_memory_mib allows (less the
	// NVDIMMs' room), which was taken instead.
	Capped bool
}

// withPodMemory is cfg with the guest RAM sized from the pod (a copy when
// it changes), and how it was sized.
func withPodMemory(cfg *configs.Config, in Input, cmdline string, needs attach.Needs) (*configs.Config, MemorySizing) {
	nvdimm := needs.NVDIMMBytes
	if cfg.Guest.ImageType == configs.ImageNVDIMM && in.RootImage != nil {
		nvdimm += in.RootImage.Size
	}
	mib, s := sizeMemory(cfg, in, cmdline, int((nvdimm+1<<20-1)>>20))
	if mib == cfg.Hypervisor.MemoryMiB {
		return cfg, s
	}
	c := *cfg
	c.Hypervisor.MemoryMiB = mib
	return &c, s
}

// sizeMemory sizes the guest RAM from in.PodMemoryBytes with
// hypervisor.memory_from_pod: the limit, the guest's overhead (more with
// a forced bounce buffer, which cmdline may turn off) and the guest's huge
// pages, over what the kernel reserves in proportion, rounded up to 2 MiB,
// between the smallest guest and max_memory_mib less nvdimmMiB. Without a
// pod limit it is memory_mib.
func sizeMemory(cfg *configs.Config, in Input, cmdline string, nvdimmMiB int) (int, MemorySizing) {
	h := cfg.Hypervisor
	if !h.MemoryFromPod || in.PodMemoryBytes <= 0 {
		return h.MemoryMiB, MemorySizing{}
	}
	pod := int((in.PodMemoryBytes + 1<<20 - 1) >> 20)
	slotsAbove4G := h.MemorySlots > 0
	noforce := strings.Contains(" "+cmdline+" ", " swiotlb=noforce ")
	size := func(swiotlb bool) int {
		fixed := guestReservedMiB + guestRunMiB + cfg.Devices.GuestHugepagesMiB
		if swiotlb {
			fixed += guestSwiotlbMiB
		}
		n := (pod + fixed) * 1000
		mib := (n + 1000 - guestReservedPerMille - 1) / (1000 - guestReservedPerMille)
		return (mib + configs.HugepageMiB - 1) / configs.HugepageMiB * configs.HugepageMiB
	}
	mib := size(!noforce && slotsAbove4G)
	if !noforce && !slotsAbove4G && mib > guestSwiotlbBelowMiB {
		mib = size(true)
	}
	s := MemorySizing{PodMiB: pod, OverheadMiB: mib - pod}
	mib = max(mib, minGuestMiB)
	if limit := (h.MaxMemoryMiB - nvdimmMiB) / configs.HugepageMiB * configs.HugepageMiB; mib > limit {
		mib, s.Capped = limit, true
	}
	return mib, s
}

// minGuestMiB is configs' least memory_mib: the guest kernel and
// initramfs fit, with nothing to spare.
const minGuestMiB = 64

// HostMemory is the most a VM takes of the host's memory, as a memory
// cgroup counts it, in MiB.
type HostMemory struct {
	// GuestMiB is guest RAM: all of it once touched (the guest never gives
	// freed pages back). 0 with hypervisor.hugepages: huge pages are the
	// hugetlb controller's to count, not the memory controller's.
	GuestMiB int
	// QEMUMiB is QEMU's own memory and its page tables for the guest RAM.
	QEMUMiB int
	// TCGMiB is the TCG translation buffer, filled as the guest runs; 0
	// under KVM.
	TCGMiB int
}

// Total is the sum.
func (h HostMemory) Total() int { return h.GuestMiB + h.QEMUMiB + h.TCGMiB }

// HostMemory is what the planned VM's QEMU takes of the host's memory at
// most; the share servers (virtiofsd) and the process that spawns QEMU are
// the caller's to add.
func (p Plan) HostMemory() HostMemory {
	m := p.QEMU.Memory
	h := HostMemory{GuestMiB: m.SizeMiB, QEMUMiB: qemuOwnMiB + (m.SizeMiB+qemuPageTableDivisor-1)/qemuPageTableDivisor}
	if m.Hugepages != nil {
		h.GuestMiB = 0
	}
	if a := p.QEMU.Accel; a.Type == qemu.AccelTCG {
		h.TCGMiB = a.TBSizeMiB
		if h.TCGMiB == 0 {
			h.TCGMiB = qemuDefaultTBMiB
		}
	}
	return h
}
