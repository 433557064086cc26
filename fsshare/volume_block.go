package fsshare

import (
	"context"
	"fmt"
	"os"

	"github.com/kite-vm/kite/fsshare/blockvol"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
	"golang.org/x/sys/unix"
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

// Attach locks the image or device for this sandbox and opens it for
// QEMU, which gets the open file (an fd set) rather than the path: QEMU
// runs as an unprivileged user that may not open the source itself.
func (b *BlockVolume) Attach(_ context.Context, host *cleanup.Stack) (attach.Plugged, error) {
	lock, err := blockvol.Acquire(b.vol)
	if err != nil {
		return attach.Plugged{}, err
	}
	host.Add("unlock "+b.vol.Source, lock.Release)
	dev := b.plan.Device
	flags := os.O_RDWR
	if dev.ReadOnly {
		flags = os.O_RDONLY
	}
	f, err := os.OpenFile(b.vol.Source, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return attach.Plugged{}, fmt.Errorf("%w: opening %s %q for the VM: %w", ErrHost, b.vol.Kind, b.vol.Source, err)
	}
	// QEMU holds its own copy once it has the device.
	host.Add("close "+b.vol.Source, f.Close)
	dev.File = f
	return attach.Plugged{Device: dev, Guest: attach.AddStorage{Storage: b.plan.Storage}}, nil
}

// GuestPath implements Volume.
func (b *BlockVolume) GuestPath(r attach.Result) string { return r.MountPoint }
