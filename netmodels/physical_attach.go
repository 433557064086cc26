package netmodels

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vfio"
	"github.com/kite-vm/kite/vm/attach"
)

// rebindWait bounds the wait for a VF's netdev after its driver is back.
const rebindWait = 10 * time.Second

// hostNetns is the init network namespace, where a VF's netdev appears
// when its driver takes it back.
const hostNetns = "/proc/1/ns/net"

// Physical carries a PCI netdev of the pod netns (an SR-IOV VF that the
// SR-IOV CNI moved there) into the VM, an attachment: its configuration is
// in Record (collected before anything moves); Function passes the function
// through (a devicemgr.VFIOFunction: vfio-pci, a root port of its own),
// which destroys the netdev; the guest configures the VF's netdev, found at
// GuestPath, with the pod's name, MAC, MTU, addresses and routes. Detaching
// gives the function back to its driver and rebuilds the netdev in the pod
// netns from the record.
type Physical struct {
	Endpoint  *Endpoint
	Record    *PhysicalEndpoint
	Function  attach.Attachment
	GuestPath string
	SysfsRoot string
	// VF are the admin settings of the devices.vf rule (named VFRule) that
	// matched the VF, set through its PF with the pod interface's MAC
	// before the VF is passed through, put back after it is given back.
	VF     vfio.VFSettings
	VFRule string
}

var _ attach.Attachment = (*Physical)(nil)

// Name implements attach.Attachment: the function's.
func (p *Physical) Name() string { return p.Function.Name() }

// Needs implements attach.Attachment.
func (p *Physical) Needs() attach.Needs { return p.Function.Needs() }

// Attach passes the function through; the undo gives it back and rebuilds
// the netdev, in that order. A function attach that fails after it took
// the function from its driver (the netdev is gone) is undone the same
// way: the VF never stays bound, nor its netdev outside the pod netns.
func (p *Physical) Attach(ctx context.Context, host *cleanup.Stack) (attach.Plugged, error) {
	if err := p.setVF(host); err != nil {
		return attach.Plugged{}, fmt.Errorf("passing interface %q through: %w", p.Record.Name, err)
	}
	var fn cleanup.Stack
	plugged, err := p.Function.Attach(ctx, &fn)
	keeps := false
	if k, ok := p.Function.(netdevKeeper); ok {
		keeps = k.KeepsHostNetdev()
	}
	if err != nil {
		err = fmt.Errorf("passing interface %q through: %w", p.Record.Name, err)
		if keeps || fn.Len() == 0 {
			return attach.Plugged{}, errors.Join(err, fn.Clean())
		}
		return attach.Plugged{}, errors.Join(err, p.giveBack(ctx, &fn))
	}
	if keeps {
		host.Push("detach "+p.Function.Name(), &fn)
	} else {
		host.AddCtx("give VF "+p.Record.BDF+" back as "+p.Record.Name, func(ctx context.Context) error { return p.giveBack(ctx, &fn) })
	}
	p.Endpoint.mu.Lock()
	p.Endpoint.mac, p.Endpoint.queues = p.Record.MAC, 1
	p.Endpoint.mu.Unlock()
	if ad, ok := plugged.Guest.(attach.AddDevice); ok && ad.Device.GetMode() == protocol.DeviceMode_DEVICE_MODE_VFIO {
		// The guest gives the VF to its own vfio-pci (devices.vfio_mode
		// "vfio", for DPDK): no netdev to configure there.
		return plugged, nil
	}
	iface := guestInterface(p.Endpoint.Link, p.Record.MAC, p.Endpoint.MTU)
	iface.GuestPciPath = p.GuestPath
	cfg := attach.ConfigureInterface{Interface: iface, Routes: p.Endpoint.Routes, Neighbors: p.Endpoint.Neighbors,
		Hint: fmt.Sprintf("VF %s: its driver must be in the guest image: kite guest build --modules", p.Record.BDF)}
	steps := attach.Steps{cfg}
	if plugged.Guest != nil {
		steps = attach.Steps{plugged.Guest, cfg}
	}
	return attach.Plugged{Device: plugged.Device, Guest: steps}, nil
}

// giveBack undoes the function's attach (its driver back) and rebuilds
// the netdev in the pod netns from the record.
func (p *Physical) giveBack(ctx context.Context, fn *cleanup.Stack) error {
	ctx, cancel := context.WithTimeout(ctx, rebindWait+5*time.Second)
	defer cancel()
	return p.Record.Restore(ctx, rebinder{fn: fn, root: p.SysfsRoot})
}

// setVF has the VF's PF give it the pod interface's MAC as its admin MAC
// (so that the guest's VF driver comes up with it, and the host's with it
// when the VF is given back) and the settings of the devices.vf rule that
// matched it (VF), journaled first, the undo on host: it runs after the
// netdev is rebuilt, which an admin MAC put back first could refuse. A
// function that is no VF of a PF here keeps its own MAC, but cannot take
// a rule's settings; a stand-in's host netdev is left alone.
func (p *Physical) setVF(host *cleanup.Stack) error {
	if k, ok := p.Function.(netdevKeeper); ok && k.KeepsHostNetdev() {
		return nil
	}
	want := p.VF
	want.MAC = p.Record.MAC
	c, err := vfio.ChangeFor(p.SysfsRoot, p.Record.BDF, want)
	if errors.Is(err, vfio.ErrNotVF) && p.VF.IsZero() {
		return nil
	}
	if err != nil {
		return p.ruleError(err)
	}
	if c == nil {
		return nil
	}
	j := p.Endpoint.Journal
	if j != nil {
		hc := HostChange{Endpoint: p.Endpoint.ID, Kind: EndpointPhysical, Netns: p.Endpoint.NetnsPath, Iface: p.Record.Name, VF: c}
		if err := j.Note(hc); err != nil {
			return fmt.Errorf("recording the admin settings of VF %s: %w", p.Record.BDF, err)
		}
	}
	forget := func() error {
		if j == nil {
			return nil
		}
		return j.Forget(p.Endpoint.ID)
	}
	if err := c.Apply(); err != nil {
		return errors.Join(p.ruleError(err), forget())
	}
	host.Add("put back the admin settings of VF "+p.Record.BDF+" ("+c.Undo.String()+")", func() error {
		if err := c.Revert(); err != nil {
			return err // the record stays for the crash cleanup
		}
		return forget()
	})
	return nil
}

// ruleError names the devices.vf rule whose settings failed, if one did.
func (p *Physical) ruleError(err error) error {
	if p.VFRule == "" {
		return err
	}
	return fmt.Errorf("%s: %w", p.VFRule, err)
}

// netdevKeeper is a function whose attach leaves the host's netdev where
// it was (a stand-in QEMU emulates, in tests: devicemgr.StandIn), so there
// is nothing to rebuild when it is detached.
type netdevKeeper interface {
	KeepsHostNetdev() bool
}

// rebinder gives a VF back to its host driver (the function's own undo)
// and finds the netdev the driver makes for it, in the init netns.
type rebinder struct {
	fn   *cleanup.Stack
	root string
}

func (r rebinder) Rebind(ctx context.Context, bdf, _ string) (Netdev, error) {
	if err := r.fn.CleanCtx(ctx); err != nil {
		return Netdev{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, rebindWait)
	defer cancel()
	name, err := NetdevOfBDF(ctx, r.root, bdf)
	if err != nil {
		return Netdev{}, err
	}
	return Netdev{NetnsPath: hostNetns, Name: name}, nil
}

var _ attach.Previewer = (*Physical)(nil)

// Preview implements attach.Previewer when the function does.
func (p *Physical) Preview() qemu.Device {
	if pv, ok := p.Function.(attach.Previewer); ok {
		return pv.Preview()
	}
	return nil
}
