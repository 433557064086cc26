package fsshare

import (
	"context"

	"github.com/kite-vm/kite/fsshare/blockvol"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
)

// BlockVolume is an image file or a block device hot-plugged as a
// virtio-blk disk and mounted by the agent, found at its guest PCI path. It
// is locked against use by another sandbox for as long as it is attached.
type BlockVolume struct {
	id   string
	vol  blockvol.Volume
	plan blockvol.Plan
}

var (
	_ Volume           = (*BlockVolume)(nil)
	_ attach.Previewer = (*BlockVolume)(nil)
)

// NewBlockVolume plans the classified volume v (blockvol.Classify: the
// collect step read its type) as storage and device id, on the root port
// port at slot portSlot of the root bus.
func NewBlockVolume(v blockvol.Volume, id, port string, portSlot int) (*BlockVolume, error) {
	p, err := blockvol.PlanVolume(v, id, blockvol.Slot{Port: port, PortSlot: portSlot}, "")
	if err != nil {
		return nil, err
	}
	return &BlockVolume{id: id, vol: v, plan: p}, nil
}

// Name implements attach.Attachment.
func (b *BlockVolume) Name() string { return b.id }

// Needs implements attach.Attachment.
func (b *BlockVolume) Needs() attach.Needs { return attach.Needs{} }

// Preview implements attach.Previewer.
func (b *BlockVolume) Preview() qemu.Device { return b.plan.Device }

// Attach locks the image or device for this sandbox.
func (b *BlockVolume) Attach(_ context.Context, host *cleanup.Stack) (attach.Plugged, error) {
	lock, err := blockvol.Acquire(b.vol)
	if err != nil {
		return attach.Plugged{}, err
	}
	host.Add("unlock "+b.vol.Source, lock.Release)
	return attach.Plugged{Device: b.plan.Device, Guest: attach.AddStorage{Storage: b.plan.Storage}}, nil
}

// GuestPath implements Volume.
func (b *BlockVolume) GuestPath(r attach.Result) string { return r.MountPoint }
