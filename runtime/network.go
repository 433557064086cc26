package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"

	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/qemu"
)

// NIC is a pod interface carried into the VM.
type NIC struct {
	// ID is the QEMU netdev and device id.
	ID string
	// Name is the interface's name in the pod netns, and in the guest.
	Name string
	Kind netmodels.EndpointKind
	// MAC is the guest NIC's address.
	MAC    net.HardwareAddr
	Queues int
	// Hotplugged: added by AddInterface, not at boot.
	Hotplugged bool
}

// nic is an attached endpoint and what the guest needs to configure it.
type nic struct {
	ep  netEndpoint
	mac net.HardwareAddr
	fds []*os.File // tap queues; none for vhost-user
	// detach undoes the attach in the pod netns.
	detach func() error
	// port is the root port of a hot-plugged NIC or a passed-through VF,
	// dev the device of a hot-plugged one.
	port string
	dev  *plugged
	// bdf is the host address of a passed-through VF (EndpointPhysical).
	bdf string
}

// attachNetwork collects the pod netns, plans its endpoints and attaches
// them; the NICs join the QEMU command line. One undo detaches every NIC
// the VM has then, hot-plugged ones included.
func (b *booter) attachNetwork() error {
	np := b.vm.plan.Network
	if np.NetnsPath == "" {
		return nil
	}
	b.vm.pushUndoSimple("detach the pod network", b.vm.detachNICs)
	ns, err := netmodels.Scan(np.NetnsPath)
	if err != nil {
		return err
	}
	layout, err := planNetwork(np, ns)
	if err != nil {
		return err
	}
	for _, ep := range layout.Endpoints {
		if ep.Kind == netmodels.EndpointPhysical {
			n, err := b.attachPhysical(ns, ep)
			if err != nil {
				return fmt.Errorf("passing interface %q through: %w", ep.Link.Name, err)
			}
			b.vm.nics = append(b.vm.nics, n)
			continue
		}
		n, err := attachEndpoint(np.NetnsPath, ep)
		if err != nil {
			return err
		}
		b.vm.nics = append(b.vm.nics, n)
		b.vm.plan.QEMU.Devices = append(b.vm.plan.QEMU.Devices, n.device("", np.NoMSIX))
		if ep.Kind == netmodels.EndpointVhostUser {
			// The backend maps guest RAM.
			b.vm.plan.QEMU.Memory.Shared = true
		}
	}
	b.vm.layout = layout
	return nil
}

// attachEndpoint attaches one endpoint in the pod netns; a failure leaves
// the netns as it was.
func attachEndpoint(netnsPath string, ep netEndpoint) (nic, error) {
	n, err := attachEndpointKind(netnsPath, ep)
	if err != nil {
		return nic{}, fmt.Errorf("attaching interface %q (%s): %w", ep.Link.Name, ep.Kind, err)
	}
	return n, nil
}

func attachEndpointKind(netnsPath string, ep netEndpoint) (nic, error) {
	switch ep.Kind {
	case netmodels.EndpointTCFilter:
		t, err := netmodels.AttachTCFilter(netnsPath, ep.Link.Name, ep.Queues)
		if err != nil {
			return nic{}, err
		}
		return nic{ep: ep, mac: ep.Link.MAC, fds: t.Fds, detach: t.Detach}, nil
	case netmodels.EndpointMacvtap:
		return withHeldAddresses(netnsPath, ep, func() (nic, error) {
			m, err := netmodels.AttachMacvtap(netnsPath, ep.Link.Name, ep.Queues)
			if err != nil {
				return nic{}, err
			}
			return nic{ep: ep, mac: m.MAC, fds: m.Queues, detach: m.Detach}, nil
		})
	case netmodels.EndpointTap:
		return withHeldAddresses(netnsPath, ep, func() (nic, error) {
			t, err := netmodels.AttachTap(netnsPath, ep.Link.Name, ep.Queues)
			if err != nil {
				return nic{}, err
			}
			ep.Queues = t.Queues() // a single-queue tap gives one
			return nic{ep: ep, mac: t.MAC, fds: t.Fds, detach: t.Detach}, nil
		})
	case netmodels.EndpointVhostUser:
		v, err := netmodels.AttachVhostUser(netnsPath, ep.Link.Name, ep.Socket, ep.Queues)
		if err != nil {
			return nic{}, err
		}
		return nic{ep: ep, mac: v.MAC, detach: v.Detach}, nil
	}
	return nic{}, fmt.Errorf("%w: endpoint %s", ErrUnsupported, ep.Kind)
}

// device is the NIC's QEMU device on bus ("" for the root bus).
func (n nic) device(bus string, noMSIX bool) qemu.Device {
	if n.ep.Kind == netmodels.EndpointVhostUser {
		return qemu.VhostUserNet{ID: n.ep.ID, Bus: bus, MAC: n.mac.String(), SocketPath: n.ep.Socket, Queues: n.ep.Queues, NoMSIX: noMSIX}
	}
	return qemu.TapNet{ID: n.ep.ID, Bus: bus, MAC: n.mac.String(), FDs: n.fds}
}

// withHeldAddresses attaches an endpoint whose guest NIC takes over the
// pod interface's addresses (macvtap, tap): they come off the interface
// first, or the pod netns would answer for them in the guest's place, and
// go back after the endpoint's own detach.
func withHeldAddresses(netnsPath string, ep netEndpoint, attach func() (nic, error)) (nic, error) {
	hold, err := netmodels.HoldAddresses(netnsPath, ep.Link.Name)
	if err != nil {
		return nic{}, err
	}
	n, err := attach()
	if err != nil {
		return nic{}, errors.Join(err, hold.Release())
	}
	detach := n.detach
	n.detach = func() error { return errors.Join(detach(), hold.Release()) }
	return n, nil
}

// detachNICs detaches every NIC left, latest first; QEMU is gone by then.
func (vm *VM) detachNICs() error {
	vm.netMu.Lock()
	defer vm.netMu.Unlock()
	var errs []error
	for _, n := range slices.Backward(vm.nics) {
		errs = append(errs, n.detach())
	}
	vm.nics = nil
	return errors.Join(errs...)
}

// configureNetwork gives the guest the pod's interfaces (found by MAC,
// renamed, addressed, up), routes and static neighbors.
func (b *booter) configureNetwork(ctx context.Context) error {
	if len(b.vm.nics) == 0 {
		return nil
	}
	a := b.vm.Agent
	for _, n := range b.vm.nics {
		if n.ep.Kind == netmodels.EndpointPhysical {
			if err := b.configurePhysical(ctx, n); err != nil {
				return err
			}
			continue
		}
		if _, err := a.UpdateInterface(ctx, guestInterface(n.ep, n.mac, b.vm.plan.Network.MTU)); err != nil {
			return fmt.Errorf("configuring interface %q in the guest: %w", n.ep.Link.Name, err)
		}
	}
	if len(b.vm.layout.Routes) > 0 {
		if _, err := a.UpdateRoutes(ctx, b.vm.layout.Routes); err != nil {
			return fmt.Errorf("setting the guest's routes: %w", err)
		}
	}
	if len(b.vm.layout.Neighbors) > 0 {
		if err := a.AddARPNeighbors(ctx, b.vm.layout.Neighbors); err != nil {
			return fmt.Errorf("adding the guest's static neighbors: %w", err)
		}
	}
	return nil
}

// NICs returns the pod interfaces carried into the VM, in device order.
func (vm *VM) NICs() []NIC {
	vm.netMu.Lock()
	defer vm.netMu.Unlock()
	var out []NIC
	for _, n := range vm.nics {
		out = append(out, NIC{ID: n.ep.ID, Name: n.ep.Link.Name, Kind: n.ep.Kind, MAC: n.mac, Queues: n.ep.Queues, Hotplugged: n.dev != nil})
	}
	return out
}
