package netmodels

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
)

// Endpoint is one pod interface carried into the VM, as Plan or PlanHot
// planned it, and an attachment: attaching it does the pod-netns side
// (a tap joined by tc filters, a macvtap, an existing tap, a vhost-user
// placeholder), plugs a virtio-net NIC, and has the guest configure it with
// the interface's name, MTU, addresses, routes and static neighbors.
type Endpoint struct {
	// ID is the QEMU netdev and device id, and the attachment's name.
	ID        string
	NetnsPath string
	Link      Link
	Kind      EndpointKind
	Queues    int
	// Socket is the vhost-user socket of an EndpointVhostUser.
	Socket string
	// Bus is the root port of an interface hot-plugged into a running VM;
	// "" at boot.
	Bus string
	// MTU overrides the link's MTU in the guest; 0 keeps it.
	MTU int
	// NoMSIX: vhost-user NICs need vectors=0 (TCG).
	NoMSIX bool
	// Routes and Neighbors are the pod's on this interface, for the guest.
	Routes    []*protocol.Route
	Neighbors []*protocol.ARPNeighbor
	// Journal, if set, records the pod netns changes before they are made.
	Journal Journal

	mu     sync.Mutex
	mac    net.HardwareAddr // guarded by mu: the guest NIC's, once attached
	queues int              // guarded by mu: the queue pairs it got, once attached
}

var _ attach.Attachment = (*Endpoint)(nil)

// Name implements attach.Attachment.
func (e *Endpoint) Name() string { return e.ID }

// Needs implements attach.Attachment: a vhost-user backend maps the guest's
// RAM and QEMU connects to its socket.
func (e *Endpoint) Needs() attach.Needs {
	if e.Kind == EndpointVhostUser {
		return attach.Needs{SharedMemory: true, Sockets: []string{e.Socket}}
	}
	return attach.Needs{}
}

// MAC is the guest NIC's address once attached (a macvtap's own MAC, or
// the link's), nil before.
func (e *Endpoint) MAC() net.HardwareAddr {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mac
}

// QueuePairs is the number of queue pairs the NIC got: the planned number,
// or what the tap had once attached (a single-queue tap gives one).
func (e *Endpoint) QueuePairs() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.queues > 0 {
		return e.queues
	}
	return e.Queues
}

// Attach attaches the endpoint in the pod netns, its detach on host; a
// failure leaves the netns as it was. With a Journal, what the attach will
// change is noted before the first change, and forgotten once detached.
func (e *Endpoint) Attach(_ context.Context, host *cleanup.Stack) (attach.Plugged, error) {
	if e.Kind == EndpointPhysical {
		return attach.Plugged{}, fmt.Errorf("%w: interface %q is a VF netdev: carry it as a Physical endpoint", ErrPlan, e.Link.Name)
	}
	hold, err := e.note()
	if err != nil {
		return attach.Plugged{}, fmt.Errorf("attaching interface %q (%s): %w", e.Link.Name, e.Kind, err)
	}
	a, err := e.attachKind(hold)
	if err != nil {
		return attach.Plugged{}, errors.Join(fmt.Errorf("attaching interface %q (%s): %w", e.Link.Name, e.Kind, err), e.forget())
	}
	host.Add("detach interface "+e.Link.Name, func() error {
		if err := a.detach(); err != nil {
			return err // the record stays for the crash cleanup
		}
		return e.forget()
	})
	e.mu.Lock()
	e.mac, e.queues = a.mac, a.queues
	e.mu.Unlock()
	return attach.Plugged{
		Device: e.device(a),
		Guest:  attach.ConfigureInterface{Interface: guestInterface(e.Link, a.mac, e.MTU), Routes: e.Routes, Neighbors: e.Neighbors},
	}, nil
}

// note reads what attaching will change in the pod netns and has the
// Journal record it; it returns the address hold a macvtap or tap takes.
func (e *Endpoint) note() (*AddrHold, error) {
	if !changesHost(e.Kind) {
		return nil, nil
	}
	c, hold, err := e.inspect()
	if err != nil {
		return nil, err
	}
	if e.Journal != nil {
		if err := e.Journal.Note(c); err != nil {
			return nil, fmt.Errorf("recording the change to netns %q: %w", e.NetnsPath, err)
		}
	}
	return hold, nil
}

func (e *Endpoint) forget() error {
	if e.Journal == nil || !changesHost(e.Kind) {
		return nil
	}
	return e.Journal.Forget(e.ID)
}

// attached is an endpoint attached in the pod netns.
type attached struct {
	mac    net.HardwareAddr
	fds    []*os.File // tap queues; none for vhost-user
	queues int
	detach func() error
}

func (e *Endpoint) attachKind(hold *AddrHold) (attached, error) {
	switch e.Kind {
	case EndpointTCFilter:
		t, err := AttachTCFilter(e.NetnsPath, e.Link.Name, e.Queues)
		if err != nil {
			return attached{}, err
		}
		return attached{mac: e.Link.MAC, fds: t.Fds, queues: e.Queues, detach: t.Detach}, nil
	case EndpointMacvtap:
		return withHeldAddresses(hold, func() (attached, error) {
			m, err := AttachMacvtap(e.NetnsPath, e.Link.Name, e.Queues)
			if err != nil {
				return attached{}, err
			}
			return attached{mac: m.MAC, fds: m.Queues, queues: e.Queues, detach: m.Detach}, nil
		})
	case EndpointTap:
		return withHeldAddresses(hold, func() (attached, error) {
			t, err := AttachTap(e.NetnsPath, e.Link.Name, e.Queues)
			if err != nil {
				return attached{}, err
			}
			// A single-queue tap gives one.
			return attached{mac: t.MAC, fds: t.Fds, queues: t.Queues(), detach: t.Detach}, nil
		})
	case EndpointVhostUser:
		v, err := AttachVhostUser(e.NetnsPath, e.Link.Name, e.Socket, e.Queues)
		if err != nil {
			return attached{}, err
		}
		return attached{mac: v.MAC, queues: e.Queues, detach: v.Detach}, nil
	}
	return attached{}, fmt.Errorf("%w: endpoint %s", ErrPlan, e.Kind)
}

// device is the NIC's QEMU device.
func (e *Endpoint) device(a attached) qemu.Device {
	if e.Kind == EndpointVhostUser {
		return qemu.VhostUserNet{ID: e.ID, Bus: e.Bus, MAC: a.mac.String(), SocketPath: e.Socket, Queues: a.queues, NoMSIX: e.NoMSIX}
	}
	return qemu.TapNet{ID: e.ID, Bus: e.Bus, MAC: a.mac.String(), FDs: slices.Clone(a.fds)}
}

// withHeldAddresses attaches an endpoint whose guest NIC takes over the
// pod interface's addresses (macvtap, tap): they come off the interface
// first, or the pod netns would answer for them in the guest's place, and
// go back after the endpoint's own detach.
func withHeldAddresses(hold *AddrHold, attachFn func() (attached, error)) (attached, error) {
	if err := hold.take(); err != nil {
		return attached{}, err
	}
	a, err := attachFn()
	if err != nil {
		return attached{}, errors.Join(err, hold.Release())
	}
	detach := a.detach
	a.detach = func() error { return errors.Join(detach(), hold.Release()) }
	return a, nil
}
