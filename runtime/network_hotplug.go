package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/kite-vm/kite/netmodels"
)

// PlugTimings split a hot plug's latency: from the first QMP command to
// device_add's answer, to the guest seeing the device, to the agent having
// configured it.
type PlugTimings struct {
	QMP        time.Duration
	Visible    time.Duration
	Configured time.Duration
}

// visiblePoll paces the wait for a hot-plugged NIC to show in the guest.
const visiblePoll = 5 * time.Millisecond

// AddInterface carries the pod netns' interface ifname, added after the
// VM booted (as Multus adds secondary networks), into the running VM: it
// attaches the endpoint, plugs a virtio-net NIC into a spare root port and
// has the agent configure it with the interface's addresses, routes and
// static neighbors. A failure undoes every step.
func (vm *VM) AddInterface(ctx context.Context, ifname string) (NIC, PlugTimings, error) {
	np := vm.plan.Network
	if np.NetnsPath == "" {
		return NIC{}, PlugTimings{}, fmt.Errorf("%w: sandbox %q has no pod network namespace to take %q from", ErrInvalid, vm.plan.ID, ifname)
	}
	vm.netMu.Lock()
	defer vm.netMu.Unlock()
	ns, err := netmodels.Scan(np.NetnsPath)
	if err != nil {
		return NIC{}, PlugTimings{}, err
	}
	vm.netSeq++
	id := "hnet" + strconv.Itoa(vm.netSeq)
	ep, layout, err := planHotNIC(np, ns, ifname, id, vm.endpoints())
	if err != nil {
		return NIC{}, PlugTimings{}, err
	}
	if ep.Kind == netmodels.EndpointPhysical {
		return NIC{}, PlugTimings{}, fmt.Errorf("%w: interface %q: %w", ErrUnsupported, ifname, errNoPhysicalHotplug)
	}
	n, t, err := vm.plugNIC(ctx, np.NetnsPath, ep, layout)
	if err != nil {
		return NIC{}, PlugTimings{}, fmt.Errorf("adding interface %q to sandbox %q: %w", ifname, vm.plan.ID, err)
	}
	vm.nics = append(vm.nics, n)
	return NIC{ID: n.ep.ID, Name: ifname, Kind: ep.Kind, MAC: n.mac, Queues: n.ep.Queues, Hotplugged: true}, t, nil
}

func (vm *VM) endpoints() []netEndpoint {
	eps := make([]netEndpoint, len(vm.nics))
	for i, n := range vm.nics {
		eps[i] = n.ep
	}
	return eps
}

func (vm *VM) plugNIC(ctx context.Context, netnsPath string, ep netEndpoint, layout netLayout) (n nic, t PlugTimings, err error) {
	var undo []func() error
	defer func() {
		if err != nil {
			for _, u := range slices.Backward(undo) {
				err = errors.Join(err, u())
			}
		}
	}()
	if ep.Kind == netmodels.EndpointVhostUser && !vm.plan.QEMU.Memory.Shared {
		return nic{}, t, fmt.Errorf("%w: vhost-user interface %q needs shared guest memory, which sandbox %q did not boot with (shared_fs.driver = \"virtio-fs\" gives it)", ErrInvalid, ep.Link.Name, vm.plan.ID)
	}
	if n, err = attachEndpoint(netnsPath, ep); err != nil {
		return nic{}, t, err
	}
	undo = append(undo, n.detach)
	if n.port, err = vm.ports.take(ep.ID); err != nil {
		return nic{}, t, err
	}
	undo = append(undo, func() error { vm.ports.release(n.port); return nil })
	start := time.Now()
	if n.dev, err = plug(ctx, vm.QMP, ep.ID, n.device(n.port, vm.plan.Network.NoMSIX)); err != nil {
		return nic{}, t, err
	}
	undo = append(undo, func() error { return n.dev.unplug(context.WithoutCancel(ctx), vm.QMP) })
	t.QMP = time.Since(start)
	if err = vm.waitGuestNIC(ctx, n.mac); err != nil {
		return nic{}, t, err
	}
	t.Visible = time.Since(start)
	if err = vm.configureNIC(ctx, n, layout); err != nil {
		return nic{}, t, err
	}
	t.Configured = time.Since(start)
	return n, t, nil
}

// waitGuestNIC polls the agent until a link with the MAC exists in the
// guest, bounded by ctx.
func (vm *VM) waitGuestNIC(ctx context.Context, mac net.HardwareAddr) error {
	for {
		ifaces, err := vm.Agent.ListInterfaces(ctx)
		if err != nil {
			return fmt.Errorf("waiting for NIC %s in the guest: %w", mac, err)
		}
		for _, i := range ifaces {
			if m, err := net.ParseMAC(i.GetHwAddr()); err == nil && bytes.Equal(m, mac) {
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

func (vm *VM) configureNIC(ctx context.Context, n nic, layout netLayout) error {
	a := vm.Agent
	if _, err := a.UpdateInterface(ctx, guestInterface(n.ep, n.mac, vm.plan.Network.MTU)); err != nil {
		return fmt.Errorf("configuring interface %q in the guest: %w", n.ep.Link.Name, err)
	}
	if len(layout.Routes) > 0 {
		if _, err := a.UpdateRoutes(ctx, layout.Routes); err != nil {
			return fmt.Errorf("setting the routes of %q in the guest: %w", n.ep.Link.Name, err)
		}
	}
	if len(layout.Neighbors) > 0 {
		if err := a.AddARPNeighbors(ctx, layout.Neighbors); err != nil {
			return fmt.Errorf("adding the static neighbors of %q in the guest: %w", n.ep.Link.Name, err)
		}
	}
	return nil
}

// RemoveInterface unplugs a hot-plugged interface: device_del (waiting for
// the guest to release it), the backend, then the endpoint in the pod
// netns, which is left as it was before AddInterface. Interfaces plugged at
// boot sit on the root bus, which has no hot unplug.
func (vm *VM) RemoveInterface(ctx context.Context, ifname string) error {
	vm.netMu.Lock()
	defer vm.netMu.Unlock()
	i := slices.IndexFunc(vm.nics, func(n nic) bool { return n.ep.Link.Name == ifname })
	switch {
	case i < 0:
		return fmt.Errorf("%w: interface %q is not in sandbox %q", netmodels.ErrNoInterface, ifname, vm.plan.ID)
	case vm.nics[i].dev == nil:
		return fmt.Errorf("%w: interface %q of sandbox %q was plugged at boot: only hot-plugged interfaces can be removed", ErrInvalid, ifname, vm.plan.ID)
	}
	n := vm.nics[i]
	if err := n.dev.unplug(ctx, vm.QMP); err != nil {
		return fmt.Errorf("removing interface %q from sandbox %q: %w", ifname, vm.plan.ID, err)
	}
	vm.ports.release(n.port)
	vm.nics = slices.Delete(vm.nics, i, i+1)
	if err := n.detach(); err != nil {
		return fmt.Errorf("removing interface %q from sandbox %q: %w", ifname, vm.plan.ID, err)
	}
	return nil
}
