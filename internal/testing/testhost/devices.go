package testhost

import (
	"fmt"

	"github.com/kite-vm/kite/qemu"
)

// The test host's devices are its own qemu.Device types: Kite's qemu package
// has no emulated IOMMU or NVMe (a sandbox never gets one), and the IOMMU
// must be created before every PCI device it translates for, root ports
// included, while qemu.Config renders its RootPorts first. So the NVMe's
// root port comes with the NVMe, after the IOMMU.

// IntelIOMMU is QEMU's emulated VT-d. Interrupt remapping is required by
// vfio_iommu_type1 (it refuses "unsafe interrupts" otherwise) and caching
// mode by QEMU for vfio-pci behind the vIOMMU.
type IntelIOMMU struct{}

var _ qemu.Device = IntelIOMMU{}

// Validate has nothing to check.
func (IntelIOMMU) Validate() error { return nil }

// Parts returns the intel-iommu device.
func (IntelIOMMU) Parts(qemu.FDs) qemu.Parts {
	return qemu.Parts{Devices: []qemu.DeviceProps{{Driver: "intel-iommu", ID: "iommu", Props: []qemu.Prop{
		qemu.Bool("intremap", true), qemu.Bool("caching-mode", true),
	}}}}
}

// SRIOVNVMe is an emulated NVMe controller with SR-IOV (QEMU's 1b36:0010)
// alone behind its own PCIe root port, in an NVMe subsystem (QEMU requires
// one for SR-IOV).
type SRIOVNVMe struct {
	ID     string // the controller; the port is ID-port, the subsystem ID-subsys
	Port   qemu.RootPort
	Serial string
	MaxVFs int // sriov_totalvfs; QEMU gives each VF its own flexible queues
	// Namespace is the raw image of namespace 1, shared in the subsystem:
	// QEMU attaches it to the PF and to every VF's controller, so I/O
	// through a VF lands where the PF can read it. "" for none.
	Namespace string
}

var _ qemu.Device = SRIOVNVMe{}

// Validate checks the spec alone.
func (n SRIOVNVMe) Validate() error {
	if n.ID == "" || n.Serial == "" {
		return fmt.Errorf("%w: SR-IOV NVMe needs an ID and a Serial", qemu.ErrInvalid)
	}
	if n.MaxVFs < 1 || n.MaxVFs > 127 {
		return fmt.Errorf("%w: SR-IOV NVMe %q: MaxVFs %d is outside 1..127", qemu.ErrInvalid, n.ID, n.MaxVFs)
	}
	return n.Port.Validate()
}

// Parts returns the root port, the subsystem and the controller. The
// controller names its bus as a plain property: qemu.Config only knows
// ports from its RootPorts list.
func (n SRIOVNVMe) Parts(qemu.FDs) qemu.Parts {
	subsys := n.ID + "-subsys"
	p := qemu.Parts{Devices: []qemu.DeviceProps{
		n.Port.Props(),
		{Driver: "nvme-subsys", ID: subsys},
		{Driver: "nvme", ID: n.ID, Props: []qemu.Prop{
			qemu.Str("bus", n.Port.ID), qemu.Str("serial", n.Serial), qemu.Str("subsys", subsys),
			qemu.Int("sriov_max_vfs", int64(n.MaxVFs)),
			// Flexible queue and interrupt resources for the VFs: two
			// queues and one vector each (QEMU's minimum per VF).
			qemu.Int("sriov_vq_flexible", int64(2*n.MaxVFs)),
			qemu.Int("sriov_vi_flexible", int64(n.MaxVFs)),
		}},
	}}
	if n.Namespace != "" {
		ns := n.ID + "-ns1"
		p.Blockdevs = []qemu.Blockdev{
			{Driver: "file", NodeName: ns + "-file", Props: []qemu.Prop{qemu.Str("filename", n.Namespace)}},
			{Driver: "raw", NodeName: ns, Props: []qemu.Prop{qemu.Str("file", ns+"-file")}},
		}
		p.Devices = append(p.Devices, qemu.DeviceProps{Driver: "nvme-ns", ID: ns, Props: []qemu.Prop{
			qemu.Str("bus", n.ID), qemu.Str("drive", ns), qemu.Int("nsid", 1), qemu.Bool("shared", true),
		}})
	}
	return p
}

// Share is a virtio-9p-pci share at a fixed address, so two shares can be
// the functions of one multi-function slot: without ACS between them Linux
// puts both in one IOMMU group, which gives the tests a real group shared
// with a device the host uses.
type Share struct {
	ID            string
	Path          string
	Tag           string
	ReadOnly      bool
	Addr          string // slot.function on pcie.0, e.g. "0x5.1"
	Multifunction bool   // set on function 0 of a multi-function slot
}

var _ qemu.Device = Share{}

// Validate checks the spec alone.
func (s Share) Validate() error {
	if s.ID == "" || s.Path == "" || s.Tag == "" || s.Addr == "" {
		return fmt.Errorf("%w: 9p share needs ID, Path, Tag and Addr", qemu.ErrInvalid)
	}
	return nil
}

// Parts returns the fsdev and the device. security_model=none: the host
// side is read by root and the test host's files need no owner mapping.
func (s Share) Parts(qemu.FDs) qemu.Parts {
	fsProps := []qemu.Prop{qemu.Str("path", s.Path), qemu.Str("security_model", "none")}
	if s.ReadOnly {
		fsProps = append(fsProps, qemu.Bool("readonly", true))
	}
	devProps := []qemu.Prop{qemu.Str("fsdev", s.ID), qemu.Str("mount_tag", s.Tag)}
	if s.Multifunction {
		devProps = append(devProps, qemu.Bool("multifunction", true))
	}
	return qemu.Parts{
		Fsdevs:  []qemu.Fsdev{{Driver: "local", ID: s.ID, Props: fsProps}},
		Devices: []qemu.DeviceProps{{Driver: "virtio-9p-pci", ID: s.ID, Addr: s.Addr, Props: devProps}},
	}
}

// IGB is QEMU 10's 82576 NIC (8086:10c9) with SR-IOV (VFs 8086:10ca, up to
// 7), alone behind its own root port and with no network backend: the tests
// need its PF netdev and VFs, not traffic.
type IGB struct {
	ID   string
	Port qemu.RootPort
}

var _ qemu.Device = IGB{}

// Validate checks the spec alone.
func (n IGB) Validate() error {
	if n.ID == "" {
		return fmt.Errorf("%w: igb needs an ID", qemu.ErrInvalid)
	}
	return n.Port.Validate()
}

// Parts returns the root port and the NIC, without an option ROM (romfile
// empty: nothing boots from it).
func (n IGB) Parts(qemu.FDs) qemu.Parts {
	return qemu.Parts{Devices: []qemu.DeviceProps{
		n.Port.Props(),
		{Driver: "igb", ID: n.ID, Props: []qemu.Prop{qemu.Str("bus", n.Port.ID), qemu.Str("romfile", "")}},
	}}
}
