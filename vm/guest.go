package vm

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/kite-vm/kite/vm/attach"
)

// visiblePoll paces the wait for a hot-plugged NIC to show in the guest.
const visiblePoll = 5 * time.Millisecond

// carryOut has the agent do what an attachment's device needs in the guest.
// hot says the device was just plugged into the running guest, which may
// not have seen it yet. It returns what the agent reported, with Visible
// and Configured measured from the call, and the undo of the request (nil
// when detaching the device is enough).
func (m *Machine) carryOut(ctx context.Context, g attach.Guest, hot bool) (attach.Result, func(context.Context) error, error) {
	start := time.Now()
	var r attach.Result
	switch g := g.(type) {
	case attach.Steps:
		return m.carryOutSteps(ctx, g, hot)
	case attach.AddStorage:
		mp, err := m.agent.AddStorage(ctx, g.Storage)
		if err != nil {
			return r, nil, fmt.Errorf("%s in the guest: %w", g.Describe(), err)
		}
		// The agent mounts once it sees the device.
		r.MountPoint = mp
		r.Timings.Visible, r.Timings.Configured = time.Since(start), time.Since(start)
		id := g.Storage.GetId()
		return r, func(ctx context.Context) error { return m.agent.RemoveStorage(ctx, id) }, nil
	case attach.AddDevice:
		resp, err := m.agent.AddDevice(ctx, g.Device)
		if err != nil {
			return r, nil, fmt.Errorf("%s in the guest: %w", g.Describe(), err)
		}
		r.GuestName, r.DevPath = resp.GetGuestName(), resp.GetDevPath()
		r.Timings.Visible, r.Timings.Configured = time.Since(start), time.Since(start)
		return r, nil, nil
	case attach.ConfigureInterface:
		if hot && g.Interface.GetGuestPciPath() == "" {
			if err := m.waitGuestNIC(ctx, g.Interface.GetHwAddr()); err != nil {
				return r, nil, err
			}
		}
		r.Timings.Visible = time.Since(start)
		if err := m.configureInterface(ctx, g); err != nil {
			return r, nil, err
		}
		r.Timings.Configured = time.Since(start)
		return r, nil, nil
	}
	return r, nil, fmt.Errorf("%w: guest request %T", ErrUnsupported, g)
}

// configureInterface sets the link up with the pod's name, MTU and
// addresses, then the routes and static neighbours on it.
func (m *Machine) configureInterface(ctx context.Context, g attach.ConfigureInterface) error {
	name := g.Interface.GetName()
	if _, err := m.agent.UpdateInterface(ctx, g.Interface); err != nil {
		if g.Hint != "" {
			return fmt.Errorf("configuring interface %q in the guest (%s): %w", name, g.Hint, err)
		}
		return fmt.Errorf("configuring interface %q in the guest: %w", name, err)
	}
	if len(g.Routes) > 0 {
		if _, err := m.agent.UpdateRoutes(ctx, g.Routes); err != nil {
			return fmt.Errorf("setting the routes of %q in the guest: %w", name, err)
		}
	}
	if len(g.Neighbors) > 0 {
		if err := m.agent.AddARPNeighbors(ctx, g.Neighbors); err != nil {
			return fmt.Errorf("adding the static neighbors of %q in the guest: %w", name, err)
		}
	}
	return nil
}

// waitGuestNIC polls the agent until a link with the MAC exists in the
// guest, bounded by ctx.
func (m *Machine) waitGuestNIC(ctx context.Context, hwAddr string) error {
	mac, err := net.ParseMAC(hwAddr)
	if err != nil {
		return fmt.Errorf("%w: NIC MAC %q: %w", ErrInvalid, hwAddr, err)
	}
	for {
		ifaces, err := m.agent.ListInterfaces(ctx)
		if err != nil {
			return fmt.Errorf("waiting for NIC %s in the guest: %w", mac, err)
		}
		for _, i := range ifaces {
			if got, err := net.ParseMAC(i.GetHwAddr()); err == nil && bytes.Equal(got, mac) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for NIC %s in the guest: %w", mac, ctx.Err())
		case <-time.After(visiblePoll):
		}
	}
}

// carryOutSteps carries out each step in order; a failure undoes the steps
// done. Results merge: each step fills its own fields; the timings are the
// last step's, measured from the first.
func (m *Machine) carryOutSteps(ctx context.Context, steps attach.Steps, hot bool) (attach.Result, func(context.Context) error, error) {
	start := time.Now()
	var r attach.Result
	var undos []func(context.Context) error
	undoAll := func(ctx context.Context) error {
		var errs []error
		for _, u := range slices.Backward(undos) {
			errs = append(errs, u(ctx))
		}
		return errors.Join(errs...)
	}
	for _, g := range steps {
		sr, undo, err := m.carryOut(ctx, g, hot)
		if err != nil {
			return attach.Result{}, nil, errors.Join(err, undoAll(context.WithoutCancel(ctx)))
		}
		if undo != nil {
			undos = append(undos, undo)
		}
		r.MountPoint = cmp.Or(sr.MountPoint, r.MountPoint)
		r.GuestName = cmp.Or(sr.GuestName, r.GuestName)
		r.DevPath = cmp.Or(sr.DevPath, r.DevPath)
		if r.Timings.Visible == 0 {
			r.Timings.Visible = time.Since(start) - sr.Timings.Configured + sr.Timings.Visible
		}
	}
	r.Timings.Configured = time.Since(start)
	if len(undos) == 0 {
		return r, nil, nil
	}
	return r, undoAll, nil
}
