package devicemgr

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/sysfs"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vfio"
	"github.com/kite-vm/kite/vm/attach"
	"google.golang.org/protobuf/types/known/durationpb"
)

// VFIOFunction is a host PCI function passed through to the guest with
// vfio-pci, on a root port of its own (attach.Attachment). The agent then
// waits for it at its guest PCI path and gives it to the guest kernel's
// driver, or with devices.vfio_mode "vfio" to vfio-pci in the guest.
type VFIOFunction struct {
	// ID is the attachment's name and the QEMU device id.
	ID string
	// BDF is the function's host address.
	BDF  string
	Port Port
	Mode configs.VFIOMode
	// SysfsRoot is /sys, or where a test stands it.
	SysfsRoot string
	// Together are the functions passed through with this one: members of
	// its IOMMU group among them do not make the group unviable.
	Together []string
	// StandIn, set only by tests, has QEMU emulate the function instead
	// (see StandIn): the same port, guest path and agent request, another
	// QEMU device, nothing bound on the host.
	StandIn *StandIn
	// Timeout bounds the agent's wait for the function and its driver
	// (hotplug.device_timeout); 0 leaves the agent's default.
	Timeout time.Duration
	// VF are admin settings set for the function through its PF before it
	// is bound (a devices.vf rule's, named by VFRule), and put back once
	// it is given back to its driver; zero sets nothing. A function that
	// is no VF of a PF with a netdev here cannot take them: its attach
	// fails.
	VF     vfio.VFSettings
	VFRule string
	// Journal, when set, records the change of VF's settings before it is
	// made, for the crash cleanup to put back.
	Journal VFJournal
}

// VFJournal keeps a function's admin settings change on disk (the
// sandbox's crash record) before it is made, for a cleanup to Revert
// after the function is back on its driver.
type VFJournal interface {
	NoteVF(c *vfio.VFChange) error
}

var _ attach.Attachment = (*VFIOFunction)(nil)

// Name implements attach.Attachment.
func (f *VFIOFunction) Name() string { return f.ID }

// Needs implements attach.Attachment: a function needs nothing of the
// machine but its port.
func (f *VFIOFunction) Needs() attach.Needs { return attach.Needs{} }

// Attach checks the function's IOMMU group before anything moves (so a
// refusal never takes a device from the host), binds it to vfio-pci and
// registers giving it back to its driver.
func (f *VFIOFunction) Attach(_ context.Context, host *cleanup.Stack) (attach.Plugged, error) {
	if f.StandIn != nil {
		dev, err := f.StandIn.device(f.ID, f.Port)
		if err != nil {
			return attach.Plugged{}, err
		}
		return attach.Plugged{Device: dev, Guest: f.Guest()}, nil
	}
	if err := CheckViable(f.SysfsRoot, append([]string{f.BDF}, f.Together...)...); err != nil {
		return attach.Plugged{}, err
	}
	if err := f.setVF(host); err != nil {
		return attach.Plugged{}, err
	}
	restore, err := vfio.Bind(vfio.Sysfs{}, f.SysfsRoot, f.BDF)
	if err != nil {
		return attach.Plugged{}, err
	}
	host.Add("give "+f.BDF+" back to "+orNone(restore.Driver), func() error { return restore.Apply(vfio.Sysfs{}, f.SysfsRoot) })
	return attach.Plugged{Device: f.Device(), Guest: f.Guest()}, nil
}

// setVF gives the function its VF settings through the PF, recorded
// first, the undo on host (run after the driver is back).
func (f *VFIOFunction) setVF(host *cleanup.Stack) error {
	if f.VF.IsZero() {
		return nil
	}
	c, err := vfio.ChangeFor(f.SysfsRoot, f.BDF, f.VF)
	if err != nil {
		return fmt.Errorf("%s asks %s for %s: %w", f.VFRule, f.BDF, f.VF, err)
	}
	if c == nil {
		return nil
	}
	if f.Journal != nil {
		if err := f.Journal.NoteVF(c); err != nil {
			return fmt.Errorf("recording the VF settings of %s: %w", f.BDF, err)
		}
	}
	if err := c.Apply(); err != nil {
		return fmt.Errorf("%s: %w", f.VFRule, err)
	}
	host.Add("put back the VF settings of "+f.BDF+" ("+c.Undo.String()+")", c.Revert)
	return nil
}

// Device is the vfio-pci device, without option ROM: Kite boots a kernel
// directly, and a VF's ROM BAR only slows QEMU down. A stand-in's is its
// emulated device (nil when the stand-in is invalid, which Attach reports).
func (f *VFIOFunction) Device() qemu.Device {
	if f.StandIn != nil {
		dev, _ := f.StandIn.device(f.ID, f.Port)
		return dev
	}
	return qemu.VFIO{ID: f.ID, Bus: f.Port.ID, Host: f.BDF, NoROM: true}
}

// KeepsHostNetdev reports that attaching leaves the host's netdev of the
// function where it is: a stand-in takes nothing from the host, so a
// physical endpoint has nothing to rebuild when it is detached.
func (f *VFIOFunction) KeepsHostNetdev() bool { return f.StandIn != nil }

// Guest is the agent's request for the function.
func (f *VFIOFunction) Guest() attach.AddDevice {
	mode := protocol.DeviceMode_DEVICE_MODE_KERNEL
	if f.Mode == configs.VFIOUserspace {
		mode = protocol.DeviceMode_DEVICE_MODE_VFIO
	}
	d := &protocol.Device{Id: f.ID, Kind: protocol.DeviceKind_DEVICE_KIND_VFIO, GuestPciPath: f.Port.GuestPath(), Mode: mode}
	if f.Timeout > 0 {
		d.Timeout = durationpb.New(f.Timeout)
	}
	return attach.AddDevice{Device: d}
}

// CheckViable checks that the IOMMU group of each function can be passed
// through: every other member is unbound, bound to vfio-pci, a bridge, or
// among bdfs (about to be bound with it). Run it on all the functions of a
// VM before binding any.
func CheckViable(sysfsRoot string, bdfs ...string) error {
	for _, bdf := range bdfs {
		err := vfio.CheckViable(sysfsRoot, bdf)
		var nv *vfio.NotViableError
		if !errors.As(err, &nv) {
			if err != nil {
				return err
			}
			continue
		}
		nv.InUse = slices.DeleteFunc(nv.InUse, func(m vfio.Member) bool { return slices.Contains(bdfs, m.BDF) })
		if len(nv.InUse) > 0 {
			return nv
		}
	}
	return nil
}

// CurrentBindings reads how each function is bound now, for a crash record
// to give it back to its driver should the process that binds it die.
func CurrentBindings(sysfsRoot string, bdfs []string) ([]Binding, error) {
	var out []vfio.Restore
	for _, bdf := range bdfs {
		drv, err := sysfs.LinkBase(filepath.Join(sysfsRoot, "bus/pci/devices", bdf, "driver"))
		if err != nil {
			return nil, fmt.Errorf("reading the driver of %s: %w", bdf, err)
		}
		out = append(out, vfio.Restore{BDF: bdf, Driver: drv})
	}
	return out, nil
}

func orNone(driver string) string {
	if driver == "" {
		return "no driver"
	}
	return driver
}

// Binding is how a function was bound before Kite moved it to vfio-pci,
// plain data for a crash record.
type Binding = vfio.Restore

// RestoreBindings gives each function back to the driver it had, for the
// cleanup of a sandbox whose process died before its own undo ran.
func RestoreBindings(sysfsRoot string, bs []Binding) error {
	var errs []error
	for _, b := range bs {
		if err := b.Apply(vfio.Sysfs{}, sysfsRoot); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var _ attach.Previewer = (*VFIOFunction)(nil)

// Preview implements attach.Previewer: the function's device is known
// before it is bound.
func (f *VFIOFunction) Preview() qemu.Device { return f.Device() }
