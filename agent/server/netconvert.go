package server

import (
	"fmt"
	"net/netip"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/netconf"
	"github.com/vishvananda/netlink"
)

// parseAddr parses an address and checks it against the stated family.
func parseAddr(s string, fam protocol.IPFamily) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%w: IP address %q", ErrInvalid, s)
	}
	a = a.Unmap()
	if err := checkFamily(a, fam); err != nil {
		return netip.Addr{}, err
	}
	return a, nil
}

func checkFamily(a netip.Addr, fam protocol.IPFamily) error {
	switch fam {
	case protocol.IPFamily_IP_FAMILY_UNSPECIFIED:
		return nil
	case protocol.IPFamily_IP_FAMILY_V4:
		if a.Is4() {
			return nil
		}
	case protocol.IPFamily_IP_FAMILY_V6:
		if a.Is6() {
			return nil
		}
	default:
		return fmt.Errorf("%w: unknown address family %v", ErrInvalid, fam)
	}
	return fmt.Errorf("%w: %s is not %v", ErrInvalid, a, fam)
}

func prefixOf(a *protocol.IPAddress) (netip.Prefix, error) {
	addr, err := parseAddr(a.GetAddress(), a.GetFamily())
	if err != nil {
		return netip.Prefix{}, err
	}
	if int(a.GetPrefixLen()) > addr.BitLen() {
		return netip.Prefix{}, fmt.Errorf("%w: prefix length %d for %s", ErrInvalid, a.GetPrefixLen(), addr)
	}
	return netip.PrefixFrom(addr, int(a.GetPrefixLen())), nil
}

func familyOf(a netip.Addr) protocol.IPFamily {
	if a.Is4() {
		return protocol.IPFamily_IP_FAMILY_V4
	}
	return protocol.IPFamily_IP_FAMILY_V6
}

var scopes = map[protocol.RouteScope]netlink.Scope{
	protocol.RouteScope_ROUTE_SCOPE_UNIVERSE: netlink.SCOPE_UNIVERSE,
	protocol.RouteScope_ROUTE_SCOPE_SITE:     netlink.SCOPE_SITE,
	protocol.RouteScope_ROUTE_SCOPE_LINK:     netlink.SCOPE_LINK,
	protocol.RouteScope_ROUTE_SCOPE_HOST:     netlink.SCOPE_HOST,
}

// routeOf converts a route; the family comes from dest, else gateway, else
// the stated family, and all three must agree.
func routeOf(r *protocol.Route) (netconf.Route, error) {
	if err := checkLinkName(r.GetDevice()); err != nil {
		return netconf.Route{}, err
	}
	out := netconf.Route{Device: r.GetDevice(), Metric: int(r.GetMetric())}
	if r.GetMetric() > 1<<31-1 {
		return out, fmt.Errorf("%w: metric %d", ErrInvalid, r.GetMetric())
	}
	fam := r.GetFamily()
	var err error
	if g := r.GetGateway(); g != "" {
		if out.Gateway, err = parseAddr(g, fam); err != nil {
			return out, err
		}
		fam = familyOf(out.Gateway)
	}
	if src := r.GetSource(); src != "" {
		if out.Source, err = parseAddr(src, fam); err != nil {
			return out, err
		}
	}
	if out.Dest, err = routeDest(r.GetDest(), fam); err != nil {
		return out, err
	}
	if out.Gateway.IsValid() && out.Gateway.Is4() != out.Dest.Addr().Is4() {
		return out, fmt.Errorf("%w: gateway %s and destination %s differ in family", ErrInvalid, out.Gateway, out.Dest)
	}
	if r.GetScope() == protocol.RouteScope_ROUTE_SCOPE_UNSPECIFIED {
		out.Scope = netconf.DefaultScope(out.Gateway)
	} else if sc, ok := scopes[r.GetScope()]; ok {
		out.Scope = sc
	} else {
		return out, fmt.Errorf("%w: unknown route scope %v", ErrInvalid, r.GetScope())
	}
	return out, nil
}

// routeDest parses a CIDR destination; empty is the default route of fam.
func routeDest(dest string, fam protocol.IPFamily) (netip.Prefix, error) {
	if dest == "" {
		switch fam {
		case protocol.IPFamily_IP_FAMILY_V4:
			return netip.MustParsePrefix("0.0.0.0/0"), nil
		case protocol.IPFamily_IP_FAMILY_V6:
			return netip.MustParsePrefix("::/0"), nil
		}
		return netip.Prefix{}, fmt.Errorf("%w: default route without a gateway or family", ErrInvalid)
	}
	p, err := netip.ParsePrefix(dest)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w: destination %q is not CIDR", ErrInvalid, dest)
	}
	p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits())
	if err := checkFamily(p.Addr(), fam); err != nil {
		return netip.Prefix{}, err
	}
	return p.Masked(), nil
}

func routesProto(rs []netconf.Route) []*protocol.Route {
	out := make([]*protocol.Route, 0, len(rs))
	for _, r := range rs {
		pr := &protocol.Route{Device: r.Device, Metric: uint32(r.Metric), Family: familyOf(r.Dest.Addr())}
		if r.Dest.Bits() > 0 {
			pr.Dest = r.Dest.String()
		}
		if r.Gateway.IsValid() {
			pr.Gateway = r.Gateway.String()
		}
		if r.Source.IsValid() {
			pr.Source = r.Source.String()
		}
		for ps, sc := range scopes {
			if sc == r.Scope {
				pr.Scope = ps
			}
		}
		out = append(out, pr)
	}
	return out
}

var neighborStates = map[protocol.NeighborState]int{
	protocol.NeighborState_NEIGHBOR_STATE_UNSPECIFIED: netlink.NUD_PERMANENT,
	protocol.NeighborState_NEIGHBOR_STATE_PERMANENT:   netlink.NUD_PERMANENT,
	protocol.NeighborState_NEIGHBOR_STATE_REACHABLE:   netlink.NUD_REACHABLE,
	protocol.NeighborState_NEIGHBOR_STATE_STALE:       netlink.NUD_STALE,
	protocol.NeighborState_NEIGHBOR_STATE_NOARP:       netlink.NUD_NOARP,
}

func neighborOf(n *protocol.ARPNeighbor) (netconf.Neighbor, error) {
	ip, err := parseAddr(n.GetIpAddress(), n.GetFamily())
	if err != nil {
		return netconf.Neighbor{}, err
	}
	mac, err := parseMAC(n.GetHwAddr(), false)
	if err != nil {
		return netconf.Neighbor{}, err
	}
	if err := checkLinkName(n.GetDevice()); err != nil {
		return netconf.Neighbor{}, err
	}
	state, ok := neighborStates[n.GetState()]
	if !ok {
		return netconf.Neighbor{}, fmt.Errorf("%w: unknown neighbour state %v", ErrInvalid, n.GetState())
	}
	return netconf.Neighbor{IP: ip, Device: n.GetDevice(), HWAddr: mac, State: state}, nil
}
