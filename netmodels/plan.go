package netmodels

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
)

// ErrPlan classifies the refusals of planning: an interface that cannot be
// carried, a MAC clash, a queue count out of range.
var ErrPlan = fmt.Errorf("cannot carry the pod network")

// Config is what planning the pod network takes from the configuration.
type Config struct {
	Model configs.NetModel
	// Queues is the number of queue pairs of each NIC (network.queues, or
	// one per vCPU).
	Queues int
	// MTU overrides the interfaces' MTU in the guest (network.mtu); 0 keeps
	// each link's.
	MTU int
	// VhostUserSocketPattern finds the vhost-user socket of an interface
	// by its IPv4 address (network.vhost_user_socket_pattern).
	VhostUserSocketPattern string
	// NoMSIX: vhost-user NICs need vectors=0 (TCG, qemu.VhostUserNoMSIX).
	NoMSIX bool
}

// ConfigFrom takes the network section of cfg; noMSIX comes from the
// accelerator (qemu.VhostUserNoMSIX).
func ConfigFrom(cfg *configs.Config, noMSIX bool) Config {
	return Config{
		Model:                  cfg.Network.Model,
		Queues:                 cfg.Network.QueuesFor(cfg.Hypervisor.VCPUs),
		MTU:                    cfg.Network.MTU,
		VhostUserSocketPattern: cfg.Network.VhostUserSocketPattern,
		NoMSIX:                 noMSIX,
	}
}

// Carried reports whether the configuration carries a pod network at all.
func (c Config) Carried() bool { return c.Model != configs.NetNone }

// classify picks each link's endpoint (Classify: physical, vhost-user by
// socket, then the model).
func (c Config) classify(ns *Netns) ([]ClassifiedLink, error) {
	cls, err := ns.Classify(configs.Network{Model: c.Model, VhostUserSocketPattern: c.VhostUserSocketPattern})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPlan, err)
	}
	return cls, nil
}

// Layout is what Plan decides from a scan of the pod netns.
type Layout struct {
	// Endpoints are the interfaces carried, in device order (net0,
	// net1...). A physical one still needs its root port and function
	// (Endpoint.Physical).
	Endpoints []*Endpoint
	// Routes and Neighbors are the pod's, on the carried interfaces, as the
	// guest must have them; each endpoint carries those on its link too.
	Routes    []*protocol.Route
	Neighbors []*protocol.ARPNeighbor
}

// Plan picks the endpoint of each interface of the scanned netns and the
// guest's routes and neighbors. It is pure.
func Plan(c Config, ns *Netns) (Layout, error) {
	if c.Queues < 1 || c.Queues > MaxQueues {
		return Layout{}, fmt.Errorf("%w: network.queues resolves to %d: want 1..%d", ErrPlan, c.Queues, MaxQueues)
	}
	var l Layout
	carried := map[string]bool{}
	cls, err := c.classify(ns)
	if err != nil {
		return Layout{}, err
	}
	for _, cl := range cls {
		ep, err := planEndpoint(c, ns.Path, cl, l.Endpoints, "net"+strconv.Itoa(len(l.Endpoints)))
		if err != nil {
			return Layout{}, err
		}
		l.Endpoints = append(l.Endpoints, ep)
		carried[cl.Link.Name] = true
	}
	l.Routes, l.Neighbors = guestRoutes(ns, carried), guestNeighbors(ns.Neighbors, carried)
	for _, ep := range l.Endpoints {
		ep.Routes, ep.Neighbors = onDevice(l.Routes, l.Neighbors, ep.Link.Name)
	}
	return l, nil
}

// onDevice keeps the routes and neighbors on dev.
func onDevice(routes []*protocol.Route, nbs []*protocol.ARPNeighbor, dev string) ([]*protocol.Route, []*protocol.ARPNeighbor) {
	var rs []*protocol.Route
	var ns []*protocol.ARPNeighbor
	for _, r := range routes {
		if r.GetDevice() == dev {
			rs = append(rs, r)
		}
	}
	for _, n := range nbs {
		if n.GetDevice() == dev {
			ns = append(ns, n)
		}
	}
	return rs, ns
}

// planEndpoint checks that a classified link can be carried next to the
// endpoints already planned, under id.
func planEndpoint(c Config, nsPath string, cl ClassifiedLink, others []*Endpoint, id string) (*Endpoint, error) {
	switch cl.Kind {
	case EndpointTCFilter, EndpointMacvtap, EndpointTap, EndpointVhostUser, EndpointPhysical:
	case EndpointNone:
		return nil, fmt.Errorf("%w: interface %q (%s) in netns %s is not carried into a VM", ErrPlan, cl.Link.Name, cl.Link.Kind, nsPath)
	default:
		return nil, fmt.Errorf("%w: interface %q in netns %s needs the %s endpoint, which Kite does not carry yet", ErrPlan, cl.Link.Name, nsPath, cl.Kind)
	}
	if len(cl.Link.MAC) != 6 {
		return nil, fmt.Errorf("%w: interface %q in netns %s has no Ethernet MAC", ErrPlan, cl.Link.Name, nsPath)
	}
	for _, e := range others {
		if e.Link.Name == cl.Link.Name {
			return nil, fmt.Errorf("%w: interface %q in netns %s is already in the VM", ErrPlan, cl.Link.Name, nsPath)
		}
		if bytes.Equal(e.Link.MAC, cl.Link.MAC) {
			return nil, fmt.Errorf("%w: interfaces %q and %q in netns %s share MAC %s: the guest could not tell them apart", ErrPlan, e.Link.Name, cl.Link.Name, nsPath, cl.Link.MAC)
		}
	}
	return &Endpoint{ID: id, NetnsPath: nsPath, Link: cl.Link, Kind: cl.Kind, Queues: c.Queues, Socket: cl.VhostUserSocket,
		MTU: c.MTU, NoMSIX: c.NoMSIX}, nil
}

// PlanHot plans carrying the interface ifname of a fresh scan into a
// running VM whose endpoints are others, under id, on the root port bus.
func PlanHot(c Config, ns *Netns, ifname, id, bus string, others []*Endpoint) (*Endpoint, error) {
	cls, err := c.classify(ns)
	if err != nil {
		return nil, err
	}
	for _, cl := range cls {
		if cl.Link.Name != ifname {
			continue
		}
		ep, err := planEndpoint(c, ns.Path, cl, others, id)
		if err != nil {
			return nil, err
		}
		carried := map[string]bool{ifname: true}
		ep.Routes, ep.Neighbors = guestRoutes(ns, carried), guestNeighbors(ns.Neighbors, carried)
		ep.Bus = bus
		return ep, nil
	}
	for _, l := range ns.Links {
		if l.Name == ifname {
			return nil, fmt.Errorf("%w: interface %q (%s) in netns %s is not carried into a VM", ErrPlan, ifname, l.Kind, ns.Path)
		}
	}
	return nil, fmt.Errorf("%w: %q in netns %s", ErrNoInterface, ifname, ns.Path)
}

func guestNeighbors(ns []Neighbor, carried map[string]bool) []*protocol.ARPNeighbor {
	var out []*protocol.ARPNeighbor
	for _, n := range ns {
		if carried[n.Dev] {
			out = append(out, &protocol.ARPNeighbor{IpAddress: n.IP.String(), Device: n.Dev, HwAddr: n.MAC.String(),
				State: protocol.NeighborState_NEIGHBOR_STATE_PERMANENT})
		}
	}
	return out
}

// guestRoutes keeps the routes on carried interfaces, the directly
// connected ones first: a gateway route needs the route to its gateway.
// When every one of them is a route the guest kernel makes by itself from
// the addresses (an address's prefix, fe80::/64), there is nothing to send.
func guestRoutes(ns *Netns, carried map[string]bool) []*protocol.Route {
	addrs := map[string][]netip.Prefix{}
	for _, l := range ns.Links {
		addrs[l.Name] = l.Addrs
	}
	var link, via []*protocol.Route
	own := false
	for _, r := range ns.Routes {
		if !carried[r.Dev] || r.Scope == scopeHost {
			continue
		}
		own = own || !KernelRoute(r, addrs[r.Dev])
		pr := &protocol.Route{Device: r.Dev, Scope: routeScope(r.Scope)}
		if r.Dst.Bits() != 0 {
			pr.Dest = r.Dst.String()
		}
		if r.Src.IsValid() {
			pr.Source = r.Src.String()
		}
		if r.Gw.IsValid() {
			pr.Gateway = r.Gw.String()
			via = append(via, pr)
			continue
		}
		link = append(link, pr)
	}
	if !own {
		return nil
	}
	return append(link, via...)
}

// Route scopes as netlink numbers them.
const (
	scopeSite = 200
	scopeLink = 253
	scopeHost = 254
)

func routeScope(s uint8) protocol.RouteScope {
	switch s {
	case scopeSite:
		return protocol.RouteScope_ROUTE_SCOPE_SITE
	case scopeLink:
		return protocol.RouteScope_ROUTE_SCOPE_LINK
	case scopeHost:
		return protocol.RouteScope_ROUTE_SCOPE_HOST
	}
	return protocol.RouteScope_ROUTE_SCOPE_UNIVERSE
}

// guestInterface is the agent's view of an endpoint: found by the MAC the
// guest NIC was given, renamed to the pod's name, with the pod's addresses.
func guestInterface(l Link, mac net.HardwareAddr, mtuOverride int) *protocol.Interface {
	mtu := l.MTU
	if mtuOverride > 0 {
		mtu = mtuOverride
	}
	iface := &protocol.Interface{Name: l.Name, HwAddr: mac.String(), Mtu: uint32(mtu)}
	for _, a := range l.Addrs {
		if a.Addr().IsLinkLocalUnicast() && a.Addr().Is6() {
			continue // the guest kernel makes its own from the MAC
		}
		iface.Addresses = append(iface.Addresses, ipAddress(a))
	}
	return iface
}

func ipAddress(a netip.Prefix) *protocol.IPAddress {
	fam := protocol.IPFamily_IP_FAMILY_V4
	if a.Addr().Is6() && !a.Addr().Is4In6() {
		fam = protocol.IPFamily_IP_FAMILY_V6
	}
	return &protocol.IPAddress{Family: fam, Address: a.Addr().Unmap().String(), PrefixLen: uint32(a.Bits())}
}
