package netmodels

import (
	"errors"
	"fmt"

	"github.com/kite-vm/kite/internal/nldump"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AddrHold is a pod interface whose IP addresses were taken off while the
// guest owns them. With a macvtap on a veth, frames for the veth's own MAC
// still reach the pod netns' stack: if the veth kept the pod's addresses,
// the pod netns would answer ARP and ping for them in the guest's stead.
type AddrHold struct {
	NetnsPath string
	Ifname    string
	addrs     []netlink.Addr
	// routes are the link's routes before: removing an address takes the
	// routes through it along, and restoring it brings back only the
	// prefix route.
	routes []netlink.Route
}

// HoldAddresses removes the global and site addresses of ifname in the
// netns (IPv6 link-local ones stay: they are derived from the link's own
// MAC) and returns the hold that puts them back. A failure half way puts
// back what it removed.
func HoldAddresses(netnsPath, ifname string) (*AddrHold, error) {
	h, err := podHandle(netnsPath)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	link, err := h.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("holding the addresses of %q in netns %q: %w: %v", ifname, netnsPath, ErrNoInterface, err)
	}
	hold, err := readHold(h, netnsPath, link)
	if err != nil {
		return nil, err
	}
	if err := hold.takeWith(h, link); err != nil {
		return nil, err
	}
	return hold, nil
}

// readHold reads what holding link's addresses will take off, without
// taking it.
func readHold(h *netlink.Handle, netnsPath string, link netlink.Link) (*AddrHold, error) {
	ifname := link.Attrs().Name
	addrs, err := nldump.Retry(func() ([]netlink.Addr, error) { return h.AddrList(link, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("listing the addresses of %q: %w", ifname, err)
	}
	routes, err := nldump.Retry(func() ([]netlink.Route, error) { return h.RouteList(link, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("listing the routes of %q: %w", ifname, err)
	}
	hold := &AddrHold{NetnsPath: netnsPath, Ifname: ifname, routes: routes}
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() && a.IP.To4() == nil {
			continue
		}
		hold.addrs = append(hold.addrs, a)
	}
	return hold, nil
}

// take removes the addresses readHold read. A failure half way puts back
// what it removed.
func (a *AddrHold) take() error {
	h, err := podHandle(a.NetnsPath)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(a.Ifname)
	if err != nil {
		return fmt.Errorf("holding the addresses of %q in netns %q: %w: %v", a.Ifname, a.NetnsPath, ErrNoInterface, err)
	}
	return a.takeWith(h, link)
}

func (a *AddrHold) takeWith(h *netlink.Handle, link netlink.Link) error {
	for i, ad := range a.addrs {
		if err := h.AddrDel(link, &ad); err != nil {
			err = fmt.Errorf("removing %s from %q: %w", ad.IPNet, a.Ifname, err)
			taken := &AddrHold{NetnsPath: a.NetnsPath, Ifname: a.Ifname, addrs: a.addrs[:i], routes: a.routes}
			return errors.Join(err, taken.restore(h, link))
		}
	}
	return nil
}

// Release puts the addresses back on the interface. An interface that is
// gone has nothing to restore.
func (a *AddrHold) Release() error {
	if len(a.addrs) == 0 && len(a.routes) == 0 {
		return nil
	}
	h, err := podHandle(a.NetnsPath)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(a.Ifname)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		a.addrs, a.routes = nil, nil
		return nil
	}
	if err != nil {
		return fmt.Errorf("restoring the addresses of %q: %w", a.Ifname, err)
	}
	return a.restore(h, link)
}

func (a *AddrHold) restore(h *netlink.Handle, link netlink.Link) error {
	var errs []error
	for _, addr := range a.addrs {
		// The kernel fills Label/Flags/lifetimes back from what AddrList
		// read: AddrReplace restores them as they were.
		if err := h.AddrReplace(link, &addr); err != nil {
			errs = append(errs, fmt.Errorf("restoring %s on %q: %w", addr.IPNet, a.Ifname, err))
		}
	}
	for _, r := range a.routes {
		r.LinkIndex = link.Attrs().Index
		// RouteAdd, not RouteReplace: an IPv6 replace matches on prefix
		// and metric only, and would take another link's fe80::/64.
		if err := h.RouteAdd(&r); err != nil && !errors.Is(err, unix.EEXIST) {
			errs = append(errs, fmt.Errorf("restoring route %s on %q: %w", r.Dst, a.Ifname, err))
		}
	}
	a.addrs, a.routes = nil, nil
	return errors.Join(errs...)
}
