package netmodels

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/kite-vm/kite/internal/nldump"
	"github.com/safchain/ethtool"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Scan reads the links, addresses, main-table routes and permanent
// neighbors of the network namespace at netnsPath (a bind-mounted nsfs file
// such as /run/netns/NAME or /proc/PID/ns/net).
func Scan(netnsPath string) (*Netns, error) {
	ns, h, err := podNetlink(netnsPath)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	defer h.Close()

	out := &Netns{Path: netnsPath}
	if out.Links, err = scanLinks(h); err != nil {
		return nil, fmt.Errorf("scanning netns %q: %w", netnsPath, err)
	}
	// ethtool speaks through an AF_INET socket, which answers for the netns it
	// was created in: so it must be opened inside.
	if err := doInPodNetns(ns, func() error { return fillBusInfo(out.Links) }); err != nil {
		return nil, fmt.Errorf("scanning netns %q: %w", netnsPath, err)
	}
	names := linkNames(out.Links)
	if out.Routes, err = scanRoutes(h, names); err != nil {
		return nil, fmt.Errorf("scanning netns %q: %w", netnsPath, err)
	}
	if out.Neighbors, err = scanNeighbors(h, names); err != nil {
		return nil, fmt.Errorf("scanning netns %q: %w", netnsPath, err)
	}
	return out, nil
}

func scanLinks(h *netlink.Handle) ([]Link, error) {
	nls, err := nldump.Retry(h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	links := make([]Link, 0, len(nls))
	for _, nl := range nls {
		l := toLink(nl)
		addrs, err := nldump.Retry(func() ([]netlink.Addr, error) { return h.AddrList(nl, netlink.FAMILY_ALL) })
		if err != nil {
			return nil, fmt.Errorf("listing addresses of %q: %w", l.Name, err)
		}
		l.Addrs = toPrefixes(addrs)
		links = append(links, l)
	}
	return links, nil
}

func toLink(nl netlink.Link) Link {
	a := nl.Attrs()
	l := Link{
		Index: a.Index,
		Name:  a.Name,
		Kind:  linkKind(nl),
		MAC:   append(net.HardwareAddr(nil), a.HardwareAddr...),
		MTU:   a.MTU,
		Up:    a.Flags&net.FlagUp != 0,
	}
	if l.Kind == "veth" {
		// IFLA_LINK of a veth is its peer's ifindex.
		l.PeerIndex = a.ParentIndex
	}
	return l
}

func linkKind(nl netlink.Link) string {
	if nl.Attrs().Flags&net.FlagLoopback != 0 {
		return KindLoopback
	}
	switch l := nl.(type) {
	case *netlink.Device:
		return KindDevice
	case *netlink.Tuntap:
		if l.Mode == netlink.TUNTAP_MODE_TUN {
			return KindTun
		}
		return KindTap
	}
	return nl.Type()
}

// toPrefixes keeps every address but IPv6 link-local ones: those derive
// from the MAC and the guest kernel makes its own.
func toPrefixes(addrs []netlink.Addr) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range addrs {
		p, ok := ipNetPrefix(a.IPNet)
		if !ok || (p.Addr().Is6() && p.Addr().IsLinkLocalUnicast()) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func ipNetPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(ip.Unmap(), ones), true
}

// fillBusInfo asks ethtool for each plain device's bus-info. Virtual links
// answer EOPNOTSUPP or an empty string; neither is an error.
func fillBusInfo(links []Link) error {
	et, err := ethtool.NewEthtool()
	if err != nil {
		return fmt.Errorf("opening ethtool: %w", err)
	}
	defer et.Close()
	for i := range links {
		if links[i].Kind != KindDevice {
			continue
		}
		if bus, err := et.BusInfo(links[i].Name); err == nil {
			links[i].BusInfo = bus
		}
	}
	return nil
}

func linkNames(links []Link) map[int]string {
	m := make(map[int]string, len(links))
	for _, l := range links {
		m[l.Index] = l.Name
	}
	return m
}

func scanRoutes(h *netlink.Handle, names map[int]string) ([]Route, error) {
	filter := &netlink.Route{Table: unix.RT_TABLE_MAIN}
	nrs, err := nldump.Retry(func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("listing routes: %w", err)
	}
	var out []Route
	for _, r := range nrs {
		out = append(out, toRoute(r, names))
	}
	return out, nil
}

func toRoute(r netlink.Route, names map[int]string) Route {
	out := Route{Dev: names[r.LinkIndex], Scope: uint8(r.Scope)}
	if p, ok := ipNetPrefix(r.Dst); ok {
		out.Dst = p
	} else if r.Family == unix.AF_INET6 {
		out.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	} else {
		out.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	out.Gw = toAddr(r.Gw)
	out.Src = toAddr(r.Src)
	return out
}

func toAddr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}

func scanNeighbors(h *netlink.Handle, names map[int]string) ([]Neighbor, error) {
	nns, err := nldump.Retry(func() ([]netlink.Neigh, error) { return h.NeighList(0, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("listing neighbors: %w", err)
	}
	var out []Neighbor
	for _, n := range nns {
		if n.State&netlink.NUD_PERMANENT == 0 || n.HardwareAddr == nil {
			continue
		}
		out = append(out, Neighbor{IP: toAddr(n.IP), MAC: append(net.HardwareAddr(nil), n.HardwareAddr...), Dev: names[n.LinkIndex]})
	}
	return out, nil
}
