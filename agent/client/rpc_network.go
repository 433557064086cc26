package client

import (
	"context"

	"github.com/kite-vm/kite/agent/protocol"
)

// UpdateInterface finds the link iface describes, configures it and returns
// it as configured.
func (c *Client) UpdateInterface(ctx context.Context, iface *protocol.Interface) (*protocol.Interface, error) {
	req := &protocol.UpdateInterfaceRequest{Interface: iface}
	r, err := call(ctx, c, "UpdateInterface", 0, c.agent.UpdateInterface, req)
	if err != nil {
		return nil, err
	}
	return r.GetInterface(), nil
}

// UpdateRoutes installs routes and returns the resulting main table.
func (c *Client) UpdateRoutes(ctx context.Context, routes []*protocol.Route) ([]*protocol.Route, error) {
	req := &protocol.UpdateRoutesRequest{Routes: routes}
	r, err := call(ctx, c, "UpdateRoutes", 0, c.agent.UpdateRoutes, req)
	if err != nil {
		return nil, err
	}
	return r.GetRoutes(), nil
}

// AddARPNeighbors adds static neighbour entries.
func (c *Client) AddARPNeighbors(ctx context.Context, neighbors []*protocol.ARPNeighbor) error {
	req := &protocol.AddARPNeighborsRequest{Neighbors: neighbors}
	_, err := call(ctx, c, "AddARPNeighbors", 0, c.agent.AddARPNeighbors, req)
	return err
}

// ListInterfaces returns the guest's links.
func (c *Client) ListInterfaces(ctx context.Context) ([]*protocol.Interface, error) {
	r, err := call(ctx, c, "ListInterfaces", 0, c.agent.ListInterfaces, &protocol.ListInterfacesRequest{})
	if err != nil {
		return nil, err
	}
	return r.GetInterfaces(), nil
}

// ListRoutes returns the guest's main routing table.
func (c *Client) ListRoutes(ctx context.Context) ([]*protocol.Route, error) {
	r, err := call(ctx, c, "ListRoutes", 0, c.agent.ListRoutes, &protocol.ListRoutesRequest{})
	if err != nil {
		return nil, err
	}
	return r.GetRoutes(), nil
}
