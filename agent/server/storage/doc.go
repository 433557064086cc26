// Package storage mounts the host's storages in the guest: virtio-fs and
// 9p shares by tag, disks and NVDIMMs by device node, tmpfs, and bind
// mounts of directories inside other storages. Every mount point lies under
// the agent's storage root (normally /run/kite/storage, one directory per
// storage id by default); a requested mount point that leaves the root or
// crosses a symlink is refused, and a bind source must resolve inside a
// mounted storage: paths from the host are never trusted.
package storage
