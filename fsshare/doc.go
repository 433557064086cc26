// Package fsshare owns how host files reach a Kite guest, each way an
// attachment (vm/attach): a Share (a host directory over virtio-fs, served
// by a virtiofsd of its own, or over 9p, served by QEMU); the SharedDir,
// the one share per sandbox into which every container's root file system
// and bind mounts are bound later; NinePSlots, 9p backends reserved at boot
// for shares hot-plugged later (QEMU 7.2 has no fsdev_add); hot-plugged
// volumes (a virtio-fs or 9p share of a directory, a virtio-blk disk of an
// image or block device: BlockVolume); and DAXVolume, a read-only image
// mapped as an NVDIMM with DAX.
//
// Sources are opened through safepath (a source that is a symlink may only
// lead to a sibling) and bound from the opened file, so a link swapped
// after the check cannot redirect the bind. Subpackages: blockvol (disk
// volumes: classification, locking, plan), nvdimm (DAX images), safepath.
package fsshare
