// Package sysfstest builds fake sysfs trees under a test's temp dir, laid
// out as the kernel lays out /sys, so that code under test reads them
// exactly as it reads the real thing. Only the entries the code reads are
// created.
//
// A host's PCI functions, named by BDF (Tree: New, Add, AddVF): real
// function directories under ROOT/devices/pci0000:00/..., ROOT/bus/pci/devices/<bdf>
// symlinks into them, and driver, iommu_group, physfn and virtfnN as
// relative symlinks, as vfio and devicemgr read them.
//
// A guest's devices, reached by guest PCI path (PCIDevice): a function
// behind a chain of bridges, each bridge with the pci_bus entry of its
// secondary bus, as the agent resolves a path like 02/00.
//
// File, Dir and Symlink add any other entry under a directory of either
// shape (a driver's bind file, a virtio child, a class link).
package sysfstest
