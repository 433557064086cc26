package qemu

import "strconv"

// MachineType is the QEMU machine model.
type MachineType string

// Machine types Kite supports.
const (
	// MachineQ35 is the default: ACPI PCI hotplug, NVDIMM.
	MachineQ35 MachineType = "q35"
	// MachineMicrovm boots faster (about 2.0 s vs 2.2 s under TCG) and is
	// rendered as microvm,pcie=on,acpi=on so virtio-pci devices and root
	// ports work. Caveats: under TCG the guest kernel needs
	// tsc_early_khz=<host TSC kHz> on its command line or it can hang
	// calibrating the TSC; its PCIe hotplug is native only, so the guest
	// needs pcie_ports=native; it has no NVDIMM support.
	MachineMicrovm MachineType = "microvm"
)

// Machine selects the machine model and its hotplug flavour.
type Machine struct {
	Type MachineType
	// NativeHotplug (q35 only) turns off ACPI PCI hotplug so root ports use
	// native PCIe hotplug (pciehp). Measured: ACPI adds a device in 22-53 ms
	// and removes it in 7-45 ms; native takes 160-190 ms and ~5 s to unplug
	// (the attention-button delay). Prefer ACPI.
	NativeHotplug bool
	// IOMMU (q35 only) gives the guest an emulated Intel VT-d, so that it
	// can bind devices to its own vfio-pci (DPDK in a container). See
	// iommuArgs.
	IOMMU bool
}

// Validate checks the machine alone.
func (m Machine) Validate() error {
	switch m.Type {
	case MachineQ35:
	case MachineMicrovm:
		if m.NativeHotplug {
			return invalid("", "", "Machine.NativeHotplug", "is a q35 option: microvm only has native hotplug")
		}
		if m.IOMMU {
			return invalid("", "", "Machine.IOMMU", "is a q35 option: QEMU's intel-iommu needs the q35 chipset")
		}
	default:
		return invalid("", "", "Machine.Type", "%q is not q35 or microvm", m.Type)
	}
	return nil
}

// args renders -machine (and the hotplug global, and the IOMMU); nvdimm
// turns NVDIMM support on, which q35 needs before any nvdimm device; kvm
// says the accelerator, whose in-kernel irqchip the IOMMU must split.
func (m Machine) args(nvdimm, kvm bool) []string {
	if m.Type == MachineMicrovm {
		return []string{"-machine", opts("microvm", Bool("pcie", true), Bool("acpi", true))}
	}
	var props []Prop
	props = onIf(props, "nvdimm", nvdimm)
	if m.IOMMU && kvm {
		props = append(props, Str("kernel-irqchip", "split"))
	}
	args := []string{"-machine", opts("q35", props...)}
	if m.NativeHotplug {
		args = append(args, "-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off")
	}
	if m.IOMMU {
		args = append(args, iommuArgs()...)
	}
	return args
}

// CPU is the vCPU model and count.
type CPU struct {
	Model string // e.g. "max" (works under KVM and TCG) or "host" (KVM only)
	VCPUs int
}

// Validate checks the CPU alone.
func (c CPU) Validate() error {
	if c.Model == "" {
		return invalid("", "", "CPU.Model", "must not be empty")
	}
	if c.VCPUs < 1 || c.VCPUs > 255 {
		return invalid("", "", "CPU.VCPUs", "%d is outside 1..255", c.VCPUs)
	}
	return nil
}

func (c CPU) args() []string {
	return []string{"-cpu", escape(c.Model), "-smp", strconv.Itoa(c.VCPUs)}
}

// Kernel is a direct kernel boot. With an empty Path the machine boots its
// firmware instead (and sits there: useful in tests).
type Kernel struct {
	Path   string // ELF vmlinux (PVH entry) or bzImage
	Initrd string
	Append string
}

// Validate checks the kernel alone.
func (k Kernel) Validate() error {
	if k.Path == "" {
		if k.Initrd != "" || k.Append != "" {
			return invalid("", "", "Kernel.Path", "must be set when Initrd or Append is")
		}
		return nil
	}
	if err := checkPath("", "", "Kernel.Path", k.Path); err != nil {
		return err
	}
	if k.Initrd != "" {
		return checkPath("", "", "Kernel.Initrd", k.Initrd)
	}
	return nil
}

// args: -kernel, -initrd and -append take their value verbatim (no option
// parsing), so nothing is escaped.
func (k Kernel) args() []string {
	if k.Path == "" {
		return nil
	}
	args := []string{"-kernel", k.Path}
	if k.Initrd != "" {
		args = append(args, "-initrd", k.Initrd)
	}
	if k.Append != "" {
		args = append(args, "-append", k.Append)
	}
	return args
}
