// Package blockvol owns block volumes: OCI mounts whose source is a host
// block device, or a disk image file mounted with a file system type, which
// Kite attaches to the guest as virtio-blk disks instead of sharing them
// through the shared directory. It classifies a mount (Classify), holds the
// source exclusively for one sandbox (Lock: a disk mounted by two kernels
// at once is corrupted), and plans the QEMU device and the agent storage
// that mounts it by guest PCI path (PlanVolume). Runtime applies the plan,
// cold (on the command line) or hot (QMP blockdev-add + device_add, then the
// agent's AddStorage).
package blockvol
