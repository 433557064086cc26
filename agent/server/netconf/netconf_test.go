package netconf

import (
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kite-vm/kite/agent/server/internal/nstest"
	"github.com/kite-vm/kite/agent/server/pcipath"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
	"github.com/vishvananda/netlink"
)

// newTestNet makes a netns with a veth pair kt0/kt1 (kt1 up, so kt0 gets a
// carrier) and a fake sysfs placing kt0 at PCI path 02/00 as a virtio NIC.
func newTestNet(t *testing.T) (*Net, *netlink.Handle, string) {
	t.Helper()
	ns := nstest.NewNetns(t)
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "kt0"}, PeerName: "kt1"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatalf("adding veth: %v", err)
	}
	peer, err := h.LinkByName("kt1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		t.Fatal(err)
	}
	sysfs := t.TempDir()
	dev := sysfstest.PCIDevice(t, sysfs, "00:02", "01:00")
	sysfstest.Dir(t, dev, "virtio3")
	sysfstest.Symlink(t, sysfs, "class/net/kt0/device", filepath.Join(dev, "virtio3"))
	sysfstest.Dir(t, sysfs, "class/net/lo")
	return New(h, sysfs), h, "kt0"
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestIntegrationUpdateInterfaceByPCIPath(t *testing.T) {
	n, h, _ := newTestNet(t)
	p, _ := pcipath.Parse("02/00")
	mac, _ := net.ParseMAC("02:00:00:00:00:05")
	want := Interface{
		Name: "eth0", HWAddr: mac, MTU: 1400,
		Addrs: []netip.Prefix{mustPrefix("10.1.0.5/24"), mustPrefix("fd00::5/64")},
	}
	got, err := n.UpdateInterface(Selector{PCIPath: p}, want)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "eth0" || got.HWAddr.String() != mac.String() || got.MTU != 1400 || !got.Up {
		t.Errorf("UpdateInterface = %+v", got)
	}
	for _, a := range want.Addrs {
		if !slices.Contains(got.Addrs, a) {
			t.Errorf("address %s missing from %v", a, got.Addrs)
		}
	}
	// The kernel agrees.
	l, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if l.Attrs().Flags&net.FlagUp == 0 || l.Attrs().MTU != 1400 {
		t.Errorf("kernel link = %+v", l.Attrs())
	}

	// Found again by MAC, now with one address: the others go, link-local stays.
	got, err = n.UpdateInterface(Selector{HWAddr: mac}, Interface{Addrs: []netip.Prefix{mustPrefix("10.1.0.6/24")}})
	if err != nil {
		t.Fatal(err)
	}
	var global []netip.Prefix
	for _, a := range got.Addrs {
		if !a.Addr().IsLinkLocalUnicast() {
			global = append(global, a)
		}
	}
	if !slices.Equal(global, []netip.Prefix{mustPrefix("10.1.0.6/24")}) {
		t.Errorf("addresses after replace = %v, want only 10.1.0.6/24 (and link-local)", got.Addrs)
	}
}

func TestIntegrationFindErrors(t *testing.T) {
	n, _, _ := newTestNet(t)
	p, _ := pcipath.Parse("03/00")
	mac, _ := net.ParseMAC("02:aa:aa:aa:aa:aa")
	for _, sel := range []Selector{{PCIPath: p}, {Name: "nope0"}, {HWAddr: mac}} {
		if _, err := n.UpdateInterface(sel, Interface{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateInterface(%+v) = %v, want ErrNotFound", sel, err)
		}
	}
	if _, err := n.UpdateInterface(Selector{}, Interface{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty selector: %v, want ErrInvalid", err)
	}
}

func TestIntegrationListInterfaces(t *testing.T) {
	n, _, _ := newTestNet(t)
	ifcs, err := n.ListInterfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ifcs {
		names = append(names, i.Name)
		if i.Name == "kt0" && i.PCIPath != "02/00" {
			t.Errorf("kt0 PCI path = %q, want 02/00", i.PCIPath)
		}
		if i.Name == "lo" && i.PCIPath != "" {
			t.Errorf("lo has PCI path %q", i.PCIPath)
		}
	}
	if !slices.Equal(names, []string{"lo", "kt0", "kt1"}) && !slices.Equal(names, []string{"lo", "kt1", "kt0"}) {
		t.Errorf("links = %v", names)
	}
	if err := n.LinkUp("lo"); err != nil {
		t.Fatal(err)
	}
}

func TestIntegrationUpdateRoutes(t *testing.T) {
	n, _, dev := newTestNet(t)
	if _, err := n.UpdateInterface(Selector{Name: dev}, Interface{
		Addrs: []netip.Prefix{mustPrefix("10.1.0.5/24"), mustPrefix("fd00::5/64")},
	}); err != nil {
		t.Fatal(err)
	}
	gw4, gw6 := netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("fd00::1")
	routes := []Route{
		{Dest: mustPrefix("0.0.0.0/0"), Gateway: gw4, Device: dev, Scope: DefaultScope(gw4)},
		{Dest: mustPrefix("10.2.0.0/16"), Gateway: gw4, Device: dev, Scope: DefaultScope(gw4), Metric: 100},
		{Dest: mustPrefix("192.168.7.0/24"), Device: dev, Scope: DefaultScope(netip.Addr{}), Source: netip.MustParseAddr("10.1.0.5")},
		{Dest: mustPrefix("::/0"), Gateway: gw6, Device: dev, Scope: DefaultScope(gw6)},
	}
	got, err := n.UpdateRoutes(routes)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range routes {
		if !containsRoute(got, want) {
			t.Errorf("route %+v missing from %+v", want, got)
		}
	}
	// The connected route the kernel made for 10.1.0.5/24 is still there.
	if !containsRoute(got, Route{Dest: mustPrefix("10.1.0.0/24"), Device: dev, Scope: netlink.SCOPE_LINK, Source: netip.MustParseAddr("10.1.0.5")}) {
		t.Errorf("connected route gone: %+v", got)
	}

	// A smaller set: the others on the link go.
	got, err = n.UpdateRoutes(routes[:1])
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range routes[1:] {
		if containsRoute(got, gone) {
			t.Errorf("route %+v still there after update", gone)
		}
	}
	if !containsRoute(got, routes[0]) {
		t.Errorf("default route gone: %+v", got)
	}

	if _, err := n.UpdateRoutes([]Route{{Dest: mustPrefix("10.9.0.0/16"), Device: "nope0"}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("route on unknown link: %v, want ErrNotFound", err)
	}
}

func containsRoute(rs []Route, want Route) bool {
	for _, r := range rs {
		if r.Dest == want.Dest && r.Gateway == want.Gateway && r.Device == want.Device &&
			(r.Metric == want.Metric || want.Metric == 0 && want.Dest.Addr().Is6()) && (!want.Source.IsValid() || r.Source == want.Source) &&
			(want.Dest.Addr().Is6() || r.Scope == want.Scope) {
			return true
		}
	}
	return false
}

func TestIntegrationAddNeighbors(t *testing.T) {
	n, h, dev := newTestNet(t)
	mac, _ := net.ParseMAC("02:00:00:00:00:01")
	err := n.AddNeighbors([]Neighbor{
		{IP: netip.MustParseAddr("10.1.0.1"), Device: dev, HWAddr: mac, State: netlink.NUD_PERMANENT},
		{IP: netip.MustParseAddr("fd00::1"), Device: dev, HWAddr: mac, State: netlink.NUD_PERMANENT},
	})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := h.LinkByName(dev)
	neighs, err := h.NeighList(l.Attrs().Index, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, nb := range neighs {
		if nb.HardwareAddr.String() == mac.String() && nb.State == netlink.NUD_PERMANENT {
			found++
		}
	}
	if found != 2 {
		t.Errorf("permanent neighbours with %s: %d, want 2 (%+v)", mac, found, neighs)
	}
	if err := n.AddNeighbors([]Neighbor{{IP: netip.MustParseAddr("10.1.0.2"), Device: "nope0", HWAddr: mac}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("neighbour on unknown link: %v, want ErrNotFound", err)
	}
}
