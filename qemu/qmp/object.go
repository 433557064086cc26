package qmp

import "context"

// ObjectAddArgs are object-add's arguments, flat like DeviceAddArgs: Props
// hold the type's properties (for memory-backend-*: size, share, mem-path).
type ObjectAddArgs struct {
	QOMType string         // required, e.g. "memory-backend-memfd"
	ID      string         // required
	Props   map[string]any // optional type properties
}

// MarshalJSON encodes the arguments flat, as QMP wants them.
func (a ObjectAddArgs) MarshalJSON() ([]byte, error) {
	return flatObject(a.Props, a.fields()...)
}

func (a ObjectAddArgs) fields() []field {
	return []field{{"qom-type", a.QOMType}, {"id", a.ID}}
}

// ObjectAdd creates a QOM object (memory backends, secrets, iothreads...).
func (c *Client) ObjectAdd(ctx context.Context, args ObjectAddArgs) error {
	if err := required("object-add", args.fields()...); err != nil {
		return err
	}
	return c.Execute(ctx, "object-add", args, nil)
}

// ObjectDel deletes the QOM object id; QEMU refuses while a device uses it.
func (c *Client) ObjectDel(ctx context.Context, id string) error {
	if err := required("object-del", field{"id", id}); err != nil {
		return err
	}
	return c.Execute(ctx, "object-del", idArgs{id}, nil)
}
