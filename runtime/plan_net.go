package runtime

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/qemu"
)

// NetworkPlan is how BootVM carries the pod's network into the VM. The
// netns is read when the plan is applied (collect), not when it is made.
type NetworkPlan struct {
	// NetnsPath is the pod's network namespace; empty: no network.
	NetnsPath string
	Model     configs.NetModel
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

func planNetworkInput(cfg *configs.Config, netnsPath string, accel qemu.AccelType) NetworkPlan {
	if netnsPath == "" || cfg.Network.Model == configs.NetNone {
		return NetworkPlan{}
	}
	return NetworkPlan{
		NetnsPath:              netnsPath,
		Model:                  cfg.Network.Model,
		Queues:                 cfg.Network.QueuesFor(cfg.Hypervisor.VCPUs),
		MTU:                    cfg.Network.MTU,
		VhostUserSocketPattern: cfg.Network.VhostUserSocketPattern,
		NoMSIX:                 qemu.VhostUserNoMSIX(accel),
	}
}

// classify picks each link's endpoint (netmodels.Classify: physical,
// vhost-user by socket, then the model).
func (p NetworkPlan) classify(ns *netmodels.Netns) ([]netmodels.ClassifiedLink, error) {
	cls, err := ns.Classify(configs.Network{Model: p.Model, VhostUserSocketPattern: p.VhostUserSocketPattern})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return cls, nil
}

// netEndpoint is one pod interface to carry into the VM.
type netEndpoint struct {
	// ID is the QEMU netdev and device id (net0, net1, ...).
	ID     string
	Link   netmodels.Link
	Kind   netmodels.EndpointKind
	Queues int
	// Socket is the vhost-user socket of an EndpointVhostUser.
	Socket string
}

// netLayout is what planNetwork decides from a scan of the pod netns.
type netLayout struct {
	Endpoints []netEndpoint
	// Routes and Neighbors are the pod's, on the carried interfaces, as the
	// guest must have them.
	Routes    []*protocol.Route
	Neighbors []*protocol.ARPNeighbor
}

// planNetwork picks the endpoint of each interface of the scanned netns
// and the guest's routes and neighbors. It is pure.
func planNetwork(p NetworkPlan, ns *netmodels.Netns) (netLayout, error) {
	if p.Queues < 1 || p.Queues > netmodels.MaxQueues {
		return netLayout{}, fmt.Errorf("%w: network.queues resolves to %d: want 1..%d", ErrInvalid, p.Queues, netmodels.MaxQueues)
	}
	var l netLayout
	carried := map[string]bool{}
	cls, err := p.classify(ns)
	if err != nil {
		return netLayout{}, err
	}
	for _, c := range cls {
		ep, err := planEndpoint(p, ns.Path, c, l.Endpoints, "net"+strconv.Itoa(len(l.Endpoints)))
		if err != nil {
			return netLayout{}, err
		}
		l.Endpoints = append(l.Endpoints, ep)
		carried[c.Link.Name] = true
	}
	l.Routes, l.Neighbors = guestRoutes(ns, carried), guestNeighbors(ns.Neighbors, carried)
	return l, nil
}

// planEndpoint checks that a classified link can be carried next to the
// endpoints already planned, under id.
func planEndpoint(p NetworkPlan, nsPath string, c netmodels.ClassifiedLink, others []netEndpoint, id string) (netEndpoint, error) {
	switch c.Kind {
	case netmodels.EndpointTCFilter, netmodels.EndpointMacvtap, netmodels.EndpointTap, netmodels.EndpointVhostUser, netmodels.EndpointPhysical:
	case netmodels.EndpointNone:
		return netEndpoint{}, fmt.Errorf("%w: interface %q (%s) in netns %s is not carried into a VM", ErrInvalid, c.Link.Name, c.Link.Kind, nsPath)
	default:
		return netEndpoint{}, fmt.Errorf("%w: interface %q in netns %s needs the %s endpoint, which the runtime does not carry yet", ErrUnsupported, c.Link.Name, nsPath, c.Kind)
	}
	if len(c.Link.MAC) != 6 {
		return netEndpoint{}, fmt.Errorf("%w: interface %q in netns %s has no Ethernet MAC", ErrInvalid, c.Link.Name, nsPath)
	}
	for _, e := range others {
		if e.Link.Name == c.Link.Name {
			return netEndpoint{}, fmt.Errorf("%w: interface %q in netns %s is already in the VM", ErrInvalid, c.Link.Name, nsPath)
		}
		if bytes.Equal(e.Link.MAC, c.Link.MAC) {
			return netEndpoint{}, fmt.Errorf("%w: interfaces %q and %q in netns %s share MAC %s: the guest could not tell them apart", ErrInvalid, e.Link.Name, c.Link.Name, nsPath, c.Link.MAC)
		}
	}
	return netEndpoint{ID: id, Link: c.Link, Kind: c.Kind, Queues: p.Queues, Socket: c.VhostUserSocket}, nil
}

// planHotNIC plans carrying the interface ifname of a fresh scan into a
// running VM that has the endpoints others: its endpoint, and its routes
// and static neighbors for the guest.
func planHotNIC(p NetworkPlan, ns *netmodels.Netns, ifname, id string, others []netEndpoint) (netEndpoint, netLayout, error) {
	cls, err := p.classify(ns)
	if err != nil {
		return netEndpoint{}, netLayout{}, err
	}
	for _, c := range cls {
		if c.Link.Name != ifname {
			continue
		}
		ep, err := planEndpoint(p, ns.Path, c, others, id)
		if err != nil {
			return netEndpoint{}, netLayout{}, err
		}
		carried := map[string]bool{ifname: true}
		return ep, netLayout{Endpoints: []netEndpoint{ep}, Routes: guestRoutes(ns, carried), Neighbors: guestNeighbors(ns.Neighbors, carried)}, nil
	}
	for _, l := range ns.Links {
		if l.Name == ifname {
			return netEndpoint{}, netLayout{}, fmt.Errorf("%w: interface %q (%s) in netns %s is not carried into a VM", ErrInvalid, ifname, l.Kind, ns.Path)
		}
	}
	return netEndpoint{}, netLayout{}, fmt.Errorf("%w: %q in netns %s", netmodels.ErrNoInterface, ifname, ns.Path)
}

func guestNeighbors(ns []netmodels.Neighbor, carried map[string]bool) []*protocol.ARPNeighbor {
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
func guestRoutes(ns *netmodels.Netns, carried map[string]bool) []*protocol.Route {
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
		own = own || !netmodels.KernelRoute(r, addrs[r.Dev])
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
	scopeUniverse = 0
	scopeSite     = 200
	scopeLink     = 253
	scopeHost     = 254
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
func guestInterface(e netEndpoint, mac net.HardwareAddr, mtuOverride int) *protocol.Interface {
	mtu := e.Link.MTU
	if mtuOverride > 0 {
		mtu = mtuOverride
	}
	iface := &protocol.Interface{Name: e.Link.Name, HwAddr: mac.String(), Mtu: uint32(mtu)}
	for _, a := range e.Link.Addrs {
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
