// Package hotplug adds a typed qemu.Device to a running QEMU over QMP and
// removes it again. It owns the one translation of a device's Parts into
// typed qemu/qmp calls, in the order QEMU needs them (files, objects,
// chardevs, netdevs, blockdevs, then the devices), the rollback that leaves
// the VM as it was when a step fails, and the unplug that waits for the
// device to be gone before removing what it used.
//
// Parts that QEMU 7.2's QMP cannot add (fsdevs: there is no fsdev_add) are
// refused before anything is sent. The package speaks QMP only through a
// *qmp.Client and never logs: callers get errors that name the device and
// the step.
package hotplug
