// Package devicemgr owns the host's PCI functions as Kite sees them: the
// inventory (every function with its driver, NUMA node, IOMMU group and SR-IOV
// facts, read from sysfs), and the allocation and guest PCI topology built on
// it.
//
// The inventory reads sysfs directly rather than through jaypipes/ghw: ghw
// reports too little of SR-IOV (no VF index, no virtfn order, no group
// members) and the files involved are few and stable kernel ABI. Every read
// goes under a sysfs root passed by the caller, so tests build fake trees
// (see the sysfstest package) instead of swapping package state.
package devicemgr
