package runtime

import (
	"fmt"
	"path/filepath"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
)

// rootPortPrefix names the spare root ports: rp0, rp1, ...
const rootPortPrefix = "rp"

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

// qemuConfig renders the machine, its size and the files in the sandbox
// directory; the kernel command line and the devices are added by plan.
func qemuConfig(cfg *configs.Config, in VMInput, accel qemu.Accel) qemu.Config {
	h := cfg.Hypervisor
	machine := qemu.Machine{Type: qemu.MachineQ35}
	if h.Machine == configs.MachineMicroVM {
		machine.Type = qemu.MachineMicrovm
	} else {
		machine.NativeHotplug = cfg.Hotplug.Method == configs.HotplugNative
	}
	c := qemu.Config{
		Name:      "kite-" + in.ID,
		Binary:    h.Path,
		Machine:   machine,
		Accel:     accel,
		CPU:       qemu.CPU{Model: h.CPUModel, VCPUs: h.VCPUs},
		Memory:    memory(cfg, in),
		Kernel:    qemu.Kernel{Path: cfg.Guest.KernelPath(), Initrd: cfg.Guest.InitrdPath()},
		QMPSocket: filepath.Join(in.Dir, qmpSocketName),
		PidFile:   filepath.Join(in.Dir, pidFileName),
		RootPorts: qemu.RootPortPool(rootPortPrefix, cfg.Hotplug.SpareRootPorts),
	}
	if h.ConsoleLog {
		c.ConsoleLog = filepath.Join(in.Dir, consoleLogName)
	}
	return c
}

func memory(cfg *configs.Config, in VMInput) qemu.Memory {
	h := cfg.Hypervisor
	m := qemu.Memory{
		SizeMiB: h.MemoryMiB,
		// Shared (memfd) RAM whenever the driver is virtio-fs, even without
		// shares at boot: virtiofsd maps guest RAM, and a share hot-plugged
		// later cannot turn shared memory on in a running VM. Huge pages
		// are shared too: they are for DPDK's vhost-user backends.
		Shared:    cfg.SharedFS.Driver == configs.FSVirtioFS || h.Hugepages,
		Hugepages: planHugepages(h, in.Host.Hugepages, in.numaNode()),
	}
	// Memory slots need room above the RAM (maxmem); a pod that takes all of
	// max_memory_mib leaves none, so it gets no slots rather than a QEMU error.
	if h.MemorySlots > 0 && h.MaxMemoryMiB > h.MemoryMiB {
		m.Slots, m.MaxMiB = h.MemorySlots, h.MaxMemoryMiB
	}
	return m
}
