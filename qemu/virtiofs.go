package qemu

import "os"

const virtioFSKind = "virtio-fs"

// maxFSTag is the virtio-fs tag size in the device's config space.
const maxFSTag = 36

// VirtioFS is a vhost-user-fs-pci share served by virtiofsd on SocketPath. It
// needs Memory.Shared. (QEMU 7.2 has no DAX window: DAX comes from NVDIMM.)
type VirtioFS struct {
	ID         string
	Bus        string
	SocketPath string // virtiofsd listens; QEMU connects
	Tag        string // the guest mounts it with mount -t virtiofs TAG
	QueueSize  int    // 0 means 1024; a power of two up to 1024
	// Conn, when set, is a connection to virtiofsd on SocketPath, passed to
	// QEMU in its stead (an unprivileged QEMU cannot reach the path).
	Conn *os.File
}

// Validate checks the spec alone.
func (v VirtioFS) Validate() error {
	if err := firstErr(checkID(virtioFSKind, v.ID), checkPath(virtioFSKind, v.ID, "SocketPath", v.SocketPath)); err != nil {
		return err
	}
	if v.Tag == "" || len(v.Tag) > maxFSTag {
		return invalid(virtioFSKind, v.ID, "Tag", "must be 1..%d bytes, got %d", maxFSTag, len(v.Tag))
	}
	if q := v.QueueSize; q != 0 && (q < 0 || q > 1024 || q&(q-1) != 0) {
		return invalid(virtioFSKind, v.ID, "QueueSize", "%d is not a power of two up to 1024", q)
	}
	return nil
}

// Parts returns the socket chardev and the device.
func (v VirtioFS) Parts(fds FDs) Parts {
	q := v.QueueSize
	if q == 0 {
		q = 1024
	}
	return Parts{
		Chardevs: []Chardev{clientSocket(v.ID, v.SocketPath, v.Conn, fds, 0)},
		Devices: []DeviceProps{{Driver: "vhost-user-fs-pci", ID: v.ID, Bus: v.Bus, Props: []Prop{
			Str("chardev", v.ID), Str("tag", v.Tag), Int("queue-size", int64(q)),
		}}},
	}
}

func (v VirtioFS) needs() machineNeeds {
	return machineNeeds{kind: virtioFSKind, id: v.ID, sharedMemory: true}
}
