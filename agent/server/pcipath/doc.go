// Package pcipath resolves guest PCI paths in the guest: the host names a
// device by the chain of slots from the root bus down to it ("02/00": device
// 00 behind the root port in slot 02 of bus 0), because that chain is fixed
// by the QEMU command line while bus numbers and BDFs are chosen by the
// guest kernel at enumeration. The path type itself is pci.Path, shared with
// the host; this package resolves paths against a sysfs tree passed in by
// the caller (tests pass a fake one) and maps device paths back to them.
package pcipath
