package vmtest

import (
	"context"
	"strconv"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
)

// coldDevice is a raw device of Options.Devices as an attachment: it has no
// host side (the test prepared its backend) and no guest request (the test
// talks to the agent itself).
type coldDevice struct {
	name  string
	dev   qemu.Device
	needs attach.Needs
}

var (
	_ attach.Attachment = coldDevice{}
	_ attach.Previewer  = coldDevice{}
)

// coldDevices wraps the devices, named dev0, dev1, ... sharedMemory says
// their backends map guest RAM (Options.SharedMemory); an NVDIMM declares
// its size, so the plan checks its memory slot and room as it would a
// DAX volume's.
func coldDevices(devs []qemu.Device, sharedMemory bool) []attach.Attachment {
	var atts []attach.Attachment
	for i, d := range devs {
		n := attach.Needs{SharedMemory: sharedMemory}
		if nv, ok := d.(qemu.NVDIMM); ok {
			n.NVDIMMBytes = nv.Size
		}
		atts = append(atts, coldDevice{name: "dev" + strconv.Itoa(i), dev: d, needs: n})
	}
	return atts
}

func (d coldDevice) Name() string         { return d.name }
func (d coldDevice) Needs() attach.Needs  { return d.needs }
func (d coldDevice) Preview() qemu.Device { return d.dev }

func (d coldDevice) Attach(context.Context, *cleanup.Stack) (attach.Plugged, error) {
	return attach.Plugged{Device: d.dev}, nil
}
