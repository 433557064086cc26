package server

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/internal/nstest"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
	"github.com/vishvananda/netlink"
	"google.golang.org/grpc/codes"
)

// TestIntegrationNetworkRPCs configures a veth in a netns of the test's
// own through the RPCs, finding it by guest PCI path in a fake sysfs.
func TestIntegrationNetworkRPCs(t *testing.T) {
	ns := nstest.NewNetns(t)
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	if err := nh.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "kt0"}, PeerName: "kt1"}); err != nil {
		t.Fatal(err)
	}
	peer, _ := nh.LinkByName("kt1")
	nh.LinkSetUp(peer)
	cfg := testConfig(t)
	dev := sysfstest.PCIDevice(t, cfg.Sysfs, "00:04", "05:00")
	sysfstest.Dir(t, dev, "virtio1")
	sysfstest.Symlink(t, cfg.Sysfs, "class/net/kt0/device", dev+"/virtio1")
	h := newHarness(t, cfg, harnessOpts{netlink: nh})
	ctx := testCtx(t)

	up, err := h.client.UpdateInterface(ctx, &protocol.UpdateInterfaceRequest{Interface: &protocol.Interface{
		GuestPciPath: "04/00", Name: "eth0", HwAddr: "02:00:00:00:00:05", Mtu: 1450,
		Addresses: []*protocol.IPAddress{{Address: "10.1.0.5", PrefixLen: 24}, {Family: protocol.IPFamily_IP_FAMILY_V6, Address: "fd00::5", PrefixLen: 64}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ifc := up.Interface
	if ifc.Name != "eth0" || ifc.HwAddr != "02:00:00:00:00:05" || ifc.Mtu != 1450 || !ifc.Up || len(ifc.Addresses) < 2 {
		t.Errorf("UpdateInterface = %+v", ifc)
	}

	rt, err := h.client.UpdateRoutes(ctx, &protocol.UpdateRoutesRequest{Routes: []*protocol.Route{
		{Gateway: "10.1.0.1", Device: "eth0"},
		{Dest: "10.96.0.0/12", Gateway: "10.1.0.1", Device: "eth0", Metric: 50},
		{Dest: "::/0", Gateway: "fd00::1", Device: "eth0"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, r := range rt.Routes {
		found[r.Dest+" via "+r.Gateway] = true
	}
	for _, k := range []string{" via 10.1.0.1", "10.96.0.0/12 via 10.1.0.1", " via fd00::1", "10.1.0.0/24 via "} {
		if !found[k] {
			t.Errorf("route %q missing from %v", k, found)
		}
	}

	if _, err := h.client.AddARPNeighbors(ctx, &protocol.AddARPNeighborsRequest{Neighbors: []*protocol.ARPNeighbor{
		{IpAddress: "10.1.0.1", HwAddr: "02:00:00:00:00:01", Device: "eth0"},
	}}); err != nil {
		t.Fatal(err)
	}

	// The kernel renames the sysfs entry with the link; so does the fake.
	if err := os.Rename(filepath.Join(cfg.Sysfs, "class/net/kt0"), filepath.Join(cfg.Sysfs, "class/net/eth0")); err != nil {
		t.Fatal(err)
	}
	list, err := h.client.ListInterfaces(ctx, &protocol.ListInterfacesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{}
	for _, i := range list.Interfaces {
		paths[i.Name] = i.GuestPciPath
	}
	if diff := cmp.Diff(map[string]string{"lo": "", "eth0": "04/00", "kt1": ""}, paths); diff != "" {
		t.Errorf("ListInterfaces PCI paths (-want +got):\n%s", diff)
	}
	routes, err := h.client.ListRoutes(ctx, &protocol.ListRoutesRequest{})
	if err != nil || len(routes.Routes) < 4 {
		t.Errorf("ListRoutes = %v, %v", routes, err)
	}
	_, err = h.client.UpdateInterface(ctx, &protocol.UpdateInterfaceRequest{Interface: &protocol.Interface{GuestPciPath: "04/01"}})
	wantCode(t, "UpdateInterface at an empty PCI path", err, codes.NotFound)
}
