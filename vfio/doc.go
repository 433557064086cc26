// Package vfio owns what the host must do before a PCI function can be passed
// through to a VM: the facts of its IOMMU group and whether the group is
// viable, binding it to vfio-pci (through driver_override and drivers_probe)
// and putting its original driver back, and the SR-IOV operations on a
// physical function (the VF count, and each VF's admin settings: MAC, port
// VLAN, tx rate, spoof check, trust and link state, read, changed and put
// back through the PF's netdev).
//
// Every sysfs path is taken under a root passed by the caller ("/sys" on a
// host), and every sysfs write goes through a Kernel, so tests run the same
// code against fake trees with a fake kernel that reacts to writes as the
// real one does.
package vfio
