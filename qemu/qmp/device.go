package qmp

import (
	"context"
	"fmt"
)

// DeviceAddArgs are device_add's arguments. QMP takes them flat: Props hold
// the driver's own properties (netdev, chardev, mac, tag, ...) beside the
// generic ones.
type DeviceAddArgs struct {
	Driver string         // required, e.g. "virtio-net-pci"
	ID     string         // required: DeviceDel needs it
	Bus    string         // optional, e.g. a root port's id
	Addr   string         // optional slot[.function] on Bus, e.g. "0x0"
	Props  map[string]any // optional driver properties
}

// MarshalJSON encodes the arguments flat, as QMP wants them.
func (a DeviceAddArgs) MarshalJSON() ([]byte, error) {
	return flatObject(a.Props, a.fields()...)
}

func (a DeviceAddArgs) fields() []field {
	return []field{{"driver", a.Driver}, {"id", a.ID}, {"bus", a.Bus}, {"addr", a.Addr}}
}

// DeviceAdd hot-plugs a device.
func (c *Client) DeviceAdd(ctx context.Context, args DeviceAddArgs) error {
	if err := required("device_add", args.fields()[:2]...); err != nil {
		return err
	}
	return c.Execute(ctx, "device_add", args, nil)
}

// DeviceDeleted is the data of a DEVICE_DELETED event. QEMU also emits one
// without Device for a device's internal parts (its virtio backend).
type DeviceDeleted struct {
	Device string `json:"device"` // the id given to device_add
	Path   string `json:"path"`   // QOM path
}

// DeviceDel unplugs the device with id and waits until QEMU reports it gone
// (DEVICE_DELETED), which needs the guest's cooperation under ACPI hotplug:
// ctx bounds the wait.
func (c *Client) DeviceDel(ctx context.Context, id string) error {
	if err := required("device_del", field{"id", id}); err != nil {
		return err
	}
	// Subscribe before sending: the event may come before the reply.
	deleted, cancel := c.waitEvent(func(e Event) bool {
		var d DeviceDeleted
		return e.Name == "DEVICE_DELETED" && e.DecodeData(&d) == nil && d.Device == id
	})
	defer cancel()
	if err := c.Execute(ctx, "device_del", idArgs{id}, nil); err != nil {
		return err
	}
	select {
	case _, ok := <-deleted:
		if ok {
			return nil
		}
	case <-ctx.Done():
		return fmt.Errorf("waiting for DEVICE_DELETED of device %q: %w", id, ctx.Err())
	case <-c.done:
	}
	return fmt.Errorf("waiting for DEVICE_DELETED of device %q: %w", id, c.Err())
}
