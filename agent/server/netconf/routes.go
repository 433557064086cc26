package netconf

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/kite-vm/kite/internal/nldump"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// UpdateRoutes makes the routes of the main table on the links the request
// names exactly routes, installed in order, and returns the whole main
// table. Routes on other links stay, and so do the connected routes the
// kernel derives from the links' addresses (protocol kernel): deleting them
// would cut the gateways off.
func (n *Net) UpdateRoutes(routes []Route) ([]Route, error) {
	links := map[string]netlink.Link{}
	for _, r := range routes {
		if _, ok := links[r.Device]; ok {
			continue
		}
		l, err := n.byName(r.Device)
		if err != nil {
			return nil, err
		}
		links[r.Device] = l
	}
	nlRoutes := make([]*netlink.Route, len(routes))
	wanted := map[string]bool{}
	for i, r := range routes {
		if !r.Dest.IsValid() {
			return nil, fmt.Errorf("%w: route without a destination", ErrInvalid)
		}
		nlRoutes[i] = toNetlink(r, links[r.Device].Attrs().Index)
		wanted[routeKey(nlRoutes[i])] = true
	}
	if err := n.removeOthers(links, wanted); err != nil {
		return nil, err
	}
	for i, r := range nlRoutes {
		if err := n.h.RouteReplace(r); err != nil {
			return nil, fmt.Errorf("adding route %s via %s dev %s: %w", routes[i].Dest, routes[i].Gateway, routes[i].Device, err)
		}
	}
	return n.ListRoutes()
}

// removeOthers deletes the routes on links that are not wanted.
func (n *Net) removeOthers(links map[string]netlink.Link, wanted map[string]bool) error {
	onLinks := map[int]bool{}
	for _, l := range links {
		onLinks[l.Attrs().Index] = true
	}
	cur, err := n.mainTable()
	if err != nil {
		return err
	}
	for _, r := range cur {
		if !onLinks[r.LinkIndex] || r.Protocol == unix.RTPROT_KERNEL || wanted[routeKey(&r)] {
			continue
		}
		if err := n.h.RouteDel(&r); err != nil {
			return fmt.Errorf("removing route %s: %w", r, err)
		}
	}
	return nil
}

// ListRoutes reports the main table, IPv4 then IPv6.
func (n *Net) ListRoutes() ([]Route, error) {
	cur, err := n.mainTable()
	if err != nil {
		return nil, err
	}
	names := map[int]string{}
	out := make([]Route, 0, len(cur))
	for _, r := range cur {
		if _, ok := names[r.LinkIndex]; !ok && r.LinkIndex > 0 {
			if l, err := n.h.LinkByIndex(r.LinkIndex); err == nil {
				names[r.LinkIndex] = l.Attrs().Name
			}
		}
		out = append(out, fromNetlink(r, names[r.LinkIndex]))
	}
	return out, nil
}

func (n *Net) mainTable() ([]netlink.Route, error) {
	var all []netlink.Route
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := nldump.Retry(func() ([]netlink.Route, error) {
			return n.h.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		})
		if err != nil {
			return nil, fmt.Errorf("listing routes: %w", err)
		}
		all = append(all, rs...)
	}
	return all, nil
}

func toNetlink(r Route, linkIndex int) *netlink.Route {
	nr := &netlink.Route{
		LinkIndex: linkIndex,
		Dst:       ipNet(r.Dest),
		Scope:     r.Scope,
		Priority:  r.Metric,
		Table:     unix.RT_TABLE_MAIN,
	}
	if r.Gateway.IsValid() {
		nr.Gw = r.Gateway.AsSlice()
	}
	if r.Source.IsValid() {
		nr.Src = r.Source.AsSlice()
	}
	return nr
}

func fromNetlink(r netlink.Route, dev string) Route {
	out := Route{Device: dev, Scope: r.Scope, Metric: r.Priority}
	out.Dest, _ = prefixOf(r.Dst)
	out.Gateway = addrOf(r.Gw)
	out.Source = addrOf(r.Src)
	return out
}

func addrOf(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}

// ip6DefaultMetric is the metric the kernel gives an IPv6 route added
// with none (IP6_RT_PRIO_USER).
const ip6DefaultMetric = 1024

// routeKey identifies a route the way the kernel does within a table:
// destination, metric, and (for our purpose) its next hop and link.
func routeKey(r *netlink.Route) string {
	dst, _ := prefixOf(r.Dst)
	metric := r.Priority
	if metric == 0 && dst.Addr().Is6() {
		metric = ip6DefaultMetric
	}
	return fmt.Sprintf("%s|%s|%d|%d", dst, addrOf(r.Gw), r.LinkIndex, metric)
}
