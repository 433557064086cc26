package netmodels

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
	"google.golang.org/protobuf/testing/protocmp"
)

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func podNetns() *Netns {
	return &Netns{
		Path: "/run/netns/pod",
		Links: []Link{
			{Index: 1, Name: "lo", Kind: KindLoopback},
			{Index: 2, Name: "eth0", Kind: "veth", MAC: mac("02:00:00:00:00:01"), MTU: 1450,
				Addrs: []netip.Prefix{netip.MustParsePrefix("10.1.0.5/24"), netip.MustParsePrefix("fe80::1/64"), netip.MustParsePrefix("fd00::5/64")}},
			{Index: 3, Name: "net1", Kind: "macvlan", MAC: mac("02:00:00:00:00:02"), MTU: 1500},
		},
		Routes: []Route{
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gw: netip.MustParseAddr("10.1.0.1"), Dev: "eth0"},
			{Dst: netip.MustParsePrefix("10.1.0.0/24"), Dev: "eth0", Scope: scopeLink, Src: netip.MustParseAddr("10.1.0.5")},
			{Dst: netip.MustParsePrefix("127.0.0.0/8"), Dev: "lo", Scope: scopeHost},
		},
		Neighbors: []Neighbor{
			{IP: netip.MustParseAddr("10.1.0.1"), MAC: mac("02:00:00:00:00:aa"), Dev: "eth0"},
			{IP: netip.MustParseAddr("127.0.0.2"), MAC: mac("02:00:00:00:00:bb"), Dev: "lo"},
		},
	}
}

func TestPlan(t *testing.T) {
	l, err := Plan(Config{Model: configs.NetTCFilter, Queues: 2}, podNetns())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range l.Endpoints {
		got = append(got, e.ID+"="+e.Link.Name+"/"+string(e.Kind))
		// The netns path is no longer in the network's configuration: each
		// endpoint takes it from the scan.
		if e.NetnsPath != "/run/netns/pod" || e.Queues != 2 {
			t.Errorf("endpoint %s: netns %q, %d queues; want the scan's netns and 2", e.ID, e.NetnsPath, e.Queues)
		}
	}
	if diff := cmp.Diff([]string{"net0=eth0/tcfilter", "net1=net1/tcfilter"}, got); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	wantRoutes := []*protocol.Route{
		{Dest: "10.1.0.0/24", Device: "eth0", Source: "10.1.0.5", Scope: protocol.RouteScope_ROUTE_SCOPE_LINK},
		{Gateway: "10.1.0.1", Device: "eth0", Scope: protocol.RouteScope_ROUTE_SCOPE_UNIVERSE},
	}
	if diff := cmp.Diff(wantRoutes, l.Routes, protocmp.Transform()); diff != "" {
		t.Errorf("routes: link routes first, lo's dropped (-want +got):\n%s", diff)
	}
	wantNeigh := []*protocol.ARPNeighbor{{IpAddress: "10.1.0.1", Device: "eth0", HwAddr: "02:00:00:00:00:aa", State: protocol.NeighborState_NEIGHBOR_STATE_PERMANENT}}
	if diff := cmp.Diff(wantNeigh, l.Neighbors, protocmp.Transform()); diff != "" {
		t.Errorf("neighbors (-want +got):\n%s", diff)
	}
	// Each endpoint carries the routes and neighbors on its own link.
	if diff := cmp.Diff(wantRoutes, l.Endpoints[0].Routes, protocmp.Transform()); diff != "" {
		t.Errorf("eth0's routes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantNeigh, l.Endpoints[0].Neighbors, protocmp.Transform()); diff != "" {
		t.Errorf("eth0's neighbors (-want +got):\n%s", diff)
	}
	if len(l.Endpoints[1].Routes) != 0 || len(l.Endpoints[1].Neighbors) != 0 {
		t.Errorf("net1 has routes %v and neighbors %v, want none", l.Endpoints[1].Routes, l.Endpoints[1].Neighbors)
	}
	iface := guestInterface(l.Endpoints[0].Link, l.Endpoints[0].Link.MAC, 0)
	wantIface := &protocol.Interface{Name: "eth0", HwAddr: "02:00:00:00:00:01", Mtu: 1450, Addresses: []*protocol.IPAddress{
		{Family: protocol.IPFamily_IP_FAMILY_V4, Address: "10.1.0.5", PrefixLen: 24},
		{Family: protocol.IPFamily_IP_FAMILY_V6, Address: "fd00::5", PrefixLen: 64},
	}}
	if diff := cmp.Diff(wantIface, iface, protocmp.Transform()); diff != "" {
		t.Errorf("interface: link-local dropped (-want +got):\n%s", diff)
	}
	if got := guestInterface(l.Endpoints[0].Link, mac("02:00:00:00:00:09"), 9000); got.Mtu != 9000 || got.HwAddr != "02:00:00:00:00:09" {
		t.Errorf("network.mtu and the endpoint's MAC not applied: %v", got)
	}
}

// The refusals of planning were runtime.ErrInvalid; they are ErrPlan now
// (the MAC clash still also matches ErrMACClash).
func TestPlanRefuses(t *testing.T) {
	tests := []struct {
		name   string
		queues int
		mutate func(ns *Netns)
		is     error
		want   string
	}{
		{"queues > 256", 257, nil, ErrPlan, "network.queues resolves to 257: want 1..256"},
		{"no queues", 0, nil, ErrPlan, "want 1..256"},
		{"MAC clash", 1, func(ns *Netns) { ns.Links[2].MAC = ns.Links[1].MAC }, ErrMACClash,
			`"eth0" and "net1" both have 02:00:00:00:00:01`},
		{"no MAC", 1, func(ns *Netns) { ns.Links[1].MAC = nil }, ErrPlan, `interface "eth0" in netns /run/netns/pod has no Ethernet MAC`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := podNetns()
			if tt.mutate != nil {
				tt.mutate(ns)
			}
			_, err := Plan(Config{Model: configs.NetTCFilter, Queues: tt.queues}, ns)
			if !errors.Is(err, tt.is) || !errors.Is(err, ErrPlan) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Plan = %v, want %v (and ErrPlan) containing %q", err, tt.is, tt.want)
			}
		})
	}
}

// TestConfigFrom was runtime's TestPlanNetworkInput. The netns path is no
// longer part of the network's configuration (the engine scans it and
// passes the scan), and whether vhost-user NICs lose MSI-X is the caller's
// answer from the accelerator (qemu.VhostUserNoMSIX), passed in.
func TestConfigFrom(t *testing.T) {
	cfg := configs.Default()
	cfg.Hypervisor.VCPUs = 3
	if got := ConfigFrom(cfg, qemu.VhostUserNoMSIX(qemu.AccelTCG)); got.Queues != 3 || !got.Carried() || !got.NoMSIX {
		t.Errorf("queues 0 must mean one per vCPU, and TCG vhost-user NICs have no MSI-X: %+v", got)
	}
	if got := ConfigFrom(cfg, qemu.VhostUserNoMSIX(qemu.AccelKVM)); got.NoMSIX {
		t.Errorf("KVM vhost-user NICs keep MSI-X: %+v", got)
	}
	cfg.Network.Model = configs.NetNone
	if got := ConfigFrom(cfg, true); got.Carried() {
		t.Errorf("model none must carry nothing: %+v", got)
	}
}

// A link whose IPv4 address names an existing socket under the pattern is
// vhost-user (Kata's convention); a tap is the tap endpoint whatever the
// model; hot-plug planning finds the one interface asked for.
func TestPlanKinds(t *testing.T) {
	dir := t.TempDir()
	pattern := filepath.Join(dir, "vhostuser_"+configs.IPPlaceholder, "vhu.sock")
	os.MkdirAll(filepath.Join(dir, "vhostuser_10.1.0.5"), 0o755)
	os.WriteFile(filepath.Join(dir, "vhostuser_10.1.0.5", "vhu.sock"), nil, 0o644)
	ns := podNetns()
	ns.Links = append(ns.Links, Link{Index: 4, Name: "tap0", Kind: KindTap, MAC: mac("02:00:00:00:00:03")},
		Link{Index: 5, Name: "vf0", Kind: KindDevice, MAC: mac("02:00:00:00:00:04"), BusInfo: "0000:3b:02.1"})
	c := Config{Model: configs.NetMacvtap, Queues: 1, VhostUserSocketPattern: pattern}
	l, err := Plan(c, ns)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range l.Endpoints {
		got = append(got, e.Link.Name+"/"+string(e.Kind)+" "+e.Socket)
	}
	want := []string{"eth0/vhost-user " + filepath.Join(dir, "vhostuser_10.1.0.5", "vhu.sock"), "net1/macvtap ", "tap0/tap ", "vf0/physical "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	// planHotNIC is PlanHot, which returns the endpoint with its routes
	// and neighbors and takes the root port it goes on.
	ep, err := PlanHot(c, ns, "net1", "hnet1", "rp3", l.Endpoints[:1])
	if err != nil || ep.ID != "hnet1" || ep.Kind != EndpointMacvtap || len(ep.Routes) != 0 || ep.Bus != "rp3" {
		t.Errorf("PlanHot(net1) = %+v, %v", ep, err)
	}
	if _, err := PlanHot(c, ns, "eth0", "hnet2", "rp3", l.Endpoints[:1]); !errors.Is(err, ErrPlan) || !strings.Contains(err.Error(), "already in the VM") {
		t.Errorf("PlanHot of a carried interface = %v", err)
	}
	if _, err := PlanHot(c, ns, "lo", "hnet2", "rp3", nil); !errors.Is(err, ErrPlan) || !strings.Contains(err.Error(), "is not carried") {
		t.Errorf("PlanHot(lo) = %v", err)
	}
	if _, err := PlanHot(c, ns, "gone0", "hnet2", "rp3", nil); !errors.Is(err, ErrNoInterface) {
		t.Errorf("PlanHot of a missing interface = %v", err)
	}
}

// Routes the guest kernel makes by itself from the addresses are not sent
// when they are all there is; with a route of the pod's own, all go.
func TestGuestRoutesKernelOnly(t *testing.T) {
	ns := podNetns()
	ns.Routes = []Route{
		{Dst: netip.MustParsePrefix("10.1.0.0/24"), Dev: "eth0", Scope: scopeLink, Src: netip.MustParseAddr("10.1.0.5")},
		{Dst: netip.MustParsePrefix("fe80::/64"), Dev: "eth0"},
	}
	if got := guestRoutes(ns, map[string]bool{"eth0": true}); got != nil {
		t.Errorf("kernel-made routes only: %v, want none sent", got)
	}
	ns.Routes = append(ns.Routes, Route{Dst: netip.MustParsePrefix("192.168.0.0/16"), Gw: netip.MustParseAddr("10.1.0.1"), Dev: "eth0"})
	if got := guestRoutes(ns, map[string]bool{"eth0": true}); len(got) != 3 {
		t.Errorf("with a gateway route: %d routes, want all 3 (UpdateRoutes replaces a link's routes)", len(got))
	}
}
