package qmp

import "context"

// NetdevAddArgs are netdev_add's arguments, flat like DeviceAddArgs: Props
// hold the backend's own options (for a tap: fd, fds, vhost, vnet_hdr...).
type NetdevAddArgs struct {
	Type  string         // required, e.g. "tap", "vhost-user"
	ID    string         // required
	Props map[string]any // optional backend options
}

// MarshalJSON encodes the arguments flat, as QMP wants them.
func (a NetdevAddArgs) MarshalJSON() ([]byte, error) {
	return flatObject(a.Props, a.fields()...)
}

func (a NetdevAddArgs) fields() []field {
	return []field{{"type", a.Type}, {"id", a.ID}}
}

// NetdevAdd adds a network backend.
func (c *Client) NetdevAdd(ctx context.Context, args NetdevAddArgs) error {
	if err := required("netdev_add", args.fields()...); err != nil {
		return err
	}
	return c.Execute(ctx, "netdev_add", args, nil)
}

// NetdevDel removes the network backend id.
func (c *Client) NetdevDel(ctx context.Context, id string) error {
	if err := required("netdev_del", field{"id", id}); err != nil {
		return err
	}
	return c.Execute(ctx, "netdev_del", idArgs{id}, nil)
}
