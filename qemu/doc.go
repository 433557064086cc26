// Package qemu owns how Kite launches QEMU: typed specs for the machine and
// for each device kind, pure functions that turn them into a command line
// (golden-tested), and control of the QEMU process (start with early-death
// detection, polite-then-forceful stop).
//
// A device spec is a small struct with its own Validate and a Parts method
// that returns the typed QEMU objects it is made of (memory objects,
// chardevs, netdevs, fsdevs, blockdevs, devices). The command line renders
// those parts; qemu/hotplug sends the very same parts over QMP to hot-plug
// the device, so a device is described once. Files the device passes
// to QEMU (tap queues, vhost fds) are referenced through an FDs allocator:
// fd numbers on the command line, getfd names over QMP.
//
// Start confines QEMU (docs/security.md): with Config.Seccomp, QEMU's own
// seccomp filter; with StartOptions.User, an unprivileged user holding no
// capability but those its command line needs (capsOf). QEMU then opens no
// path of the VM directory: Start passes it the QMP listener and the
// console, devices pass connected sockets (a SerialPort's or VirtioFS's
// Conn), disks in fd sets (FDSet) and NVDIMM images open, and Start checks,
// as that user, the paths QEMU still opens itself.
//
// The package never logs and never talks QMP itself: stopping takes a Quitter,
// which the QMP client satisfies.
package qemu
