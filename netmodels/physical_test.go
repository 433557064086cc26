package netmodels

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

const physBDF = "0000:3b:02.1"

// physFakeSysfs makes a sysfs with the function bdf bound to driver (""
// for none) and returns its root.
func physFakeSysfs(t *testing.T, bdf, driver string) string {
	t.Helper()
	tree := sysfstest.New(t)
	tree.Add(sysfstest.Function{BDF: bdf, Driver: driver})
	return tree.Root
}

func physTestNetns() *Netns {
	pfx, addr := netip.MustParsePrefix, netip.MustParseAddr
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 0x31}
	return &Netns{
		Path: "/run/netns/pod",
		Links: []Link{
			{Index: 1, Name: "lo", Kind: KindLoopback, Up: true},
			{Index: 2, Name: "eth0", Kind: "veth", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}},
			{Index: 7, Name: "net1", Kind: KindDevice, MAC: mac, MTU: 9000, Up: true, BusInfo: physBDF,
				Addrs: []netip.Prefix{pfx("10.56.0.5/24"), pfx("fd00:56::5/64")}},
		},
		Routes: []Route{
			{Dst: pfx("0.0.0.0/0"), Gw: addr("10.0.0.1"), Dev: "eth0"},
			{Dst: pfx("10.56.0.0/24"), Dev: "net1", Scope: 253, Src: addr("10.56.0.5")},
			{Dst: pfx("10.200.0.0/16"), Gw: addr("10.56.0.1"), Dev: "net1"},
			{Dst: pfx("fd00:56::/64"), Dev: "net1"},
			{Dst: pfx("fe80::/64"), Dev: "net1"},
		},
		Neighbors: []Neighbor{
			{IP: addr("10.56.0.1"), MAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x99}, Dev: "net1"},
			{IP: addr("10.0.0.1"), MAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x98}, Dev: "eth0"},
		},
	}
}

var physCmp = cmp.Options{
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
}

func TestRecordPhysical(t *testing.T) {
	ns := physTestNetns()
	got, err := RecordPhysical(ns, "net1", physFakeSysfs(t, physBDF, "iavf"))
	if err != nil {
		t.Fatal(err)
	}
	want := &PhysicalEndpoint{
		NetnsPath: "/run/netns/pod", Name: "net1", MAC: ns.Links[2].MAC, MTU: 9000, Up: true,
		Addrs: ns.Links[2].Addrs, Routes: ns.Routes[2:3], Neighbors: ns.Neighbors[:1], BDF: physBDF, Driver: "iavf",
	}
	if diff := cmp.Diff(want, got, physCmp); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

func TestRecordPhysicalBadInput(t *testing.T) {
	sys := physFakeSysfs(t, physBDF, "")
	tests := []struct {
		name, ifname string
		want         error
	}{
		{"not PCI", "eth0", ErrNoPCI},
		{"missing", "net9", ErrNoInterface},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RecordPhysical(physTestNetns(), tt.ifname, sys)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.ifname) {
				t.Errorf("error = %v, want %v naming %s", err, tt.want, tt.ifname)
			}
		})
	}
	// An unbound function records an empty driver.
	p, err := RecordPhysical(physTestNetns(), "net1", sys)
	if err != nil || p.Driver != "" {
		t.Errorf("unbound: driver %q, error %v", p.Driver, err)
	}
}

func TestRestorePlan(t *testing.T) {
	rec, err := RecordPhysical(physTestNetns(), "net1", physFakeSysfs(t, physBDF, "iavf"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cur  Link
		want []string
	}{
		{"fresh netdev, up, other MAC and MTU",
			Link{Index: 12, Name: "eth3", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x77}, MTU: 1500, Up: true},
			[]string{
				"set down", "rename to kitevf12", "move to netns /run/netns/pod", "rename to net1",
				"set MAC 02:00:00:00:00:31", "set MTU 9000",
				"add address 10.56.0.5/24", "add address fd00:56::5/64", "set up",
				"add route 10.200.0.0/16 via 10.56.0.1 scope 0",
				"add neighbor 10.56.0.1 lladdr 02:00:00:00:00:99",
			}},
		{"down, MAC and MTU kept (admin MAC set on the PF)",
			Link{Index: 4, Name: "eth3", MAC: rec.MAC, MTU: 9000},
			[]string{
				"rename to kitevf4", "move to netns /run/netns/pod", "rename to net1",
				"add address 10.56.0.5/24", "add address fd00:56::5/64", "set up",
				"add route 10.200.0.0/16 via 10.56.0.1 scope 0",
				"add neighbor 10.56.0.1 lladdr 02:00:00:00:00:99",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range rec.restorePlan(tt.cur) {
				got = append(got, s.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRestorePlanRoutesBeforeGateways(t *testing.T) {
	pfx, addr := netip.MustParsePrefix, netip.MustParseAddr
	rec := &PhysicalEndpoint{NetnsPath: "/p", Name: "n", Routes: []Route{
		{Dst: pfx("0.0.0.0/0"), Gw: addr("10.0.0.1")},
		{Dst: pfx("10.0.0.0/24"), Scope: 253},
	}}
	plan := rec.restorePlan(Link{Index: 1, Name: "x"})
	var routes []string
	for _, s := range plan {
		if r, ok := s.(stepRoute); ok {
			routes = append(routes, r.Route.Dst.String())
		}
	}
	if diff := cmp.Diff([]string{"10.0.0.0/24", "0.0.0.0/0"}, routes); diff != "" {
		t.Errorf("route order (-want +got):\n%s", diff)
	}
}

func TestNetdevOfBDF(t *testing.T) {
	root := physFakeSysfs(t, physBDF, "iavf")
	netDir := filepath.Join(root, "bus", "pci", "devices", physBDF, "net")
	go func() {
		time.Sleep(30 * time.Millisecond) // the driver's probe, later
		os.MkdirAll(filepath.Join(netDir, "eth7"), 0o755)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	name, err := NetdevOfBDF(ctx, root, physBDF)
	if err != nil || name != "eth7" {
		t.Errorf("NetdevOfBDF = %q, %v; want eth7", name, err)
	}

	short, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	if _, err := NetdevOfBDF(short, root, "0000:3b:02.2"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("no netdev: error = %v, want DeadlineExceeded", err)
	}
}
