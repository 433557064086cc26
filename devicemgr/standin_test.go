package devicemgr

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
	"google.golang.org/protobuf/testing/protocmp"
)

// TestStandInDiffersOnlyInTheDevice: a function with a stand-in keeps its
// port and agent request, renders the emulated device, and changes nothing
// on the host (the sysfs root does not even exist).
func TestStandInDiffersOnlyInTheDevice(t *testing.T) {
	tap, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	topo := NewTopology()
	port, _ := topo.Reserve("pci0")
	for _, tt := range []struct {
		name    string
		standIn *StandIn
		mode    configs.VFIOMode
		want    qemu.Device
	}{
		{"nic", &StandIn{NIC: qemu.NICE1000E, MAC: "02:00:00:00:00:09", Tap: tap}, configs.VFIOGuestKernel,
			qemu.EmulatedNIC{ID: "pci0", Bus: port.ID, Model: qemu.NICE1000E, MAC: "02:00:00:00:00:09", Tap: tap}},
		{"nvme", &StandIn{NVMeImage: "/srv/ns.img"}, configs.VFIOUserspace,
			qemu.NVMe{ID: "pci0", Bus: port.ID, Serial: "kite-pci0", Path: "/srv/ns.img"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fn := &VFIOFunction{ID: "pci0", BDF: "0000:3b:02.1", Port: port, Mode: tt.mode, SysfsRoot: "/nonexistent", StandIn: tt.standIn}
			real := &VFIOFunction{ID: "pci0", BDF: "0000:3b:02.1", Port: port, Mode: tt.mode}
			var host cleanup.Stack
			p, err := fn.Attach(context.Background(), &host)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p.Device, cmp.Comparer(func(a, b *os.File) bool { return a == b })); diff != "" {
				t.Errorf("device (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(real.Guest(), p.Guest, protocmp.Transform()); diff != "" {
				t.Errorf("the agent request differs from passthrough's (-passthrough +stand-in):\n%s", diff)
			}
			if g := p.Guest.(attach.AddDevice); g.Device.GetGuestPciPath() != "08/00" || g.Device.GetKind() != protocol.DeviceKind_DEVICE_KIND_VFIO {
				t.Errorf("agent request %v, want a VFIO-kind device at 08/00", g.Device)
			}
			if host.Len() != 0 || !fn.KeepsHostNetdev() || real.KeepsHostNetdev() {
				t.Errorf("host undo steps %d, keeps netdev %v (real %v): a stand-in takes nothing from the host", host.Len(), fn.KeepsHostNetdev(), real.KeepsHostNetdev())
			}
			if _, ok := fn.Preview().(qemu.VFIO); ok {
				t.Errorf("a stand-in previews as vfio-pci")
			}
		})
	}
	for _, bad := range []*StandIn{{}, {NIC: qemu.NICE1000E, NVMeImage: "/x"}} {
		fn := &VFIOFunction{ID: "pci0", Port: port, StandIn: bad}
		if _, err := fn.Attach(context.Background(), &cleanup.Stack{}); !errors.Is(err, ErrStandIn) {
			t.Errorf("stand-in %+v: Attach = %v, want ErrStandIn", bad, err)
		}
	}
}
