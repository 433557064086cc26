// Package devicemgr owns the host's PCI functions as Kite sees them: the
// inventory (every function with its driver, NUMA node, IOMMU group and SR-IOV
// facts, read from sysfs); the claims (Allocator: which sandbox holds which
// function, exclusively and on disk); the guest PCI topology (Topology: one
// allocator for every root port of a VM, each at a fixed slot, so that a
// device's guest PCI path is known when it is planned); and VFIOFunction, the
// attachment (vm/attach) that passes a function through: IOMMU group check,
// vfio-pci binding with its restore on the undo stack, the vfio-pci device on
// its root port, and the agent request that attaches it in the guest.
//
// The inventory reads sysfs directly rather than through jaypipes/ghw: ghw
// reports too little of SR-IOV (no VF index, no virtfn order, no group
// members) and the files involved are few and stable kernel ABI. Every read
// goes under a sysfs root passed by the caller, so tests build fake trees
// (see the sysfstest package) instead of swapping package state.
package devicemgr
