package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vfio"
)

// Root ports of passed-through pod netdevs (SR-IOV VFs) not already among
// VMInput.PCIDevices: rpn0, rpn1, ... numbered after the device ports.
const (
	netPortPrefix = "rpn"
	netPortBase   = 96
)

// rebindWait bounds the wait for a VF's netdev after its driver is back.
const rebindWait = 10 * time.Second

// attachPhysical carries a PCI netdev of the pod netns (an SR-IOV VF that
// the SR-IOV CNI moved there) into the VM: its name, MAC, MTU, addresses,
// routes and neighbors are recorded, the function is bound to vfio-pci
// (which destroys the netdev) and passed through, unless VMInput.PCIDevices
// has it already. Detaching, once QEMU is gone, gives it back to its driver
// and rebuilds the netdev in the pod netns from the record.
func (b *booter) attachPhysical(ns *netmodels.Netns, ep netEndpoint) (nic, error) {
	root := b.vm.plan.SysfsRoot
	rec, err := netmodels.RecordPhysical(ns, ep.Link.Name, root)
	if err != nil {
		return nic{}, err
	}
	if err := checkViable(root, rec.BDF, map[string]bool{rec.BDF: true}); err != nil {
		return nic{}, err
	}
	restore, err := vfio.Bind(vfio.Sysfs{}, root, rec.BDF)
	if err != nil {
		return nic{}, err
	}
	n := nic{ep: ep, mac: rec.MAC, bdf: rec.BDF, detach: func() error {
		ctx, cancel := context.WithTimeout(context.Background(), rebindWait+5*time.Second)
		defer cancel()
		return rec.Restore(ctx, rebinder{root: root, restore: restore})
	}}
	i := slices.IndexFunc(b.vm.plan.PCI, func(d pciDevice) bool { return d.BDF == rec.BDF })
	if i >= 0 {
		n.port = b.vm.plan.PCI[i].Port // passed through already, as a device-plugin function
		return n, nil
	}
	k := len(b.vm.physPorts)
	n.port = netPortPrefix + strconv.Itoa(k)
	b.vm.physPorts = append(b.vm.physPorts, n.port)
	b.vm.plan.QEMU.RootPorts = append(b.vm.plan.QEMU.RootPorts, qemu.RootPort{ID: n.port, Chassis: netPortBase + k, Slot: netPortBase + k})
	b.vm.plan.QEMU.Devices = append(b.vm.plan.QEMU.Devices, qemu.VFIO{ID: ep.ID, Bus: n.port, Host: rec.BDF, NoROM: true})
	return n, nil
}

// rebinder gives a VF back to its host driver and finds the netdev the
// driver makes for it, in the init netns.
type rebinder struct {
	root    string
	restore vfio.Restore
}

func (r rebinder) Rebind(ctx context.Context, bdf, _ string) (netmodels.Netdev, error) {
	if err := r.restore.Apply(vfio.Sysfs{}, r.root); err != nil {
		return netmodels.Netdev{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, rebindWait)
	defer cancel()
	name, err := netmodels.NetdevOfBDF(ctx, r.root, bdf)
	if err != nil {
		return netmodels.Netdev{}, err
	}
	return netmodels.Netdev{NetnsPath: "/proc/1/ns/net", Name: name}, nil
}

// configurePhysical gives the guest's VF netdev the pod's configuration,
// found by its guest PCI path (a VF's MAC may be reset by its driver).
func (b *booter) configurePhysical(ctx context.Context, n nic) error {
	path, err := b.vm.portPCIPath(ctx, n.port)
	if err != nil {
		return err
	}
	iface := guestInterface(n.ep, n.mac, b.vm.plan.Network.MTU)
	iface.GuestPciPath = path
	if _, err := b.vm.Agent.UpdateInterface(ctx, iface); err != nil {
		return fmt.Errorf("configuring VF %s as %q in the guest (its driver must be in the guest image: kite guest build --modules): %w",
			n.bdf, n.ep.Link.Name, err)
	}
	return nil
}

var errNoPhysicalHotplug = errors.New("a VF netdev can only be carried at boot")
