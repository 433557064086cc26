package fsshare

import (
	"context"
	"fmt"
	"path"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
)

// VirtioFSVolume is a host directory hot-plugged as a virtio-fs share with
// a virtiofsd of its own: the source is bound into the VM directory (read-
// only if asked) and virtiofsd serves the bind.
type VirtioFSVolume struct {
	share  *Share
	source string
	dir    string
}

var _ Volume = (*VirtioFSVolume)(nil)

// NewVirtioFSVolume plans volume name of the directory source on the root
// port bus, whose device the guest finds at guestPath.
func NewVirtioFSVolume(fs configs.SharedFS, dir, name, source string, readOnly bool, bus, guestPath string) (*VirtioFSVolume, error) {
	if err := CheckVolumeName(name); err != nil {
		return nil, err
	}
	id := VolumePrefix + name
	fs.Driver = configs.FSVirtioFS
	s, err := NewShare(fs, dir, id, id, volumePath(dir, name), false)
	if err != nil {
		return nil, err
	}
	s.Bus = bus
	s.Guest = &protocol.Storage{Id: id, Driver: protocol.StorageDriver_STORAGE_DRIVER_VIRTIOFS, Source: id,
		Readonly: readOnly, GuestPciPath: guestPath}
	return &VirtioFSVolume{share: s, source: source, dir: dir}, nil
}

// Share is the volume's share, its virtiofsd once attached.
func (v *VirtioFSVolume) Share() *Share { return v.share }

// Name implements attach.Attachment.
func (v *VirtioFSVolume) Name() string { return v.share.ID }

// Needs implements attach.Attachment.
func (v *VirtioFSVolume) Needs() attach.Needs { return v.share.Needs() }

// BackendDone implements attach.Backed.
func (v *VirtioFSVolume) BackendDone() <-chan struct{} { return v.share.BackendDone() }

// BackendDeath implements attach.Backed.
func (v *VirtioFSVolume) BackendDeath() error { return v.share.BackendDeath() }

// Attach binds the source, then starts the share's virtiofsd.
func (v *VirtioFSVolume) Attach(ctx context.Context, host *cleanup.Stack) (attach.Plugged, error) {
	if err := bindDirectory(v.source, v.share.HostPath, v.dir, v.share.Guest.GetReadonly(), "virtio-fs", host); err != nil {
		return attach.Plugged{}, err
	}
	return v.share.Attach(ctx, host)
}

// GuestPath implements Volume.
func (v *VirtioFSVolume) GuestPath(r attach.Result) string { return r.MountPoint }

// NinePVolume is a host directory hot-plugged as a 9p share over one of the
// backends reserved at boot (NinePSlots): the source is bound into the
// backend's directory, below its root (the backend holds its root open
// since QEMU started: a bind on the root itself would not be seen).
type NinePVolume struct {
	id, source, bus, guestPath string
	readOnly                   bool
	fs                         configs.SharedFS
	slots                      *NinePSlots
}

var _ Volume = (*NinePVolume)(nil)

// ninePVolumeSub is where a 9p volume sits under its backend's root.
const ninePVolumeSub = "vol"

// NewNinePVolume plans volume name of the directory source over one of
// slots, on the root port bus whose device the guest finds at guestPath.
func NewNinePVolume(fs configs.SharedFS, slots *NinePSlots, name, source string, readOnly bool, bus, guestPath string) (*NinePVolume, error) {
	if err := CheckVolumeName(name); err != nil {
		return nil, err
	}
	if slots == nil {
		return nil, fmt.Errorf("%w: no reserved 9p backend left (raise hotplug.spare_9p_shares)", ErrInvalid)
	}
	return &NinePVolume{id: VolumePrefix + name, source: source, bus: bus, guestPath: guestPath,
		readOnly: readOnly, fs: fs, slots: slots}, nil
}

// Name implements attach.Attachment.
func (v *NinePVolume) Name() string { return v.id }

// Needs implements attach.Attachment.
func (v *NinePVolume) Needs() attach.Needs { return attach.Needs{} }

// Attach takes a free backend and binds the source into it.
func (v *NinePVolume) Attach(_ context.Context, host *cleanup.Stack) (attach.Plugged, error) {
	sl, err := v.slots.take()
	if err != nil {
		return attach.Plugged{}, err
	}
	host.Add("give back 9p backend "+sl.Fsdev, func() error { v.slots.put(sl); return nil })
	if err := bindDirectory(v.source, path.Join(sl.Path, ninePVolumeSub), v.slots.dir, v.readOnly, "9p", host); err != nil {
		return attach.Plugged{}, err
	}
	st := &protocol.Storage{Id: v.id, Driver: protocol.StorageDriver_STORAGE_DRIVER_9P, Source: sl.Tag,
		Options: NinePOptions(v.fs), Readonly: v.readOnly, GuestPciPath: v.guestPath}
	return attach.Plugged{
		Device: qemu.NinePOnFsdev{ID: v.id, Bus: v.bus, Fsdev: sl.Fsdev, Tag: sl.Tag},
		Guest:  attach.AddStorage{Storage: st},
	}, nil
}

// GuestPath implements Volume.
func (v *NinePVolume) GuestPath(r attach.Result) string {
	return path.Join(r.MountPoint, ninePVolumeSub)
}
