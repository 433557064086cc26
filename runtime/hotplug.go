package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
)

// plugged is a device added over QMP, with what removing it takes.
type plugged struct {
	id    string
	parts qemu.Parts
}

// plug adds a typed device to the running VM over QMP: its files first
// (getfd), then its objects, chardevs, netdevs and blockdevs, then the
// device. A failure removes what was added, so the VM is as before.
func plug(ctx context.Context, q *qmp.Client, id string, dev qemu.Device) (*plugged, error) {
	if err := dev.Validate(); err != nil {
		return nil, err
	}
	fds := &qemu.NamedFDs{Prefix: id + "-fd"}
	parts := dev.Parts(fds)
	p := &plugged{id: id, parts: parts}
	var undo []func(context.Context) error
	fail := func(err error) (*plugged, error) {
		for _, u := range slices.Backward(undo) {
			err = errors.Join(err, u(context.WithoutCancel(ctx)))
		}
		return nil, fmt.Errorf("hot-plugging %s: %w", id, err)
	}
	for _, f := range fds.Files {
		if err := q.GetFD(ctx, f.Name, f.File); err != nil {
			return fail(err)
		}
		// A backend that takes the fd consumes it; closefd of a
		// consumed fd fails harmlessly.
		undo = append(undo, func(ctx context.Context) error { q.CloseFD(ctx, f.Name); return nil })
	}
	for _, o := range parts.Objects {
		if err := q.Execute(ctx, "object-add", o, nil); err != nil {
			return fail(err)
		}
		undo = append(undo, func(ctx context.Context) error { return q.ObjectDel(ctx, o.ID) })
	}
	for _, c := range parts.Chardevs {
		if err := q.Execute(ctx, "chardev-add", c, nil); err != nil {
			return fail(err)
		}
		undo = append(undo, func(ctx context.Context) error { return q.ChardevRemove(ctx, c.ID) })
	}
	for _, n := range parts.Netdevs {
		if err := q.Execute(ctx, "netdev_add", n, nil); err != nil {
			return fail(err)
		}
		undo = append(undo, func(ctx context.Context) error { return q.NetdevDel(ctx, n.ID) })
	}
	for _, b := range parts.Blockdevs {
		if err := q.Execute(ctx, "blockdev-add", b, nil); err != nil {
			return fail(err)
		}
		undo = append(undo, func(ctx context.Context) error {
			return q.Execute(ctx, "blockdev-del", map[string]string{"node-name": b.NodeName}, nil)
		})
	}
	for _, d := range parts.Devices {
		if err := q.Execute(ctx, "device_add", d, nil); err != nil {
			return fail(err)
		}
		undo = append(undo, func(ctx context.Context) error { return q.DeviceDel(ctx, d.ID) })
	}
	return p, nil
}

// unplug removes the device (device_del, then the wait for the guest to
// let it go: DEVICE_DELETED), then its backends, latest first.
func (p *plugged) unplug(ctx context.Context, q *qmp.Client) error {
	var errs []error
	for _, d := range slices.Backward(p.parts.Devices) {
		if err := q.DeviceDel(ctx, d.ID); err != nil {
			// The backends stay: QEMU still uses them.
			return fmt.Errorf("unplugging %s: %w", p.id, err)
		}
	}
	for _, b := range slices.Backward(p.parts.Blockdevs) {
		errs = append(errs, q.Execute(ctx, "blockdev-del", map[string]string{"node-name": b.NodeName}, nil))
	}
	for _, n := range slices.Backward(p.parts.Netdevs) {
		errs = append(errs, q.NetdevDel(ctx, n.ID))
	}
	for _, c := range slices.Backward(p.parts.Chardevs) {
		errs = append(errs, q.ChardevRemove(ctx, c.ID))
	}
	for _, o := range slices.Backward(p.parts.Objects) {
		errs = append(errs, q.ObjectDel(ctx, o.ID))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing the backends of %s: %w", p.id, err)
	}
	return nil
}

// ports hands out the spare pcie-root-ports to hot-plugged devices.
type ports struct {
	mu   sync.Mutex
	free []string          // guarded by mu: in pool order
	used map[string]string // guarded by mu: port -> device id
}

func newPorts(rps []qemu.RootPort) *ports {
	p := &ports{used: map[string]string{}}
	for _, r := range rps {
		p.free = append(p.free, r.ID)
	}
	return p
}

func (p *ports) take(device string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 {
		return "", fmt.Errorf("%w: no spare root port left for %s (%d in use; raise hotplug.spare_root_ports)", ErrInvalid, device, len(p.used))
	}
	port := p.free[0]
	p.free = p.free[1:]
	p.used[port] = device
	return port, nil
}

func (p *ports) release(port string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.used[port]; ok {
		delete(p.used, port)
		p.free = append(p.free, port)
	}
}
