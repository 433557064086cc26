package runtime

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
	"github.com/kite-vm/kite/netmodels"
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

func podNetns() *netmodels.Netns {
	return &netmodels.Netns{
		Path: "/run/netns/pod",
		Links: []netmodels.Link{
			{Index: 1, Name: "lo", Kind: netmodels.KindLoopback},
			{Index: 2, Name: "eth0", Kind: "veth", MAC: mac("02:00:00:00:00:01"), MTU: 1450,
				Addrs: []netip.Prefix{netip.MustParsePrefix("10.1.0.5/24"), netip.MustParsePrefix("fe80::1/64"), netip.MustParsePrefix("fd00::5/64")}},
			{Index: 3, Name: "net1", Kind: "macvlan", MAC: mac("02:00:00:00:00:02"), MTU: 1500},
		},
		Routes: []netmodels.Route{
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gw: netip.MustParseAddr("10.1.0.1"), Dev: "eth0"},
			{Dst: netip.MustParsePrefix("10.1.0.0/24"), Dev: "eth0", Scope: scopeLink, Src: netip.MustParseAddr("10.1.0.5")},
			{Dst: netip.MustParsePrefix("127.0.0.0/8"), Dev: "lo", Scope: scopeHost},
		},
		Neighbors: []netmodels.Neighbor{
			{IP: netip.MustParseAddr("10.1.0.1"), MAC: mac("02:00:00:00:00:aa"), Dev: "eth0"},
			{IP: netip.MustParseAddr("127.0.0.2"), MAC: mac("02:00:00:00:00:bb"), Dev: "lo"},
		},
	}
}

func TestPlanNetwork(t *testing.T) {
	l, err := planNetwork(NetworkPlan{NetnsPath: "/run/netns/pod", Model: configs.NetTCFilter, Queues: 2}, podNetns())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range l.Endpoints {
		got = append(got, e.ID+"="+e.Link.Name+"/"+string(e.Kind))
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
	iface := guestInterface(l.Endpoints[0], l.Endpoints[0].Link.MAC, 0)
	wantIface := &protocol.Interface{Name: "eth0", HwAddr: "02:00:00:00:00:01", Mtu: 1450, Addresses: []*protocol.IPAddress{
		{Family: protocol.IPFamily_IP_FAMILY_V4, Address: "10.1.0.5", PrefixLen: 24},
		{Family: protocol.IPFamily_IP_FAMILY_V6, Address: "fd00::5", PrefixLen: 64},
	}}
	if diff := cmp.Diff(wantIface, iface, protocmp.Transform()); diff != "" {
		t.Errorf("interface: link-local dropped (-want +got):\n%s", diff)
	}
	if got := guestInterface(l.Endpoints[0], mac("02:00:00:00:00:09"), 9000); got.Mtu != 9000 || got.HwAddr != "02:00:00:00:00:09" {
		t.Errorf("network.mtu and the endpoint's MAC not applied: %v", got)
	}
}

func TestPlanNetworkRefuses(t *testing.T) {
	tests := []struct {
		name   string
		queues int
		mutate func(ns *netmodels.Netns)
		is     error
		want   string
	}{
		{"queues > 256", 257, nil, ErrInvalid, "network.queues resolves to 257: want 1..256"},
		{"no queues", 0, nil, ErrInvalid, "want 1..256"},
		{"MAC clash", 1, func(ns *netmodels.Netns) { ns.Links[2].MAC = ns.Links[1].MAC }, netmodels.ErrMACClash,
			`"eth0" and "net1" both have 02:00:00:00:00:01`},
		{"no MAC", 1, func(ns *netmodels.Netns) { ns.Links[1].MAC = nil }, ErrInvalid, `interface "eth0" in netns /run/netns/pod has no Ethernet MAC`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := podNetns()
			if tt.mutate != nil {
				tt.mutate(ns)
			}
			_, err := planNetwork(NetworkPlan{Model: configs.NetTCFilter, Queues: tt.queues}, ns)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("planNetwork = %v, want %v containing %q", err, tt.is, tt.want)
			}
		})
	}
}

func TestPlanNetworkInput(t *testing.T) {
	cfg := configs.Default()
	cfg.Hypervisor.VCPUs = 3
	if got := planNetworkInput(cfg, "/run/netns/p", qemu.AccelTCG); got.Queues != 3 || got.NetnsPath != "/run/netns/p" || !got.NoMSIX {
		t.Errorf("queues 0 must mean one per vCPU, and TCG vhost-user NICs have no MSI-X: %+v", got)
	}
	if got := planNetworkInput(cfg, "/run/netns/p", qemu.AccelKVM); got.NoMSIX {
		t.Errorf("KVM vhost-user NICs keep MSI-X: %+v", got)
	}
	cfg.Network.Model = configs.NetNone
	if got := planNetworkInput(cfg, "/run/netns/p", qemu.AccelTCG); got.NetnsPath != "" {
		t.Errorf("model none must carry nothing: %+v", got)
	}
}

// A link whose IPv4 address names an existing socket under the pattern is
// vhost-user (Kata's convention); a tap is the tap endpoint whatever the
// model; hot-plug planning finds the one interface asked for.
func TestPlanNetworkKinds(t *testing.T) {
	dir := t.TempDir()
	pattern := filepath.Join(dir, "vhostuser_"+configs.IPPlaceholder, "vhu.sock")
	os.MkdirAll(filepath.Join(dir, "vhostuser_10.1.0.5"), 0o755)
	os.WriteFile(filepath.Join(dir, "vhostuser_10.1.0.5", "vhu.sock"), nil, 0o644)
	ns := podNetns()
	ns.Links = append(ns.Links, netmodels.Link{Index: 4, Name: "tap0", Kind: netmodels.KindTap, MAC: mac("02:00:00:00:00:03")},
		netmodels.Link{Index: 5, Name: "vf0", Kind: netmodels.KindDevice, MAC: mac("02:00:00:00:00:04"), BusInfo: "0000:3b:02.1"})
	p := NetworkPlan{Model: configs.NetMacvtap, Queues: 1, VhostUserSocketPattern: pattern}
	l, err := planNetwork(p, ns)
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
	ep, hl, err := planHotNIC(p, ns, "net1", "hnet1", l.Endpoints[:1])
	if err != nil || ep.ID != "hnet1" || ep.Kind != netmodels.EndpointMacvtap || len(hl.Routes) != 0 {
		t.Errorf("planHotNIC(net1) = %+v, %+v, %v", ep, hl, err)
	}
	if _, _, err := planHotNIC(p, ns, "eth0", "hnet2", l.Endpoints[:1]); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "already in the VM") {
		t.Errorf("planHotNIC of a carried interface = %v", err)
	}
	if _, _, err := planHotNIC(p, ns, "lo", "hnet2", nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "is not carried") {
		t.Errorf("planHotNIC(lo) = %v", err)
	}
	if _, _, err := planHotNIC(p, ns, "gone0", "hnet2", nil); !errors.Is(err, netmodels.ErrNoInterface) {
		t.Errorf("planHotNIC of a missing interface = %v", err)
	}
}

// Routes the guest kernel makes by itself from the addresses are not sent
// when they are all there is; with a route of the pod's own, all go.
func TestGuestRoutesKernelOnly(t *testing.T) {
	ns := podNetns()
	ns.Routes = []netmodels.Route{
		{Dst: netip.MustParsePrefix("10.1.0.0/24"), Dev: "eth0", Scope: scopeLink, Src: netip.MustParseAddr("10.1.0.5")},
		{Dst: netip.MustParsePrefix("fe80::/64"), Dev: "eth0"},
	}
	if got := guestRoutes(ns, map[string]bool{"eth0": true}); got != nil {
		t.Errorf("kernel-made routes only: %v, want none sent", got)
	}
	ns.Routes = append(ns.Routes, netmodels.Route{Dst: netip.MustParsePrefix("192.168.0.0/16"), Gw: netip.MustParseAddr("10.1.0.1"), Dev: "eth0"})
	if got := guestRoutes(ns, map[string]bool{"eth0": true}); len(got) != 3 {
		t.Errorf("with a gateway route: %d routes, want all 3 (UpdateRoutes replaces a link's routes)", len(got))
	}
}
