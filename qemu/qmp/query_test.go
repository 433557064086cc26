package qmp_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

// testdata/query-pci.json is QEMU 7.2's answer, recorded from a q35 VM with
// root ports rp1 (virtio-net-pci nic1 hot-plugged behind it) and rp2 (a
// pcie-pci-bridge br1 with e1000 e1 behind it), after SeaBIOS numbered the
// buses.
func TestQueryPCI(t *testing.T) {
	recorded, err := os.ReadFile("testdata/query-pci.json")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := start(t, qmptest.Expect("query-pci", "").Returns(string(recorded)))
	buses, err := c.QueryPCI(testContext(t))
	if err != nil {
		t.Fatalf("QueryPCI: %v", err)
	}
	if len(buses) != 1 || buses[0].Bus != 0 || len(buses[0].Devices) != 6 {
		t.Fatalf("QueryPCI = %+v, want root bus 0 with 6 devices", buses)
	}
	tests := []struct {
		qdevID string
		want   qmp.PCIDevice
	}{
		{"nic1", qmp.PCIDevice{Bus: 1, Slot: 0, Function: 0,
			ClassInfo: qmp.PCIClassInfo{Class: 0x0200, Desc: "Ethernet controller"},
			IDs:       qmp.PCIIDs{Vendor: 0x1af4, Device: 0x1041, SubsystemVendor: 0x1af4, Subsystem: 0x1100},
			QdevID:    "nic1"}},
		{"e1", qmp.PCIDevice{Bus: 3, Slot: 1, Function: 0,
			ClassInfo: qmp.PCIClassInfo{Class: 0x0200, Desc: "Ethernet controller"},
			IDs:       qmp.PCIIDs{Vendor: 0x8086, Device: 0x100e, SubsystemVendor: 0x1af4, Subsystem: 0x1100},
			QdevID:    "e1"}},
	}
	for _, tt := range tests {
		got, ok := qmp.FindPCIDevice(buses, tt.qdevID)
		if !ok {
			t.Errorf("FindPCIDevice(%q) found nothing", tt.qdevID)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("device %s (-want +got):\n%s", tt.qdevID, diff)
		}
	}
	rp2, _ := qmp.FindPCIDevice(buses, "rp2")
	br1, _ := qmp.FindPCIDevice(buses, "br1")
	if rp2.Bridge == nil || br1.Bridge == nil {
		t.Fatalf("rp2 bridge %+v, br1 bridge %+v: want both decoded", rp2.Bridge, br1.Bridge)
	}
	wantBus := []qmp.PCIBridgeBus{{Number: 0, Secondary: 2, Subordinate: 3}, {Number: 2, Secondary: 3, Subordinate: 3}}
	if diff := cmp.Diff(wantBus, []qmp.PCIBridgeBus{rp2.Bridge.Bus, br1.Bridge.Bus}); diff != "" {
		t.Errorf("bridge bus numbers (-want +got):\n%s", diff)
	}
	if _, ok := qmp.FindPCIDevice(buses, "absent"); ok {
		t.Error("FindPCIDevice found a device that is not there")
	}
}

func TestQueryStatus(t *testing.T) {
	c, _ := start(t,
		qmptest.Expect("query-status", "").Returns(`{"status": "running", "singlestep": false, "running": true}`),
		qmptest.Expect("query-status", "").Returns(`{"status": "paused", "singlestep": false, "running": false}`),
	)
	for _, want := range []qmp.Status{{Status: "running", Running: true}, {Status: "paused"}} {
		got, err := c.QueryStatus(testContext(t))
		if err != nil || got != want {
			t.Errorf("QueryStatus = %+v, %v; want %+v", got, err, want)
		}
	}
}
