package sandbox

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/vm/attach"
)

// Interface is a pod interface in the VM.
type Interface struct {
	Name   string
	Model  netmodels.EndpointKind
	MAC    string
	Queues int
	// Hotplugged: added to the running sandbox, not carried at boot.
	Hotplugged bool
	// Timings of the hot plug, for an interface added by AddInterface.
	Timings attach.Timings
}

// Interfaces lists the pod interfaces carried into the VM, those of the
// boot first, in device order.
func (s *Sandbox) Interfaces() []Interface {
	var out []Interface
	for _, ep := range s.lay.endpoints {
		out = append(out, interfaceOf(ep, false))
	}
	s.hot.nics.mu.Lock()
	defer s.hot.nics.mu.Unlock()
	for _, n := range s.hot.nics.hot {
		out = append(out, n.t)
	}
	return out
}

func interfaceOf(ep *netmodels.Endpoint, hot bool) Interface {
	mac := ""
	if m := ep.MAC(); m != nil {
		mac = m.String()
	}
	return Interface{Name: ep.Link.Name, Model: ep.Kind, MAC: mac, Queues: ep.QueuePairs(), Hotplugged: hot}
}

// AddInterface carries the pod netns' interface ifname, added after the
// VM booted (as Multus adds secondary networks), into the running VM: the
// endpoint is attached in the pod netns, a virtio-net NIC plugged into a
// spare root port, and the guest configures it with the interface's
// addresses, routes and static neighbors. A failure undoes every step.
func (s *Sandbox) AddInterface(ctx context.Context, ifname string) (Interface, error) {
	if ifname == "" {
		return Interface{}, errorf(ErrInvalidArgument, "no interface name")
	}
	if s.netnsPath == "" {
		return Interface{}, errorf(ErrInvalidArgument, "sandbox %q has no pod network namespace to take %q from", s.cfg.ID, ifname)
	}
	n := s.hot.nics
	n.mu.Lock()
	defer n.mu.Unlock()
	ns, err := netmodels.Scan(s.netnsPath)
	if err != nil {
		return Interface{}, err
	}
	id := "hnet" + strconv.Itoa(s.hot.next())
	port, err := s.lay.topo.Take(id)
	if err != nil {
		return Interface{}, errorf(ErrInvalidArgument, "%v", err)
	}
	ep, err := netmodels.PlanHot(s.lay.net, ns, ifname, id, port.ID, s.endpointsLocked())
	if err == nil && ep.Kind == netmodels.EndpointPhysical {
		err = errorf(ErrUnsupported, "interface %q: a VF netdev can only be carried at boot", ifname)
	}
	var r attach.Result
	if err == nil {
		r, err = s.m.Attach(ctx, ep)
	}
	if err != nil {
		s.lay.topo.Release(port)
		return Interface{}, fmt.Errorf("adding interface %q to sandbox %q: %w", ifname, s.cfg.ID, err)
	}
	i := interfaceOf(ep, true)
	i.Timings = r.Timings
	n.hot = append(n.hot, hotNIC{ep: ep, port: port, t: i})
	s.log.Info("interface added", "netdev", ifname, "qmp", r.Timings.QMP, "visible", r.Timings.Visible, "configured", r.Timings.Configured)
	return i, nil
}

// endpointsLocked are every NIC of the VM; the caller holds nics.mu.
func (s *Sandbox) endpointsLocked() []*netmodels.Endpoint {
	eps := slices.Clone(s.lay.endpoints)
	for _, n := range s.hot.nics.hot {
		eps = append(eps, n.ep)
	}
	return eps
}

// RemoveInterface unplugs a hot-plugged interface: the device (waiting for
// the guest to release it), then the endpoint in the pod netns, which is
// left as it was before AddInterface. Interfaces plugged at boot sit on the
// root bus, which has no hot unplug.
func (s *Sandbox) RemoveInterface(ctx context.Context, ifname string) error {
	n := s.hot.nics
	n.mu.Lock()
	defer n.mu.Unlock()
	i := slices.IndexFunc(n.hot, func(h hotNIC) bool { return h.ep.Link.Name == ifname })
	if i < 0 {
		if slices.ContainsFunc(s.lay.endpoints, func(ep *netmodels.Endpoint) bool { return ep.Link.Name == ifname }) {
			return errorf(ErrInvalidArgument, "interface %q of sandbox %q was plugged at boot: only hot-plugged interfaces can be removed", ifname, s.cfg.ID)
		}
		return fmt.Errorf("%w: interface %q is not in sandbox %q", netmodels.ErrNoInterface, ifname, s.cfg.ID)
	}
	h := n.hot[i]
	if err := s.m.Detach(ctx, h.ep.ID); err != nil {
		return fmt.Errorf("removing interface %q from sandbox %q: %w", ifname, s.cfg.ID, err)
	}
	s.lay.topo.Release(h.port)
	n.hot = slices.Delete(n.hot, i, i+1)
	s.log.Info("interface removed", "netdev", ifname)
	return nil
}
