package vm

import (
	"fmt"
	"path/filepath"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
)

// planAccel resolves hypervisor.accel against what the host offers.
func planAccel(h configs.Hypervisor, host Host) (qemu.Accel, error) {
	var t qemu.AccelType
	switch h.Accel {
	case configs.AccelTCG:
		t = qemu.AccelTCG
	case configs.AccelKVM:
		if host.Accel != qemu.AccelKVM {
			return qemu.Accel{}, fmt.Errorf("%w: hypervisor.accel is \"kvm\" but /dev/kvm cannot run the guest here (use \"auto\" or \"tcg\")", ErrHost)
		}
		t = qemu.AccelKVM
	default:
		if host.Accel != qemu.AccelKVM && host.Accel != qemu.AccelTCG {
			return qemu.Accel{}, fmt.Errorf("%w: Host.Accel %q: want kvm or tcg (see DetectHost)", ErrInvalid, host.Accel)
		}
		t = host.Accel
	}
	if t == qemu.AccelKVM {
		return qemu.Accel{Type: t}, nil
	}
	return qemu.Accel{Type: t, TBSizeMiB: h.TCGTBSizeMiB}, nil
}

// qemuConfig renders the machine, its size, its root ports and the files
// in the VM directory; the kernel command line and the devices are added
// by plan.
func qemuConfig(cfg *configs.Config, in Input, accel qemu.Accel, mem qemu.Memory) qemu.Config {
	h := cfg.Hypervisor
	machine := qemu.Machine{Type: qemu.MachineQ35}
	if h.Machine == configs.MachineMicroVM {
		machine.Type = qemu.MachineMicrovm
	} else {
		machine.NativeHotplug = cfg.Hotplug.Method == configs.HotplugNative
		machine.IOMMU = h.EnableIOMMU
	}
	c := qemu.Config{
		Name:      "kite-" + in.ID,
		Binary:    h.Path,
		Machine:   machine,
		Accel:     accel,
		CPU:       qemu.CPU{Model: h.CPUModel, VCPUs: h.VCPUs},
		Memory:    mem,
		Kernel:    qemu.Kernel{Path: cfg.Guest.KernelPath(), Initrd: cfg.Guest.InitrdPath()},
		QMPSocket: filepath.Join(in.Dir, qmpSocketName),
		PidFile:   filepath.Join(in.Dir, pidFileName),
		RootPorts: append([]qemu.RootPort(nil), in.RootPorts...),
		Seccomp:   h.Seccomp,
	}
	if in.Host.VFIO {
		// Functions hot-plugged later pin guest RAM too: a capability
		// cannot be added once QEMU runs.
		c.Caps = append(c.Caps, qemu.VFIOCaps...)
	}
	if h.ConsoleLog {
		c.ConsoleLog = filepath.Join(in.Dir, consoleLogName)
		c.ConsoleLogMax = int64(h.ConsoleLogKiB) << 10
	}
	return c
}

// balloonID is the QEMU id of the balloon device.
const balloonID = "balloon"

// planBalloon is hypervisor.free_page_reporting's virtio-balloon, on the
// root bus: it is there from boot to the end, so it takes no hot-plug root
// port.
func planBalloon(h configs.Hypervisor) []qemu.Device {
	if !h.FreePageReporting {
		return nil
	}
	return []qemu.Device{qemu.Balloon{ID: balloonID, FreePageReporting: true, DeflateOnOOM: true}}
}

// memory sizes the guest RAM and its backing. It is shared (memfd) whenever
// the file-sharing driver is virtio-fs, even without a share at boot:
// virtiofsd maps guest RAM, and a share hot-plugged later cannot turn
// shared memory on in a running VM; and whenever a cold-plugged device's
// backend maps it (vhost-user). Huge pages are shared too: they are for
// DPDK's vhost-user backends. NVDIMMs (the guest root image, DAX volumes)
// each take a memory slot and room up to maxmem.
func memory(cfg *configs.Config, in Input, needs attach.Needs, rootBytes int64) (qemu.Memory, error) {
	h := cfg.Hypervisor
	m := qemu.Memory{
		SizeMiB:   h.MemoryMiB,
		Shared:    cfg.SharedFS.Driver == configs.FSVirtioFS || h.Hugepages || needs.SharedMemory,
		Hugepages: planHugepages(h, in.Host.Hugepages, in.numaNode()),
	}
	// Memory slots need room above the RAM (maxmem); a pod that takes all of
	// max_memory_mib leaves none, so it gets no slots rather than a QEMU error.
	if h.MemorySlots > 0 && h.MaxMemoryMiB > h.MemoryMiB {
		m.Slots, m.MaxMiB = h.MemorySlots, h.MaxMemoryMiB
	}
	if needs.NVDIMMBytes == 0 {
		return m, nil
	}
	nvdimms := 0
	for _, a := range in.Attachments {
		if a.Needs().NVDIMMBytes > 0 {
			nvdimms++
		}
	}
	first := 0
	if rootBytes > 0 {
		first = 1
	}
	if h.MemorySlots < first+nvdimms || h.MaxMemoryMiB <= h.MemoryMiB {
		return qemu.Memory{}, fmt.Errorf("%w: %d DAX volumes need as many hypervisor.memory_slots (have %d, %d taken) and max_memory_mib above memory_mib",
			ErrInvalid, nvdimms, h.MemorySlots, first)
	}
	total := rootBytes + needs.NVDIMMBytes
	if need := h.MemoryMiB + int((total+(1<<20)-1)>>20); h.MaxMemoryMiB < need {
		return qemu.Memory{}, fmt.Errorf("%w: hypervisor.max_memory_mib %d: the DAX volumes need at least %d with memory_mib %d",
			ErrInvalid, h.MaxMemoryMiB, need, h.MemoryMiB)
	}
	return m, nil
}

// ResolveAccel is the accelerator the VM will run with: hypervisor.accel
// against what the host offers. Subsystems that plan devices whose form
// depends on it (vhost-user NICs under TCG) ask here.
func ResolveAccel(cfg *configs.Config, host Host) (qemu.Accel, error) {
	return planAccel(cfg.Hypervisor, host)
}
