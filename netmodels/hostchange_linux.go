package netmodels

import (
	"errors"
	"fmt"
	"net"

	"github.com/kite-vm/kite/internal/nldump"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// inspect reads, without changing anything, what attaching e will change
// in its pod netns, and for a kind that takes the interface's addresses,
// the hold that will take them.
func (e *Endpoint) inspect() (HostChange, *AddrHold, error) {
	c := HostChange{Endpoint: e.ID, Kind: e.Kind, Netns: e.NetnsPath, Iface: e.Link.Name}
	h, err := podHandle(e.NetnsPath)
	if err != nil {
		return c, nil, err
	}
	defer h.Close()
	link, err := h.LinkByName(e.Link.Name)
	if err != nil {
		return c, nil, fmt.Errorf("looking up %q in netns %q: %w: %v", e.Link.Name, e.NetnsPath, ErrNoInterface, err)
	}
	var hold *AddrHold
	switch e.Kind {
	case EndpointTCFilter:
		if c.Link, err = tcfilterTapName(link.Attrs().Index); err != nil {
			return c, nil, err
		}
		if c.IngressExisted, err = hasIngress(h, link); err != nil {
			return c, nil, err
		}
	case EndpointMacvtap:
		c.Link = mvtName(link.Attrs().Index)
		fallthrough
	case EndpointTap:
		if hold, err = readHold(h, e.NetnsPath, link); err != nil {
			return c, nil, err
		}
		held := hold.record()
		c.Held = &held
	}
	return c, hold, nil
}

func hasIngress(h *netlink.Handle, l netlink.Link) (bool, error) {
	qs, err := nldump.Retry(func() ([]netlink.Qdisc, error) { return h.QdiscList(l) })
	if err != nil {
		return false, fmt.Errorf("listing qdiscs of %q: %w", l.Attrs().Name, err)
	}
	for _, q := range qs {
		if q.Attrs().Parent == netlink.HANDLE_INGRESS {
			return true, nil
		}
	}
	return false, nil
}

// UndoHostChange puts back what attaching an endpoint changed in its pod
// netns, from its record alone, after the process that attached it died:
//   - tcfilter: the interface's redirect filters to the tap (or to a link
//     that is gone: the tap vanishes with QEMU's fds) go, the ingress qdisc
//     too when the record says it was not there before and nothing else
//     uses it, and the tap if it is still there;
//   - macvtap: the macvtap goes, the interface's addresses and routes come
//     back;
//   - tap: the tap's addresses and routes come back.
//
// It may run on a change only half made, or already undone: whatever is
// not there is skipped. A netns that is gone has nothing to undo.
func UndoHostChange(c HostChange) error {
	if c.VF != nil {
		if err := c.VF.Revert(); err != nil {
			return fmt.Errorf("undoing endpoint %s: %w", c.Endpoint, err)
		}
	}
	if !changesHost(c.Kind) {
		return nil
	}
	ns, h, err := podNetlink(c.Netns)
	if errors.Is(err, ErrNoNetns) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("undoing endpoint %s: %w", c.Endpoint, err)
	}
	ns.Close()
	defer h.Close()
	switch c.Kind {
	case EndpointTCFilter:
		err = undoTCFilter(h, c)
	case EndpointMacvtap:
		err = errors.Join(DeleteMacvtap(c.Netns, c.Link), restoreHeld(h, c))
	case EndpointTap:
		err = restoreHeld(h, c)
	}
	if err != nil {
		return fmt.Errorf("undoing endpoint %s (%s on %q in netns %q): %w", c.Endpoint, c.Kind, c.Iface, c.Netns, err)
	}
	return nil
}

func undoTCFilter(h *netlink.Handle, c HostChange) error {
	tapIndex := 0
	tap, err := h.LinkByName(c.Link)
	switch {
	case err == nil:
		if _, ok := tap.(*netlink.Tuntap); !ok {
			return fmt.Errorf("%q is a %s link, not the endpoint's tap", c.Link, tap.Type())
		}
		tapIndex = tap.Attrs().Index
	case !errors.As(err, new(netlink.LinkNotFoundError)):
		return fmt.Errorf("looking up tap %q: %w", c.Link, err)
	}
	var errs []error
	iface, err := h.LinkByName(c.Iface)
	switch {
	case err == nil:
		errs = append(errs, removeRedirects(h, iface, tapIndex, c.IngressExisted))
	case !errors.As(err, new(netlink.LinkNotFoundError)):
		errs = append(errs, fmt.Errorf("looking up %q: %w", c.Iface, err))
	}
	if tap != nil {
		if err := h.LinkDel(tap); err != nil && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("deleting tap %q: %w", c.Link, err))
		}
	}
	return errors.Join(errs...)
}

// removeRedirects deletes the iface's ingress filters that redirect to the
// tap at tapIndex or to a link that no longer exists, and then, unless the
// ingress qdisc predates the endpoint, the qdisc once no filter is left.
func removeRedirects(h *netlink.Handle, iface netlink.Link, tapIndex int, keepIngress bool) error {
	fs, err := nldump.Retry(func() ([]netlink.Filter, error) { return h.FilterList(iface, ingressParent) })
	if err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil // no ingress qdisc
		}
		return fmt.Errorf("listing ingress filters of %q: %w", iface.Attrs().Name, err)
	}
	ours := map[uint16]bool{}
	left := 0
	for _, f := range fs {
		prio := f.Attrs().Priority
		if redirectsTo(h, f, tapIndex) {
			ours[prio] = true
			continue
		}
		if !ours[prio] {
			left++
		}
	}
	var errs []error
	for prio := range ours {
		del := &netlink.U32{FilterAttrs: netlink.FilterAttrs{
			LinkIndex: iface.Attrs().Index, Parent: ingressParent, Priority: prio, Protocol: unix.ETH_P_ALL,
		}}
		if err := ignoreGone(h.FilterDel(del)); err != nil {
			errs = append(errs, fmt.Errorf("deleting redirect filter prio %d of %q: %w", prio, iface.Attrs().Name, err))
		}
	}
	if keepIngress || left > 0 || len(errs) > 0 {
		return errors.Join(errs...)
	}
	q := &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{
		LinkIndex: iface.Attrs().Index, Handle: ingressParent, Parent: netlink.HANDLE_INGRESS,
	}}
	if err := ignoreGone(h.QdiscDel(q)); err != nil {
		return fmt.Errorf("deleting ingress qdisc of %q: %w", iface.Attrs().Name, err)
	}
	return nil
}

// redirectsTo reports whether f is a u32 filter whose mirred action sends
// to the link at tapIndex, or to a link that is gone.
func redirectsTo(h *netlink.Handle, f netlink.Filter, tapIndex int) bool {
	u, ok := f.(*netlink.U32)
	if !ok {
		return false
	}
	for _, a := range u.Actions {
		m, ok := a.(*netlink.MirredAction)
		if !ok {
			continue
		}
		// The kernel dumps a mirred whose device was unregistered with
		// ifindex 0.
		if m.Ifindex == 0 || m.Ifindex == tapIndex {
			return true
		}
		if _, err := h.LinkByIndex(m.Ifindex); errors.As(err, new(netlink.LinkNotFoundError)) {
			return true
		}
	}
	return false
}

// restoreHeld puts the recorded addresses and routes back on the interface
// (those already there stay as they are).
func restoreHeld(h *netlink.Handle, c HostChange) error {
	if c.Held == nil {
		return nil
	}
	link, err := h.LinkByName(c.Iface)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking up %q: %w", c.Iface, err)
	}
	hold := &AddrHold{NetnsPath: c.Netns, Ifname: c.Iface}
	if hold.addrs, hold.routes, err = c.Held.toNetlink(); err != nil {
		return err
	}
	return hold.restore(h, link)
}

// record is the hold's addresses and routes in their recorded form.
func (a *AddrHold) record() HeldAddrs {
	var r HeldAddrs
	for _, ad := range a.addrs {
		ha := HeldAddr{Prefix: ad.IPNet.String(), Label: ad.Label, Flags: ad.Flags, Scope: ad.Scope}
		if ad.Peer != nil {
			ha.Peer = ad.Peer.String()
		}
		if ad.Broadcast != nil {
			ha.Broadcast = ad.Broadcast.String()
		}
		r.Addrs = append(r.Addrs, ha)
	}
	for _, rt := range a.routes {
		hr := HeldRoute{Family: rt.Family, Scope: int(rt.Scope), Protocol: int(rt.Protocol), Priority: rt.Priority,
			Table: rt.Table, Type: rt.Type, Flags: rt.Flags}
		if rt.Dst != nil {
			hr.Dst = rt.Dst.String()
		}
		if rt.Gw != nil {
			hr.Gw = rt.Gw.String()
		}
		if rt.Src != nil {
			hr.Src = rt.Src.String()
		}
		r.Routes = append(r.Routes, hr)
	}
	return r
}

// toNetlink converts the recorded addresses and routes back.
func (r HeldAddrs) toNetlink() ([]netlink.Addr, []netlink.Route, error) {
	var addrs []netlink.Addr
	for _, ha := range r.Addrs {
		a, err := netlink.ParseAddr(ha.Prefix)
		if err != nil {
			return nil, nil, fmt.Errorf("recorded address %q: %w", ha.Prefix, err)
		}
		a.Label, a.Flags, a.Scope = ha.Label, ha.Flags, ha.Scope
		if ha.Peer != "" {
			if a.Peer, err = netlink.ParseIPNet(ha.Peer); err != nil {
				return nil, nil, fmt.Errorf("recorded peer %q: %w", ha.Peer, err)
			}
		}
		a.Broadcast = net.ParseIP(ha.Broadcast)
		addrs = append(addrs, *a)
	}
	var routes []netlink.Route
	for _, hr := range r.Routes {
		rt := netlink.Route{Family: hr.Family, Scope: netlink.Scope(hr.Scope), Protocol: netlink.RouteProtocol(hr.Protocol),
			Priority: hr.Priority, Table: hr.Table, Type: hr.Type, Flags: hr.Flags,
			Gw: net.ParseIP(hr.Gw), Src: net.ParseIP(hr.Src)}
		if hr.Dst != "" {
			_, dst, err := net.ParseCIDR(hr.Dst)
			if err != nil {
				return nil, nil, fmt.Errorf("recorded route %q: %w", hr.Dst, err)
			}
			rt.Dst = dst
		}
		routes = append(routes, rt)
	}
	return addrs, routes, nil
}
