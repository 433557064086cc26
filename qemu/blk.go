package qemu

import "os"

const blkKind = "virtio-blk"

// AIO is the host I/O engine of a block device.
type AIO string

// AIO engines; the zero value keeps QEMU's default (threads).
const (
	AIODefault AIO = ""
	AIOThreads AIO = "threads"
	AIONative  AIO = "native" // Linux AIO; needs DirectIO
	AIOIOUring AIO = "io_uring"
)

// VirtioBlk is a virtio-blk-pci disk on a raw image file or a host block
// device, as two -blockdev nodes: the protocol node "<ID>-file" and the raw
// format node "<ID>" the device attaches to.
type VirtioBlk struct {
	ID         string
	Bus        string
	Path       string
	HostDevice bool // Path is a block device (driver host_device, not file)
	ReadOnly   bool
	DirectIO   bool // cache.direct=on: O_DIRECT, bypassing the host page cache
	AIO        AIO
	// File, when set, is Path opened by the caller (read-write, or
	// read-only with ReadOnly), passed to QEMU in an fd set (DeviceFDSet(ID)
	// on the command line, a free one when hot-plugged): an unprivileged
	// QEMU may not open Path. nil lets QEMU open Path.
	File *os.File
}

// Validate checks the spec alone.
func (b VirtioBlk) Validate() error {
	if err := firstErr(checkID(blkKind, b.ID), checkPath(blkKind, b.ID, "Path", b.Path)); err != nil {
		return err
	}
	switch b.AIO {
	case AIODefault, AIOThreads, AIOIOUring:
	case AIONative:
		if !b.DirectIO {
			return invalid(blkKind, b.ID, "AIO", "native needs DirectIO")
		}
	default:
		return invalid(blkKind, b.ID, "AIO", "%q is not threads, native or io_uring", b.AIO)
	}
	return nil
}

// Parts returns the protocol node, the format node and the device.
func (b VirtioBlk) Parts(fds FDs) Parts {
	driver := "file"
	if b.HostDevice {
		driver = "host_device"
	}
	var sets []FDSet
	filename := b.Path
	if b.File != nil {
		s := FDSet{ID: DeviceFDSet(b.ID), File: b.File, Ref: fds.Ref(b.File)}
		if c, ok := fds.(FDSetChooser); ok {
			if id, ok := c.FDSetID(b.File); ok {
				s.ID = id
			}
		}
		sets, filename = append(sets, s), FDSetPath(s.ID)
	}
	file := []Prop{Str("filename", filename)}
	file = onIf(file, "read-only", b.ReadOnly)
	file = strIf(file, "aio", string(b.AIO))
	file = onIf(file, "cache.direct", b.DirectIO)
	format := []Prop{Str("file", b.fileNode())}
	format = onIf(format, "read-only", b.ReadOnly)
	return Parts{
		FDSets: sets,
		Blockdevs: []Blockdev{
			{Driver: driver, NodeName: b.fileNode(), Props: file},
			{Driver: "raw", NodeName: b.ID, Props: format},
		},
		Devices: []DeviceProps{{Driver: "virtio-blk-pci", ID: b.ID, Bus: b.Bus, Props: []Prop{Str("drive", b.ID)}}},
	}
}

func (b VirtioBlk) fileNode() string { return b.ID + "-file" }
