package portfwd

import (
	"net/netip"
	"testing"
)

func TestPickAddress(t *testing.T) {
	a := netip.MustParseAddr
	for _, c := range []struct {
		name  string
		links []linkAddrs
		want  string
	}{
		{"eth0's IPv4 before an earlier interface's", []linkAddrs{
			{"net1", []netip.Addr{a("10.56.217.2")}},
			{"eth0", []netip.Addr{a("fd00::2"), a("10.88.0.5")}},
		}, "10.88.0.5"},
		{"eth0's IPv6 when it has no IPv4", []linkAddrs{
			{"net1", []netip.Addr{a("10.56.217.2")}},
			{"eth0", []netip.Addr{a("fe80::1"), a("fd00::2")}},
		}, "fd00::2"},
		{"another interface without eth0", []linkAddrs{
			{"lo", []netip.Addr{a("127.0.0.1")}},
			{"net1", []netip.Addr{a("fe80::1"), a("fd00::7"), a("10.56.217.2")}},
		}, "10.56.217.2"},
		{"lo and link-local only", []linkAddrs{
			{"lo", []netip.Addr{a("127.0.0.1"), a("::1")}},
			{"eth0", []netip.Addr{a("fe80::1")}},
		}, ""},
	} {
		got, ok := pickAddress(c.links)
		if c.want == "" {
			if ok {
				t.Errorf("%s: picked %v, want none", c.name, got)
			}
			continue
		}
		if !ok || got != a(c.want) {
			t.Errorf("%s: picked %v (%v), want %s", c.name, got, ok, c.want)
		}
	}
}
