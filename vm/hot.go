package vm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu/hotplug"
	"github.com/kite-vm/kite/vm/attach"
)

// hotDevice is an attachment plugged into the running VM.
type hotDevice struct {
	host      *cleanup.Stack
	plugged   *hotplug.Plugged            // nil while Attach runs
	guestUndo func(context.Context) error // nil when unplugging is enough
	result    attach.Result
}

// Attach plugs an attachment into the running VM: its host side, its
// device over QMP (on the root port the attachment was planned on), then
// its guest request. A failure undoes every step, latest first, and leaves
// the VM and the host as they were.
func (m *Machine) Attach(ctx context.Context, a attach.Attachment) (attach.Result, error) {
	name := a.Name()
	if err := m.canAttach(a); err != nil {
		return attach.Result{}, err
	}
	h := &hotDevice{host: &cleanup.Stack{}}
	m.mu.Lock()
	if m.hot[name] != nil || m.isCold(name) {
		m.mu.Unlock()
		return attach.Result{}, fmt.Errorf("%w: sandbox %q has a device named %q already", ErrInvalid, m.plan.ID, name)
	}
	m.hot[name] = h
	m.mu.Unlock()
	r, err := m.plug(ctx, a, h)
	if err != nil {
		m.mu.Lock()
		delete(m.hot, name)
		m.mu.Unlock()
		return attach.Result{}, fmt.Errorf("attaching %q to sandbox %q: %w", name, m.plan.ID, err)
	}
	m.mu.Lock()
	h.result = r
	m.mu.Unlock()
	return r, nil
}

// canAttach refuses what a running VM cannot take.
func (m *Machine) canAttach(a attach.Attachment) error {
	n := a.Needs()
	switch {
	case n.NVDIMMBytes > 0:
		return fmt.Errorf("%w: %q is an NVDIMM, which QEMU cannot hot-plug: it must be attached when the VM boots", ErrUnsupported, a.Name())
	case n.SharedMemory && !m.plan.QEMU.Memory.Shared:
		return fmt.Errorf("%w: %q needs shared guest memory, which sandbox %q did not boot with (shared_fs.driver = \"virtio-fs\" gives it)", ErrInvalid, a.Name(), m.plan.ID)
	}
	for _, s := range n.Sockets {
		if len(s) > MaxSocketPath {
			return fmt.Errorf("%w: socket path %q of %q is %d bytes, the kernel allows %d", ErrInvalid, s, a.Name(), len(s), MaxSocketPath)
		}
	}
	return nil
}

func (m *Machine) isCold(name string) bool {
	for _, a := range m.plan.Attachments {
		if a.Name() == name {
			return true
		}
	}
	return false
}

// plug does the three steps of Attach, undoing what it did on failure.
func (m *Machine) plug(ctx context.Context, a attach.Attachment, h *hotDevice) (r attach.Result, err error) {
	undo := context.WithoutCancel(ctx)
	p, err := a.Attach(ctx, h.host)
	if err != nil {
		return r, errors.Join(err, h.host.CleanCtx(undo))
	}
	if p.Device == nil {
		return r, errors.Join(fmt.Errorf("%w: it gave no device", ErrInvalid), h.host.CleanCtx(undo))
	}
	dev, conn, err := handOver(p.Device, m.user)
	if err != nil {
		return r, errors.Join(err, h.host.CleanCtx(undo))
	}
	if conn != nil {
		defer conn.Close() // QEMU has its copy once plugged
	}
	start := time.Now()
	plugged, err := hotplug.Plug(ctx, m.qmp, a.Name(), dev)
	if err != nil {
		return r, errors.Join(err, h.host.CleanCtx(undo))
	}
	qmpDone := time.Since(start)
	if p.Guest != nil {
		r, h.guestUndo, err = m.carryOut(ctx, p.Guest, true)
		if err != nil {
			err = errors.Join(err, plugged.Unplug(undo, m.qmp), h.host.CleanCtx(undo))
			return attach.Result{}, err
		}
	}
	r.Timings.QMP = qmpDone
	r.Timings.Visible += qmpDone
	r.Timings.Configured += qmpDone
	m.mu.Lock()
	h.plugged = plugged
	m.mu.Unlock()
	return r, nil
}

// Detach takes an attachment out of the running VM: its guest request is
// undone first and alone (a storage the guest still uses is refused with
// nothing changed), then the device is unplugged (waiting for the guest to
// let it go), then the host side is undone.
func (m *Machine) Detach(ctx context.Context, name string) error {
	m.mu.Lock()
	h := m.hot[name]
	m.mu.Unlock()
	switch {
	case h == nil && m.isCold(name):
		return fmt.Errorf("%w: %q was plugged when sandbox %q booted: only hot-plugged devices can be removed", ErrInvalid, name, m.plan.ID)
	case h == nil || h.plugged == nil:
		return fmt.Errorf("%w: sandbox %q has no device %q", ErrNotFound, m.plan.ID, name)
	}
	if h.guestUndo != nil {
		if err := h.guestUndo(ctx); err != nil {
			return fmt.Errorf("removing %q from sandbox %q: %w", name, m.plan.ID, err)
		}
		h.guestUndo = nil
	}
	// On failure the device stays, and with it the host side, which Stop
	// undoes once QEMU is gone.
	if err := h.plugged.Unplug(ctx, m.qmp); err != nil {
		return fmt.Errorf("removing %q from sandbox %q: %w", name, m.plan.ID, err)
	}
	m.mu.Lock()
	delete(m.hot, name)
	m.mu.Unlock()
	if err := h.host.CleanCtx(ctx); err != nil {
		return fmt.Errorf("removing %q from sandbox %q: %w", name, m.plan.ID, err)
	}
	return nil
}

// releaseHot undoes the host side of every device attached since the boot,
// at Stop, once QEMU is gone: the devices and the guest's use of them went
// with it.
func (m *Machine) releaseHot(ctx context.Context) error {
	m.mu.Lock()
	hot := m.hot
	m.hot = map[string]*hotDevice{}
	m.mu.Unlock()
	var errs []error
	for _, h := range hot {
		errs = append(errs, h.host.CleanCtx(ctx))
	}
	return errors.Join(errs...)
}
