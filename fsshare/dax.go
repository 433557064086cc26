package fsshare

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
)

// DAXPrefix starts a DAX volume's storage and device id.
const DAXPrefix = "dax-"

// DAXVolume is a read-only data image the guest maps with DAX: an ext4
// image with the NVDIMM PFN-info prefix (nvdimm.BuildImage, kite volume
// build-dax), attached as an NVDIMM when the VM boots (QEMU cannot
// hot-plug one) and mounted with the sandbox (Storage).
type DAXVolume struct {
	id   string
	path string
	size int64
	pmem int
}

var (
	_ attach.Attachment = (*DAXVolume)(nil)
	_ attach.Previewer  = (*DAXVolume)(nil)
)

// NewDAXVolume plans the image at path, of size bytes (nvdimm.CheckImage:
// the collect step read its header), as volume name. pmem is the index the
// guest gives its NVDIMM: NVDIMMs are numbered in command-line order, the
// guest root image's first.
func NewDAXVolume(name, path string, size int64, pmem int) (*DAXVolume, error) {
	if err := CheckVolumeName(name); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(path) || size <= 0 {
		return nil, fmt.Errorf("%w: DAX volume %q: image %q of %d bytes", ErrInvalid, name, path, size)
	}
	return &DAXVolume{id: DAXPrefix + name, path: filepath.Clean(path), size: size, pmem: pmem}, nil
}

// Name implements attach.Attachment.
func (d *DAXVolume) Name() string { return d.id }

// Path is the image.
func (d *DAXVolume) Path() string { return d.path }

// Needs implements attach.Attachment: a memory slot and the image's size
// of room up to maxmem.
func (d *DAXVolume) Needs() attach.Needs { return attach.Needs{NVDIMMBytes: d.size} }

// Preview implements attach.Previewer.
func (d *DAXVolume) Preview() qemu.Device {
	return qemu.NVDIMM{ID: d.id, Path: d.path, Size: d.size, ReadOnly: true, Unarmed: true}
}

// Attach has nothing to do on the host: QEMU maps the image read-only.
func (d *DAXVolume) Attach(context.Context, *cleanup.Stack) (attach.Plugged, error) {
	return attach.Plugged{Device: d.Preview()}, nil
}

// Storage is how the sandbox mounts the volume: read-only with DAX, at the
// agent's default place (StorageRoot/dax-<name>).
func (d *DAXVolume) Storage() *protocol.Storage {
	return &protocol.Storage{Id: d.id, Driver: protocol.StorageDriver_STORAGE_DRIVER_PMEM,
		Source: "pmem" + strconv.Itoa(d.pmem), Fstype: "ext4", Options: []string{"dax=always", "noload"}, Readonly: true}
}
