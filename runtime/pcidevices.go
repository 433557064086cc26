package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vfio"
)

// pciDevice is a host PCI function passed through at boot, behind a root
// port of its own.
type pciDevice struct {
	BDF  string // on the host
	ID   string // QEMU device id
	Port string // its root port
}

// Root ports for passed-through devices are named rpd0, rpd1, ... and
// numbered after the spare ones, whose chassis and slot run from 1.
const (
	devicePortPrefix = "rpd"
	devicePortBase   = 64
)

// planPCIDevices gives each function a vfio-pci device on a root port of
// its own: the port pool is sized from the pod's devices plus the spares.
func planPCIDevices(bdfs []string) ([]pciDevice, []qemu.RootPort, []qemu.Device, error) {
	var devs []pciDevice
	var ports []qemu.RootPort
	var qdevs []qemu.Device
	seen := map[string]bool{}
	for i, bdf := range bdfs {
		if seen[bdf] {
			return nil, nil, nil, fmt.Errorf("%w: PCI function %s is given twice", ErrInvalid, bdf)
		}
		seen[bdf] = true
		d := pciDevice{BDF: bdf, ID: "pci" + strconv.Itoa(i), Port: devicePortPrefix + strconv.Itoa(i)}
		devs = append(devs, d)
		ports = append(ports, qemu.RootPort{ID: d.Port, Chassis: devicePortBase + i, Slot: devicePortBase + i})
		qdevs = append(qdevs, qemu.VFIO{ID: d.ID, Bus: d.Port, Host: bdf, NoROM: true})
	}
	return devs, ports, qdevs, nil
}

// bindPCIDevices checks that each function's IOMMU group is viable (its
// other members are unbound, vfio-pci, bridges, or passed through too)
// before anything moves, so a refusal never takes a device from the host;
// then binds each to vfio-pci with its restore on the undo stack.
func (b *booter) bindPCIDevices() error {
	root := b.vm.plan.SysfsRoot
	ours := map[string]bool{}
	for _, d := range b.vm.plan.PCI {
		ours[d.BDF] = true
	}
	for _, d := range b.vm.plan.PCI {
		if err := checkViable(root, d.BDF, ours); err != nil {
			return err
		}
	}
	for _, d := range b.vm.plan.PCI {
		restore, err := vfio.Bind(vfio.Sysfs{}, root, d.BDF)
		if err != nil {
			return err
		}
		b.vm.pushUndoSimple("restore the driver of "+d.BDF, func() error { return restore.Apply(vfio.Sysfs{}, root) })
	}
	return nil
}

// checkViable is vfio.CheckViable with the functions passed through
// together counted as harmless: they are about to be bound to vfio-pci.
func checkViable(root, bdf string, ours map[string]bool) error {
	err := vfio.CheckViable(root, bdf)
	var nv *vfio.NotViableError
	if !errors.As(err, &nv) {
		return err
	}
	nv.InUse = slices.DeleteFunc(nv.InUse, func(m vfio.Member) bool { return ours[m.BDF] })
	if len(nv.InUse) == 0 {
		return nil
	}
	return nv
}

// PCIDevice is a passed-through function as the guest sees it.
type PCIDevice struct {
	HostBDF  string
	GuestBDF string
	// GuestPCIPath is where the agent found it ("05/00").
	GuestPCIPath string
	// DevPath is /dev/vfio/<group> in the guest with vfio_mode "vfio".
	DevPath string
}

// AttachPCIDevices has the agent wait for each passed-through function at
// its guest PCI path and give it to the guest kernel's driver or, with
// devices.vfio_mode "vfio", to vfio-pci in the guest (for DPDK in the
// container). It returns them in boot order, with their guest addresses.
func (vm *VM) AttachPCIDevices(ctx context.Context, mode configs.VFIOMode) ([]PCIDevice, error) {
	var out []PCIDevice
	for _, d := range vm.plan.PCI {
		pd, err := vm.attachPCI(ctx, d, mode)
		if err != nil {
			return nil, err
		}
		out = append(out, pd)
	}
	return out, nil
}

// attachPCI has the agent wait for one function and hand it to its driver.
func (vm *VM) attachPCI(ctx context.Context, d pciDevice, mode configs.VFIOMode) (PCIDevice, error) {
	dm := protocol.DeviceMode_DEVICE_MODE_KERNEL
	if mode == configs.VFIOUserspace {
		dm = protocol.DeviceMode_DEVICE_MODE_VFIO
	}
	path, err := vm.portPCIPath(ctx, d.Port)
	if err != nil {
		return PCIDevice{}, err
	}
	resp, err := vm.Agent.AddDevice(ctx, &protocol.Device{Id: d.ID, Kind: protocol.DeviceKind_DEVICE_KIND_VFIO, GuestPciPath: path, Mode: dm})
	if err != nil {
		return PCIDevice{}, fmt.Errorf("attaching PCI function %s in the guest: %w", d.BDF, err)
	}
	return PCIDevice{HostBDF: d.BDF, GuestBDF: resp.GetGuestName(), GuestPCIPath: path, DevPath: resp.GetDevPath()}, nil
}

// HostToGuest maps each device's host address to its guest address, for
// devicemgr.RewritePCIDeviceEnv.
func HostToGuest(devs []PCIDevice) (map[string]string, error) {
	m := map[string]string{}
	for _, d := range devs {
		if d.GuestBDF == "" {
			return nil, errors.New("the agent gave no guest address for " + d.HostBDF)
		}
		m[d.HostBDF] = d.GuestBDF
	}
	return m, nil
}

// hotPCI is a function hot-plugged into the running VM.
type hotPCI struct {
	dev     pciDevice
	plugged *plugged
	restore vfio.Restore
}

// AddPCIDevice hot-plugs a host PCI function, already claimed for this
// sandbox (devicemgr.Allocator), into the running VM: its IOMMU group is
// checked before anything moves, it is bound to vfio-pci, plugged into a
// spare root port, and attached in the guest as AttachPCIDevices does.
// A failure undoes every step.
func (vm *VM) AddPCIDevice(ctx context.Context, bdf string, mode configs.VFIOMode) (PCIDevice, error) {
	h, err := vm.plugPCIDevice(ctx, bdf)
	if err != nil {
		return PCIDevice{}, err
	}
	d, err := vm.attachPCI(ctx, h.dev, mode)
	if err != nil {
		return PCIDevice{}, errors.Join(err, vm.unplugPCIDevice(context.WithoutCancel(ctx), h))
	}
	vm.pciMu.Lock()
	vm.hotPCI[bdf] = h
	vm.pciMu.Unlock()
	return d, nil
}

// RemovePCIDevice unplugs a hot-plugged function: device_del, which waits
// for the guest to release it (DEVICE_DELETED), then its host driver is
// restored and its root port freed.
func (vm *VM) RemovePCIDevice(ctx context.Context, bdf string) error {
	vm.pciMu.Lock()
	defer vm.pciMu.Unlock()
	h := vm.hotPCI[bdf]
	if h == nil {
		return fmt.Errorf("%w: PCI function %s was not hot-plugged into sandbox %q", ErrNotFound, bdf, vm.plan.ID)
	}
	// Kept on failure: the VM's Stop restores the driver then.
	if err := vm.unplugPCIDevice(ctx, h); err != nil {
		return err
	}
	delete(vm.hotPCI, bdf)
	return nil
}

// plugPCIDevice is the host and QMP half of AddPCIDevice.
func (vm *VM) plugPCIDevice(ctx context.Context, bdf string) (h *hotPCI, err error) {
	vm.pciMu.Lock()
	defer vm.pciMu.Unlock()
	if vm.hotPCI[bdf] != nil {
		return nil, fmt.Errorf("%w: PCI function %s is already in sandbox %q", ErrInvalid, bdf, vm.plan.ID)
	}
	root := vm.plan.SysfsRoot
	if err := checkViable(root, bdf, map[string]bool{bdf: true}); err != nil {
		return nil, err
	}
	vm.pciSeq++
	id := "hpci" + strconv.Itoa(vm.pciSeq)
	h = &hotPCI{dev: pciDevice{BDF: bdf, ID: id}}
	if h.restore, err = vfio.Bind(vfio.Sysfs{}, root, bdf); err != nil {
		return nil, err
	}
	if h.dev.Port, err = vm.ports.take(id); err != nil {
		return nil, errors.Join(err, h.restore.Apply(vfio.Sysfs{}, root))
	}
	h.plugged, err = plug(ctx, vm.QMP, id, qemu.VFIO{ID: id, Bus: h.dev.Port, Host: bdf, NoROM: true})
	if err != nil {
		vm.ports.release(h.dev.Port)
		return nil, errors.Join(err, h.restore.Apply(vfio.Sysfs{}, root))
	}
	return h, nil
}

func (vm *VM) unplugPCIDevice(ctx context.Context, h *hotPCI) error {
	if err := h.plugged.unplug(ctx, vm.QMP); err != nil {
		return fmt.Errorf("removing PCI function %s from sandbox %q: %w", h.dev.BDF, vm.plan.ID, err)
	}
	vm.ports.release(h.dev.Port)
	if err := h.restore.Apply(vfio.Sysfs{}, vm.plan.SysfsRoot); err != nil {
		return fmt.Errorf("removing PCI function %s from sandbox %q: %w", h.dev.BDF, vm.plan.ID, err)
	}
	return nil
}

// restoreHotPCI gives the hot-plugged functions back to their host
// drivers at Stop, once QEMU is gone.
func (vm *VM) restoreHotPCI() error {
	vm.pciMu.Lock()
	defer vm.pciMu.Unlock()
	var errs []error
	for bdf, h := range vm.hotPCI {
		errs = append(errs, h.restore.Apply(vfio.Sysfs{}, vm.plan.SysfsRoot))
		delete(vm.hotPCI, bdf)
	}
	return errors.Join(errs...)
}
