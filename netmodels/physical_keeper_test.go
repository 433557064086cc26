package netmodels

import (
	"context"
	"testing"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
)

// keeperFunction is a function whose attach leaves the host's netdev in
// place (as a devicemgr.StandIn does), with one undo step of its own.
type keeperFunction struct {
	undone *int
	guest  attach.Guest
}

func (keeperFunction) Name() string        { return "pci0" }
func (keeperFunction) Needs() attach.Needs { return attach.Needs{} }
func (keeperFunction) KeepsHostNetdev() bool {
	return true
}
func (f keeperFunction) Attach(_ context.Context, host *cleanup.Stack) (attach.Plugged, error) {
	host.Add("function undo", func() error { *f.undone++; return nil })
	return attach.Plugged{Device: qemu.VFIO{ID: "pci0", Host: physBDF}, Guest: f.guest}, nil
}

// TestPhysicalKeepsTheNetdev: detaching a physical endpoint whose function
// left the netdev in the pod netns runs the function's undo and rebuilds
// nothing (there is no driver to give the function back to, no netdev to
// find in the init netns); the guest still gets the interface's name,
// MAC, MTU and addresses at the function's guest PCI path.
func TestPhysicalKeepsTheNetdev(t *testing.T) {
	ns := physTestNetns()
	rec, err := RecordPhysical(ns, "net1", physFakeSysfs(t, physBDF, "igbvf"))
	if err != nil {
		t.Fatal(err)
	}
	undone := 0
	p := &Physical{Endpoint: &Endpoint{Link: ns.Links[2]}, Record: rec, Function: keeperFunction{undone: &undone}, GuestPath: "08/00", SysfsRoot: "/nonexistent"}
	var host cleanup.Stack
	plugged, err := p.Attach(context.Background(), &host)
	if err != nil {
		t.Fatal(err)
	}
	steps, ok := plugged.Guest.(attach.Steps)
	if !ok || len(steps) != 1 {
		t.Fatalf("guest requests %#v, want the interface's configuration", plugged.Guest)
	}
	iface := steps[0].(attach.ConfigureInterface).Interface
	if iface.GetName() != "net1" || iface.GetGuestPciPath() != "08/00" || iface.GetHwAddr() != rec.MAC.String() {
		t.Errorf("guest interface %v, want net1 at 08/00 with %s", iface, rec.MAC)
	}
	if err := host.Clean(); err != nil {
		t.Fatalf("undo: %v (nothing is to be rebuilt)", err)
	}
	if undone != 1 {
		t.Errorf("the function's undo ran %d times, want once", undone)
	}
}

// TestPhysicalInVFIOMode: a VF netdev the guest gives to its own vfio-pci
// (devices.vfio_mode "vfio") has no guest interface to configure.
func TestPhysicalInVFIOMode(t *testing.T) {
	ns := physTestNetns()
	rec, err := RecordPhysical(ns, "net1", physFakeSysfs(t, physBDF, "igbvf"))
	if err != nil {
		t.Fatal(err)
	}
	add := attach.AddDevice{Device: &protocol.Device{Id: "pci0", Kind: protocol.DeviceKind_DEVICE_KIND_VFIO, GuestPciPath: "08/00",
		Mode: protocol.DeviceMode_DEVICE_MODE_VFIO}}
	p := &Physical{Endpoint: &Endpoint{Link: ns.Links[2]}, Record: rec, Function: keeperFunction{undone: new(int), guest: add}, GuestPath: "08/00"}
	plugged, err := p.Attach(context.Background(), &cleanup.Stack{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plugged.Guest.(attach.AddDevice); !ok {
		t.Errorf("guest requests %#v, want the function's AddDevice alone", plugged.Guest)
	}
}
