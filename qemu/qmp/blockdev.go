package qmp

import "context"

// BlockdevAddArgs are blockdev-add's arguments: one node of a block graph
// (a protocol node such as file or host_device, or a format node such as
// raw on top of one), flat like DeviceAddArgs. Nested options (cache.direct)
// are nested maps in Props: {"cache": {"direct": true}}.
type BlockdevAddArgs struct {
	Driver   string         // required, e.g. "file", "raw"
	NodeName string         // required: BlockdevDel and devices (drive=) refer to it
	Props    map[string]any // optional driver options (filename, read-only, file...)
}

// MarshalJSON encodes the arguments flat, as QMP wants them.
func (a BlockdevAddArgs) MarshalJSON() ([]byte, error) {
	return flatObject(a.Props, a.fields()...)
}

func (a BlockdevAddArgs) fields() []field {
	return []field{{"driver", a.Driver}, {"node-name", a.NodeName}}
}

// BlockdevAdd adds a block node.
func (c *Client) BlockdevAdd(ctx context.Context, args BlockdevAddArgs) error {
	if err := required("blockdev-add", args.fields()...); err != nil {
		return err
	}
	return c.Execute(ctx, "blockdev-add", args, nil)
}

type nodeNameArgs struct {
	NodeName string `json:"node-name"`
}

// BlockdevDel removes the block node nodeName; QEMU refuses while a device
// or another node (a format node over its file node) uses it.
func (c *Client) BlockdevDel(ctx context.Context, nodeName string) error {
	if err := required("blockdev-del", field{"node-name", nodeName}); err != nil {
		return err
	}
	return c.Execute(ctx, "blockdev-del", nodeNameArgs{nodeName}, nil)
}
