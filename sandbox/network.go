package sandbox

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/kite-vm/kite/devicemgr"
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

// Network is the sandbox's pod network: the interfaces of the pod netns
// carried into the VM at boot, and those added later.
type Network struct {
	sb  *Sandbox
	mu  sync.Mutex
	hot []hotNIC // guarded by mu: added since the boot
}

// hotNIC is an interface added since the boot.
type hotNIC struct {
	ep   *netmodels.Endpoint
	port devicemgr.Port
	t    Interface
}

// List lists the pod interfaces carried into the VM, those of the boot
// first, in device order.
func (n *Network) List() []Interface {
	var out []Interface
	for _, ep := range n.sb.lay.endpoints {
		out = append(out, interfaceOf(ep, false))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, h := range n.hot {
		out = append(out, h.t)
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

// Add carries the pod netns' interface ifname, added after the
// VM booted (as Multus adds secondary networks), into the running VM: the
// endpoint is attached in the pod netns, a virtio-net NIC plugged into a
// spare root port, and the guest configures it with the interface's
// addresses, routes and static neighbors. A failure undoes every step.
func (n *Network) Add(ctx context.Context, ifname string) (Interface, error) {
	s := n.sb
	if ifname == "" {
		return Interface{}, errorf(ErrInvalidArgument, "no interface name")
	}
	if s.netnsPath == "" {
		return Interface{}, errorf(ErrInvalidArgument, "sandbox %q has no pod network namespace to take %q from", s.cfg.ID, ifname)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ns, err := netmodels.Scan(s.netnsPath)
	if err != nil {
		return Interface{}, err
	}
	id := "hnet" + strconv.Itoa(s.next())
	ep, err := netmodels.PlanHot(s.lay.net, ns, ifname, id, "", n.endpointsLocked())
	if err == nil && ep.Kind == netmodels.EndpointPhysical {
		err = errorf(ErrUnsupported, "interface %q: a VF netdev can only be carried at boot", ifname)
	}
	if err != nil {
		return Interface{}, fmt.Errorf("adding interface %q to sandbox %q: %w", ifname, s.cfg.ID, err)
	}
	port, err := s.lay.topo.Take(id)
	if err != nil {
		return Interface{}, errorf(ErrInvalidArgument, "adding interface %q to sandbox %q: %v", ifname, s.cfg.ID, err)
	}
	ep.Bus, ep.Journal = port.ID, s.rec
	r, err := s.m.Attach(ctx, ep)
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

// endpointsLocked are every NIC of the VM; the caller holds mu.
func (n *Network) endpointsLocked() []*netmodels.Endpoint {
	eps := slices.Clone(n.sb.lay.endpoints)
	for _, h := range n.hot {
		eps = append(eps, h.ep)
	}
	return eps
}

// Remove unplugs a hot-plugged interface: the device (waiting for
// the guest to release it), then the endpoint in the pod netns, which is
// left as it was before AddInterface. Interfaces plugged at boot sit on the
// root bus, which has no hot unplug.
func (n *Network) Remove(ctx context.Context, ifname string) error {
	s := n.sb
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
