package server

import (
	"context"
	"fmt"
	"net"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/netconf"
	"github.com/kite-vm/kite/agent/server/pcipath"
)

// UpdateInterface configures one link.
func (s *Service) UpdateInterface(_ context.Context, req *protocol.UpdateInterfaceRequest) (*protocol.UpdateInterfaceResponse, error) {
	sel, want, err := interfaceOf(req.GetInterface())
	if err != nil {
		return nil, err
	}
	got, err := s.net.UpdateInterface(sel, want)
	if err != nil {
		return nil, err
	}
	return &protocol.UpdateInterfaceResponse{Interface: interfaceProto(got)}, nil
}

// UpdateRoutes sets the routes of the links the request names.
func (s *Service) UpdateRoutes(_ context.Context, req *protocol.UpdateRoutesRequest) (*protocol.UpdateRoutesResponse, error) {
	routes := make([]netconf.Route, 0, len(req.GetRoutes()))
	for i, r := range req.GetRoutes() {
		rt, err := routeOf(r)
		if err != nil {
			return nil, fmt.Errorf("route %d: %w", i, err)
		}
		routes = append(routes, rt)
	}
	got, err := s.net.UpdateRoutes(routes)
	if err != nil {
		return nil, err
	}
	return &protocol.UpdateRoutesResponse{Routes: routesProto(got)}, nil
}

// AddARPNeighbors sets static neighbour entries.
func (s *Service) AddARPNeighbors(_ context.Context, req *protocol.AddARPNeighborsRequest) (*protocol.AddARPNeighborsResponse, error) {
	nbs := make([]netconf.Neighbor, 0, len(req.GetNeighbors()))
	for i, n := range req.GetNeighbors() {
		nb, err := neighborOf(n)
		if err != nil {
			return nil, fmt.Errorf("neighbour %d: %w", i, err)
		}
		nbs = append(nbs, nb)
	}
	if err := s.net.AddNeighbors(nbs); err != nil {
		return nil, err
	}
	return &protocol.AddARPNeighborsResponse{}, nil
}

// ListInterfaces reports every link.
func (s *Service) ListInterfaces(context.Context, *protocol.ListInterfacesRequest) (*protocol.ListInterfacesResponse, error) {
	ifcs, err := s.net.ListInterfaces()
	if err != nil {
		return nil, err
	}
	out := make([]*protocol.Interface, 0, len(ifcs))
	for _, i := range ifcs {
		out = append(out, interfaceProto(i))
	}
	return &protocol.ListInterfacesResponse{Interfaces: out}, nil
}

// ListRoutes reports the main routing table.
func (s *Service) ListRoutes(context.Context, *protocol.ListRoutesRequest) (*protocol.ListRoutesResponse, error) {
	routes, err := s.net.ListRoutes()
	if err != nil {
		return nil, err
	}
	return &protocol.ListRoutesResponse{Routes: routesProto(routes)}, nil
}

// interfaceOf converts the wanted state of a link and how to find it.
func interfaceOf(i *protocol.Interface) (netconf.Selector, netconf.Interface, error) {
	if i == nil {
		return netconf.Selector{}, netconf.Interface{}, fmt.Errorf("%w: no interface", ErrInvalid)
	}
	var sel netconf.Selector
	var want netconf.Interface
	var err error
	if want.HWAddr, err = parseMAC(i.GetHwAddr(), true); err != nil {
		return sel, want, err
	}
	switch {
	case i.GetGuestPciPath() != "":
		if sel.PCIPath, err = pcipath.Parse(i.GetGuestPciPath()); err != nil {
			return sel, want, err
		}
	case i.GetDeviceName() != "":
		if err := checkLinkName(i.GetDeviceName()); err != nil {
			return sel, want, err
		}
		sel.Name = i.GetDeviceName()
	case len(want.HWAddr) > 0:
		sel.HWAddr = want.HWAddr
	default:
		return sel, want, fmt.Errorf("%w: interface has no PCI path, device name or MAC to be found by", ErrInvalid)
	}
	if i.GetName() != "" {
		if err := checkLinkName(i.GetName()); err != nil {
			return sel, want, err
		}
		want.Name = i.GetName()
	}
	if i.GetMtu() > 65535 || (i.GetMtu() != 0 && i.GetMtu() < 68) {
		return sel, want, fmt.Errorf("%w: MTU %d", ErrInvalid, i.GetMtu())
	}
	want.MTU = int(i.GetMtu())
	for _, a := range i.GetAddresses() {
		p, err := prefixOf(a)
		if err != nil {
			return sel, want, err
		}
		want.Addrs = append(want.Addrs, p)
	}
	return sel, want, nil
}

func interfaceProto(i netconf.Interface) *protocol.Interface {
	out := &protocol.Interface{
		Name: i.Name, DeviceName: i.Name, Mtu: uint32(i.MTU), GuestPciPath: i.PCIPath, Up: i.Up,
	}
	if len(i.HWAddr) > 0 {
		out.HwAddr = i.HWAddr.String()
	}
	for _, p := range i.Addrs {
		out.Addresses = append(out.Addresses, &protocol.IPAddress{
			Family: familyOf(p.Addr()), Address: p.Addr().String(), PrefixLen: uint32(p.Bits()),
		})
	}
	return out
}

// checkLinkName refuses what the kernel would refuse as an interface name.
func checkLinkName(name string) error {
	if len(name) == 0 || len(name) > 15 || name == "." || name == ".." {
		return fmt.Errorf("%w: interface name %q", ErrInvalid, name)
	}
	for _, r := range name {
		if r <= ' ' || r == '/' || r == ':' || r > '~' {
			return fmt.Errorf("%w: interface name %q", ErrInvalid, name)
		}
	}
	return nil
}

func parseMAC(s string, optional bool) (net.HardwareAddr, error) {
	if s == "" && optional {
		return nil, nil
	}
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 {
		return nil, fmt.Errorf("%w: MAC address %q", ErrInvalid, s)
	}
	return mac, nil
}
