package server

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/container"
	"github.com/kite-vm/kite/agent/server/netconf"
	"github.com/vishvananda/netlink"
)

func TestCheckID(t *testing.T) {
	for _, ok := range []string{"c1", "a.b-c_d", "0123456789abcdef"} {
		if err := checkID("container", ok); err != nil {
			t.Errorf("checkID(%q) = %v", ok, err)
		}
	}
	long := make([]byte, 129)
	for i := range long {
		long[i] = 'a'
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a b", string(long), "ü"} {
		if err := checkID("container", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("checkID(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestRouteOf(t *testing.T) {
	tests := []struct {
		name string
		in   *protocol.Route
		want netconf.Route
	}{
		{
			name: "IPv4 default from the gateway",
			in:   &protocol.Route{Gateway: "10.0.0.1", Device: "eth0"},
			want: netconf.Route{Dest: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.1"), Device: "eth0", Scope: netlink.SCOPE_UNIVERSE},
		},
		{
			name: "IPv6 default from the family",
			in:   &protocol.Route{Family: protocol.IPFamily_IP_FAMILY_V6, Device: "eth0"},
			want: netconf.Route{Dest: netip.MustParsePrefix("::/0"), Device: "eth0", Scope: netlink.SCOPE_LINK},
		},
		{
			name: "connected route, masked, with source and metric",
			in:   &protocol.Route{Dest: "10.1.2.3/24", Source: "10.1.2.5", Device: "eth1", Metric: 10},
			want: netconf.Route{Dest: netip.MustParsePrefix("10.1.2.0/24"), Source: netip.MustParseAddr("10.1.2.5"), Device: "eth1", Scope: netlink.SCOPE_LINK, Metric: 10},
		},
		{
			name: "explicit scope",
			in:   &protocol.Route{Dest: "192.168.0.0/16", Device: "eth0", Scope: protocol.RouteScope_ROUTE_SCOPE_HOST},
			want: netconf.Route{Dest: netip.MustParsePrefix("192.168.0.0/16"), Device: "eth0", Scope: netlink.SCOPE_HOST},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := routeOf(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("routeOf mismatch (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []*protocol.Route{
		{Device: "eth0"},                    // default route of no family
		{Dest: "10.0.0.0/8", Device: ""},    // no link
		{Dest: "10.0.0.0/8", Device: "a/b"}, // bad link name
		{Dest: "10.0.0.0", Device: "eth0"},  // not CIDR
		{Dest: "fd00::/64", Gateway: "10.0.0.1", Device: "eth0"},
		{Dest: "10.0.0.0/8", Family: protocol.IPFamily_IP_FAMILY_V6, Device: "eth0"},
		{Dest: "10.0.0.0/8", Source: "fd00::1", Gateway: "10.0.0.1", Device: "eth0"},
		{Dest: "10.0.0.0/8", Device: "eth0", Metric: 1 << 31},
	} {
		if _, err := routeOf(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("routeOf(%v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestInterfaceOf(t *testing.T) {
	sel, want, err := interfaceOf(&protocol.Interface{HwAddr: "02:00:00:00:00:07", Name: "eth0", Mtu: 9000,
		Addresses: []*protocol.IPAddress{{Address: "10.0.0.7", PrefixLen: 16}}})
	if err != nil {
		t.Fatal(err)
	}
	if sel.HWAddr.String() != "02:00:00:00:00:07" || !sel.PCIPath.IsZero() || sel.Name != "" {
		t.Errorf("selector = %+v, want by MAC", sel)
	}
	if want.Name != "eth0" || want.MTU != 9000 || len(want.Addrs) != 1 || want.Addrs[0] != netip.MustParsePrefix("10.0.0.7/16") {
		t.Errorf("want = %+v", want)
	}
	sel, _, err = interfaceOf(&protocol.Interface{GuestPciPath: "02/00", DeviceName: "eth9", HwAddr: "02:00:00:00:00:07"})
	if err != nil || sel.PCIPath.String() != "02/00" || sel.Name != "" || sel.HWAddr != nil {
		t.Errorf("PCI path must win: %+v, %v", sel, err)
	}
	for _, bad := range []*protocol.Interface{
		nil,
		{},
		{DeviceName: "eth0", Mtu: 20},
		{DeviceName: "eth0", Name: "much-too-long-name"},
		{DeviceName: "eth0", Addresses: []*protocol.IPAddress{{Address: "10.0.0.1", PrefixLen: 33}}},
		{DeviceName: "eth0", Addresses: []*protocol.IPAddress{{Address: "fe80::1%eth0", PrefixLen: 64}}},
		{DeviceName: "eth0", Addresses: []*protocol.IPAddress{{Family: protocol.IPFamily_IP_FAMILY_V4, Address: "fd00::1", PrefixLen: 64}}},
		{HwAddr: "02:00:00:00:00:00:00:01"},
	} {
		if _, _, err := interfaceOf(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("interfaceOf(%v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestProcessSpec(t *testing.T) {
	umask, adj := uint32(0o27), int32(-500)
	got, err := processSpec(&protocol.Process{
		Args: []string{"sh"}, Env: []string{"A=b"}, Terminal: true, Stdin: true,
		ConsoleSize: &protocol.ConsoleSize{Height: 24, Width: 80},
		User:        &protocol.User{Uid: 1000, Gid: 100, AdditionalGids: []uint32{10}, Umask: &umask},
		Rlimits: []*protocol.Rlimit{
			{Type: protocol.RlimitType_RLIMIT_TYPE_NOFILE, Hard: 1024, Soft: 512},
			{Type: protocol.RlimitType_RLIMIT_TYPE_RTTIME, Hard: 5, Soft: 5},
		},
		Capabilities: &protocol.Capabilities{Bounding: []string{"CAP_CHOWN"}, Permitted: []string{"CAP_CHOWN"}, Effective: []string{"CAP_CHOWN"}},
		OomScoreAdj:  &adj,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantAdj := -500
	want := container.ProcessSpec{
		Args: []string{"sh"}, Env: []string{"A=b"}, Cwd: "/", UID: 1000, GID: 100, AdditionalGIDs: []uint32{10},
		Umask: &umask, Terminal: true, ConsoleSize: &container.WinSize{Rows: 24, Cols: 80}, Stdin: true,
		Rlimits:      []container.Rlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 512}, {Type: "RLIMIT_RTTIME", Hard: 5, Soft: 5}},
		Capabilities: container.Capabilities{Bounding: []string{"CAP_CHOWN"}, Permitted: []string{"CAP_CHOWN"}, Effective: []string{"CAP_CHOWN"}},
		OOMScoreAdj:  &wantAdj,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("processSpec mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []*protocol.Process{
		nil,
		{Args: []string{"sh"}, Rlimits: []*protocol.Rlimit{{Type: 99}}},
		{Args: []string{"sh"}, Rlimits: []*protocol.Rlimit{{Type: protocol.RlimitType_RLIMIT_TYPE_UNSPECIFIED}}},
		{Args: []string{"sh"}, ConsoleSize: &protocol.ConsoleSize{Height: 1 << 20}},
	} {
		if _, err := processSpec(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("processSpec(%v) = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := processSpec(&protocol.Process{Args: []string{"sh"}, Cwd: "relative"}); !errors.Is(err, container.ErrInvalidSpec) {
		t.Errorf("relative cwd: %v, want the container package's ErrInvalidSpec", err)
	}
}
