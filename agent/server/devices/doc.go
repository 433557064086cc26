// Package devices finds the devices the host plugs into the guest: it waits
// for a device at a guest PCI path (woken by kernel uevents, with a slow
// sysfs poll as a safety net, and a check up front because a cold-plugged
// device is already there), then reports what the kernel made of it (a disk
// /dev/vdX, a NIC, a 9p tag, an NVDIMM /dev/pmemN) and can move a PCI
// function between its kernel driver and vfio-pci. All paths are read under
// the sysfs and /dev roots the caller passes in.
package devices
