package vfio

import "errors"

var (
	// ErrBadBDF marks a PCI address that is not in the domain:bus:device.function form.
	ErrBadBDF = errors.New("malformed PCI address")
	// ErrNoDevice marks a PCI address that names no function under the sysfs root.
	ErrNoDevice = errors.New("no such PCI function")
	// ErrNoIOMMU marks a function without an IOMMU group: the IOMMU is off.
	ErrNoIOMMU = errors.New("no IOMMU group")
	// ErrNotViable marks an IOMMU group shared with a function the host uses.
	ErrNotViable = errors.New("IOMMU group not viable")
	// ErrNoVFIODriver marks a host where the vfio-pci driver is not loaded.
	ErrNoVFIODriver = errors.New("vfio-pci driver not loaded")
	// ErrBindFailed marks a function that did not end up bound to the driver asked for.
	ErrBindFailed = errors.New("driver binding failed")
	// ErrNotSRIOV marks a function without SR-IOV capability.
	ErrNotSRIOV = errors.New("not an SR-IOV physical function")
	// ErrTooManyVFs marks a VF count above the PF's sriov_totalvfs.
	ErrTooManyVFs = errors.New("VF count above sriov_totalvfs")
	// ErrBadVFConfig marks a VF configuration rejected before any netlink call.
	ErrBadVFConfig = errors.New("invalid VF configuration")
	// ErrNotVF marks a function whose admin settings cannot be set: it is no
	// SR-IOV VF of a PF that has a network interface on this host.
	ErrNotVF = errors.New("no VF of a PF with a network interface on this host (a VF's settings are set through its PF's netdev)")
)
