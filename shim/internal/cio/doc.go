// Package cio is what a shim owes containerd besides the task service: the
// process stdio FIFOs containerd makes (opened without blocking the RPC on
// a missing reader, stdin opened by its relay so that its end is
// containerd's close), the rootfs mounts containerd hands over (mounted on
// the bundle's rootfs, as containerd-shim-runc-v2 does), and the events
// published through containerd's publish binary, in order.
package cio
