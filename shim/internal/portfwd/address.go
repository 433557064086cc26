package portfwd

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/kite-vm/kite/internal/nldump"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// ErrNoAddress is returned when the pod netns has no address to forward to.
var ErrNoAddress = errors.New("no pod address")

// PodAddress is the address the pod's workload answers at: the first
// global IPv4 address of the netns' eth0 (the interface CNI plugins give
// the pod's primary network), else its first global IPv6 one, else the
// same on any other interface but lo. Read it before the VM boots: the
// macvtap and tap endpoints take the addresses off the pod interface while
// the guest owns them.
func PodAddress(netnsPath string) (netip.Addr, error) {
	ns, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("opening netns %s: %w", netnsPath, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("netlink in netns %s: %w", netnsPath, err)
	}
	defer h.Close()
	links, err := nldump.Retry(h.LinkList)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("listing the links of netns %s: %w", netnsPath, err)
	}
	var found []linkAddrs
	for _, l := range links {
		addrs, err := nldump.Retry(func() ([]netlink.Addr, error) { return h.AddrList(l, netlink.FAMILY_ALL) })
		if err != nil {
			return netip.Addr{}, fmt.Errorf("listing the addresses of %s in netns %s: %w", l.Attrs().Name, netnsPath, err)
		}
		la := linkAddrs{name: l.Attrs().Name}
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok {
				la.addrs = append(la.addrs, ip.Unmap())
			}
		}
		found = append(found, la)
	}
	if ip, ok := pickAddress(found); ok {
		return ip, nil
	}
	return netip.Addr{}, fmt.Errorf("%w in netns %s", ErrNoAddress, netnsPath)
}

// linkAddrs is one interface's addresses.
type linkAddrs struct {
	name  string
	addrs []netip.Addr
}

// pickAddress chooses as PodAddress says: eth0 first, IPv4 before IPv6,
// global unicast addresses only, never lo's.
func pickAddress(links []linkAddrs) (netip.Addr, bool) {
	for _, pass := range []func(linkAddrs, netip.Addr) bool{
		func(l linkAddrs, ip netip.Addr) bool { return l.name == "eth0" && ip.Is4() },
		func(l linkAddrs, ip netip.Addr) bool { return l.name == "eth0" },
		func(l linkAddrs, ip netip.Addr) bool { return ip.Is4() },
		func(l linkAddrs, ip netip.Addr) bool { return true },
	} {
		for _, l := range links {
			if l.name == "lo" {
				continue
			}
			for _, ip := range l.addrs {
				if ip.IsGlobalUnicast() && pass(l, ip) {
					return ip, true
				}
			}
		}
	}
	return netip.Addr{}, false
}
