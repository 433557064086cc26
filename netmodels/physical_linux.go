package netmodels

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Restore gives the function back to its driver through rb, then moves the
// netdev the driver made into the pod netns and puts back its name, MAC,
// MTU, addresses, state, routes and neighbors. Once the netdev is in the
// pod netns under its name, a failing address, route or neighbor does not
// stop the others: every failure is joined into the error.
func (p *PhysicalEndpoint) Restore(ctx context.Context, rb Rebinder) error {
	nd, err := rb.Rebind(ctx, p.BDF, p.Driver)
	if err != nil {
		return fmt.Errorf("restoring %s (%q): giving it back to driver %q: %w", p.BDF, p.Name, p.Driver, err)
	}
	r, err := newRestorer(nd, p.NetnsPath)
	if err != nil {
		return fmt.Errorf("restoring %s (%q): %w", p.BDF, p.Name, err)
	}
	defer r.close()
	l, err := r.host.LinkByName(nd.Name)
	if err != nil {
		return fmt.Errorf("restoring %s (%q): netdev %q in netns %q: %w: %w", p.BDF, p.Name, nd.Name, nd.NetnsPath, ErrNoInterface, err)
	}
	var errs []error
	for _, s := range p.restorePlan(toLink(l)) {
		if err := s.apply(r); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			if structural(s) {
				break
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("restoring %s as %q in netns %q: %w", p.BDF, p.Name, p.NetnsPath, err)
	}
	return nil
}

// structural steps are those later steps depend on.
func structural(s restoreStep) bool {
	switch s.(type) {
	case stepDown, stepRename, stepMove:
		return true
	}
	return false
}

// restorer carries a netdev through the steps: it is in the host netns
// under name until stepMove, then in the pod netns.
type restorer struct {
	host, pod *netlink.Handle
	podNs     netns.NsHandle
	name      string
	inPod     bool
}

func newRestorer(nd Netdev, podPath string) (*restorer, error) {
	hostNs, err := openPodNetns(nd.NetnsPath)
	if err != nil {
		return nil, err
	}
	defer hostNs.Close()
	podNs, err := openPodNetns(podPath)
	if err != nil {
		return nil, err
	}
	r := &restorer{podNs: podNs, name: nd.Name}
	if r.host, err = netlink.NewHandleAt(hostNs, unix.NETLINK_ROUTE); err != nil {
		r.close()
		return nil, fmt.Errorf("opening netlink in netns %q: %w", nd.NetnsPath, err)
	}
	if r.pod, err = netlink.NewHandleAt(podNs, unix.NETLINK_ROUTE); err != nil {
		r.close()
		return nil, fmt.Errorf("opening netlink in netns %q: %w", podPath, err)
	}
	return r, nil
}

func (r *restorer) close() {
	for _, h := range []*netlink.Handle{r.host, r.pod} {
		if h != nil {
			h.Close()
		}
	}
	r.podNs.Close()
}

func (r *restorer) handle() *netlink.Handle {
	if r.inPod {
		return r.pod
	}
	return r.host
}

func (r *restorer) link() (netlink.Link, error) {
	l, err := r.handle().LinkByName(r.name)
	if err != nil {
		return nil, fmt.Errorf("looking up %q: %w: %w", r.name, ErrNoInterface, err)
	}
	return l, nil
}

// withLink runs fn on the netdev's current link.
func (r *restorer) withLink(fn func(h *netlink.Handle, l netlink.Link) error) error {
	l, err := r.link()
	if err != nil {
		return err
	}
	return fn(r.handle(), l)
}

func (stepDown) apply(r *restorer) error { return r.withLink((*netlink.Handle).LinkSetDown) }
func (stepUp) apply(r *restorer) error   { return r.withLink((*netlink.Handle).LinkSetUp) }

func (s stepRename) apply(r *restorer) error {
	err := r.withLink(func(h *netlink.Handle, l netlink.Link) error { return h.LinkSetName(l, s.To) })
	if err == nil {
		r.name = s.To
	}
	return err
}

func (s stepMove) apply(r *restorer) error {
	err := r.withLink(func(h *netlink.Handle, l netlink.Link) error { return h.LinkSetNsFd(l, int(r.podNs)) })
	if err == nil {
		r.inPod = true
	}
	return err
}

func (s stepMAC) apply(r *restorer) error {
	return r.withLink(func(h *netlink.Handle, l netlink.Link) error { return h.LinkSetHardwareAddr(l, s.MAC) })
}

func (s stepMTU) apply(r *restorer) error {
	return r.withLink(func(h *netlink.Handle, l netlink.Link) error { return h.LinkSetMTU(l, s.MTU) })
}

func (s stepAddr) apply(r *restorer) error {
	return r.withLink(func(h *netlink.Handle, l netlink.Link) error {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: s.Prefix.Addr().AsSlice(), Mask: net.CIDRMask(s.Prefix.Bits(), s.Prefix.Addr().BitLen())}}
		return ignoreExists(h.AddrAdd(l, a))
	})
}

// apply adds the route; the kernel's own prefix routes, made again by
// stepAddr and stepUp, are already there (EEXIST).
func (s stepRoute) apply(r *restorer) error {
	return r.withLink(func(h *netlink.Handle, l netlink.Link) error {
		d := s.Route.Dst
		nr := &netlink.Route{
			LinkIndex: l.Attrs().Index, Table: unix.RT_TABLE_MAIN, Scope: netlink.Scope(s.Route.Scope),
			Dst: &net.IPNet{IP: d.Addr().AsSlice(), Mask: net.CIDRMask(d.Bits(), d.Addr().BitLen())},
		}
		if s.Route.Gw.IsValid() {
			nr.Gw = s.Route.Gw.AsSlice()
		}
		if s.Route.Src.IsValid() {
			nr.Src = s.Route.Src.AsSlice()
		}
		return ignoreExists(h.RouteAdd(nr))
	})
}

func (s stepNeighbor) apply(r *restorer) error {
	return r.withLink(func(h *netlink.Handle, l netlink.Link) error {
		n := &netlink.Neigh{
			LinkIndex: l.Attrs().Index, State: netlink.NUD_PERMANENT,
			IP: s.Neighbor.IP.AsSlice(), HardwareAddr: s.Neighbor.MAC,
		}
		return h.NeighSet(n)
	})
}

func ignoreExists(err error) error {
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

// NetdevOfBDF waits until the PCI function bdf has a netdev, as its driver
// creates it after binding, and returns its name. The sysfs at sysfsRoot
// lists the netdevs of the netns it was mounted in: the host's "/sys" shows
// the init netns, where a driver registers new netdevs.
func NetdevOfBDF(ctx context.Context, sysfsRoot, bdf string) (string, error) {
	dir := filepath.Join(sysfsRoot, "bus", "pci", "devices", bdf, "net")
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ents, err := os.ReadDir(dir)
		if err == nil && len(ents) == 1 {
			return ents[0].Name(), nil
		}
		if len(ents) > 1 {
			return "", fmt.Errorf("%s has %d netdevs, want one", bdf, len(ents))
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for the netdev of %s in %s: %w", bdf, dir, ctx.Err())
		case <-tick.C:
		}
	}
}
