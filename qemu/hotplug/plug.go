package hotplug

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
)

// rollbackTimeout bounds undoing a failed Plug. The rollback runs even when
// the caller's ctx has ended (often the very reason the plug failed): a
// half-added device would otherwise stay in the VM. It must still end, since
// removing a device can wait on the guest.
const rollbackTimeout = 30 * time.Second

// Plugged is a device Plug added: what removing it takes. It is not safe for
// concurrent use.
type Plugged struct {
	id       string
	removals []removal // in the order the parts were added
}

// ID is the id the device was plugged under.
func (p *Plugged) ID() string { return p.id }

// Plug validates dev and adds it to the VM behind q: its files first (getfd,
// named id-fd0, id-fd1, ...), then its objects, chardevs, netdevs and
// blockdevs, then its devices, each through a typed qmp call. id names the
// plug in errors and in those getfd names, so it must be unique among the
// VM's plugged devices: use the device's own ID. QEMU's ids are the spec's.
//
// A failed step removes what was added, latest first, so the VM is as
// before, and the error names the device and the step. Parts QMP cannot add
// are refused (ErrUnsupported) before anything is sent.
func Plug(ctx context.Context, q *qmp.Client, id string, dev qemu.Device) (*Plugged, error) {
	if id == "" {
		return nil, fmt.Errorf("hot-plugging: %w: empty id", qemu.ErrInvalid)
	}
	if err := dev.Validate(); err != nil {
		return nil, fmt.Errorf("hot-plugging %q: %w", id, err)
	}
	sets, err := chooseFDSets(ctx, q, id, dev)
	if err != nil {
		return nil, fmt.Errorf("hot-plugging %q: %w", id, err)
	}
	cmds, err := commands(id, dev, sets)
	if err != nil {
		return nil, fmt.Errorf("hot-plugging %q: %w", id, err)
	}
	var added []removal
	for _, c := range cmds {
		err := c.add.run(ctx, q)
		if err == nil {
			added = append(added, c.undo)
			continue
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			u := c.undo // the command may have run without a reply
			u.unsure = true
			added = append(added, u)
		}
		err = fmt.Errorf("hot-plugging %q: %s: %w", id, c.add.name, err)
		if rerr := rollback(ctx, q, added); rerr != nil {
			return nil, fmt.Errorf("%w (rolling back: %w)", err, rerr)
		}
		return nil, err
	}
	// The backends took the files: there is nothing to closefd later.
	return &Plugged{id: id, removals: slices.DeleteFunc(added, func(r removal) bool { return r.file })}, nil
}

// rollback removes what a failed Plug added, on a ctx of its own.
func rollback(ctx context.Context, q *qmp.Client, added []removal) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	_, err := remove(ctx, q, added)
	return err
}

// Unplug removes the device: device_del, which waits for QEMU to report it
// gone (DEVICE_DELETED; under ACPI hotplug that needs the guest, and ctx
// bounds the wait), then its backends, latest first. If a device cannot be
// removed its backends stay, since QEMU still uses them. What could not be
// removed is kept, so Unplug can be called again; once everything is gone
// it returns nil.
func (p *Plugged) Unplug(ctx context.Context, q *qmp.Client) error {
	left, err := remove(ctx, q, p.removals)
	p.removals = left
	if err != nil {
		return fmt.Errorf("unplugging %q: %w", p.id, err)
	}
	return nil
}

// remove runs removals latest first and returns those that failed, in
// their original order. A failed device removal stops it: everything added
// before the device stays.
func remove(ctx context.Context, q *qmp.Client, removals []removal) (left []removal, err error) {
	var errs []error
	for i, r := range slices.Backward(removals) {
		rerr := r.run(ctx, q)
		if rerr == nil || gone(r, rerr) {
			continue
		}
		if r.device {
			errs = append(errs, fmt.Errorf("%s: %w (what it uses stays: QEMU may still need it)", r.name, rerr))
			return append(removals[:i+1:i+1], left...), errors.Join(errs...)
		}
		errs = append(errs, fmt.Errorf("%s: %w", r.name, rerr))
		left = append([]removal{r}, left...)
	}
	return left, errors.Join(errs...)
}

// gone reports whether err says there was nothing to remove: QEMU does not
// know the id (a device whose earlier removal completed late), or the part
// may never have been added, or a backend already took the file.
func gone(r removal, err error) bool {
	var qe *qmp.Error
	if !errors.As(err, &qe) {
		return false
	}
	return r.file || r.unsure || qe.Class == qmp.ClassDeviceNotFound
}
