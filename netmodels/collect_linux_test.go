package netmodels

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
)

func TestScanMissingNetns(t *testing.T) {
	const path = "/run/netns/kite-no-such-netns"
	_, err := Scan(path)
	if !errors.Is(err, ErrNoNetns) || !strings.Contains(err.Error(), path) {
		t.Errorf("Scan(%q) error = %v, want ErrNoNetns naming the path", path, err)
	}
}

func TestIntegrationScanPodNetns(t *testing.T) {
	p := tcfNewPodNet(t, 1400)
	ns, err := Scan(p.PodPath)
	if err != nil {
		t.Fatal(err)
	}
	if ns.Path != p.PodPath {
		t.Errorf("Path = %q, want %q", ns.Path, p.PodPath)
	}
	byName := map[string]Link{}
	for _, l := range ns.Links {
		byName[l.Name] = l
	}
	if lo := byName["lo"]; lo.Kind != KindLoopback || Class(lo, configs.NetTCFilter) != EndpointNone {
		t.Errorf("lo = %+v, want kind loopback, not carried", lo)
	}
	eth0, ok := byName[tcfPodIf]
	if !ok {
		t.Fatalf("no %s in %+v", tcfPodIf, ns.Links)
	}
	nodeIdx := tcfHandleLinkIndex(t, p.NodePath, p.NodeIf)
	want := Link{
		Index: eth0.Index, Name: tcfPodIf, Kind: "veth", MAC: p.PodMAC, MTU: 1400, Up: true,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.77.0.2/24")}, PeerIndex: nodeIdx,
	}
	if diff := cmp.Diff(want, eth0, tcfCmpOpts()); diff != "" {
		t.Errorf("eth0 (-want +got):\n%s", diff)
	}
	if k := Class(eth0, configs.NetTCFilter); k != EndpointTCFilter {
		t.Errorf("Class(eth0) = %q, want tcfilter", k)
	}
	wantRoutes := []Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gw: netip.MustParseAddr("10.77.0.1"), Dev: tcfPodIf},
		{Dst: netip.MustParsePrefix("10.77.0.0/24"), Dev: tcfPodIf, Scope: 253, Src: netip.MustParseAddr("10.77.0.2")},
	}
	if diff := cmp.Diff(wantRoutes, ipv4Routes(ns.Routes), tcfCmpOpts()); diff != "" {
		t.Errorf("IPv4 routes (-want +got):\n%s", diff)
	}
	wantNeigh := []Neighbor{{IP: netip.MustParseAddr("10.77.0.1"), MAC: p.NodeMAC, Dev: tcfPodIf}}
	if diff := cmp.Diff(wantNeigh, ns.Neighbors, tcfCmpOpts()); diff != "" {
		t.Errorf("permanent neighbors (-want +got):\n%s", diff)
	}
}

func ipv4Routes(rs []Route) []Route {
	var out []Route
	for _, r := range rs {
		if r.Dst.Addr().Is4() {
			out = append(out, r)
		}
	}
	return out
}

func tcfHandleLinkIndex(t *testing.T, path, name string) int {
	t.Helper()
	l, err := testHandle(t, path).LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().Index
}

// tcfCmpOpts compares netip values by value (their fields are unexported).
func tcfCmpOpts() cmp.Options {
	return cmp.Options{
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	}
}
