package qemu

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
func (b VirtioBlk) Parts(FDs) Parts {
	driver := "file"
	if b.HostDevice {
		driver = "host_device"
	}
	file := []Prop{Str("filename", b.Path)}
	file = onIf(file, "read-only", b.ReadOnly)
	file = strIf(file, "aio", string(b.AIO))
	file = onIf(file, "cache.direct", b.DirectIO)
	format := []Prop{Str("file", b.fileNode())}
	format = onIf(format, "read-only", b.ReadOnly)
	return Parts{
		Blockdevs: []Blockdev{
			{Driver: driver, NodeName: b.fileNode(), Props: file},
			{Driver: "raw", NodeName: b.ID, Props: format},
		},
		Devices: []DeviceProps{{Driver: "virtio-blk-pci", ID: b.ID, Bus: b.Bus, Props: []Prop{Str("drive", b.ID)}}},
	}
}

func (b VirtioBlk) fileNode() string { return b.ID + "-file" }
