package netconf

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"

	"github.com/kite-vm/kite/agent/server/pcipath"
	"github.com/kite-vm/kite/internal/nldump"
	"github.com/vishvananda/netlink"
)

// Net configures links through one netlink handle, reading sysfs under one
// root to map links to PCI devices.
type Net struct {
	h     *netlink.Handle
	sysfs string
}

// New returns a Net using h (its namespace is the one configured) and
// sysfs (normally /sys, which must show the same namespace's links).
func New(h *netlink.Handle, sysfs string) *Net { return &Net{h: h, sysfs: sysfs} }

// LinkUp sets the link called name up (the agent's loopback at boot).
func (n *Net) LinkUp(name string) error {
	l, err := n.h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotFound, name, err)
	}
	if err := n.h.LinkSetUp(l); err != nil {
		return fmt.Errorf("setting %s up: %w", name, err)
	}
	return nil
}

// find returns the link sel names.
func (n *Net) find(sel Selector) (netlink.Link, error) {
	switch {
	case !sel.PCIPath.IsZero():
		name, err := n.nameByPCIPath(sel.PCIPath)
		if err != nil {
			return nil, err
		}
		return n.byName(name)
	case sel.Name != "":
		return n.byName(sel.Name)
	case len(sel.HWAddr) > 0:
		links, err := nldump.Retry(n.h.LinkList)
		if err != nil {
			return nil, fmt.Errorf("listing links: %w", err)
		}
		for _, l := range links {
			if bytes.Equal(l.Attrs().HardwareAddr, sel.HWAddr) {
				return l, nil
			}
		}
		return nil, fmt.Errorf("%w: no link has MAC %s", ErrNotFound, sel.HWAddr)
	}
	return nil, fmt.Errorf("%w: no PCI path, name or MAC to find the link by", ErrInvalid)
}

func (n *Net) byName(name string) (netlink.Link, error) {
	l, err := n.h.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("finding link %s: %w", name, err)
	}
	return l, nil
}

// nameByPCIPath finds the interface whose device lies in the PCI device at
// p: a virtio NIC's device link points at the virtio child of the PCI
// function, a passed-through NIC's at the function itself.
func (n *Net) nameByPCIPath(p pcipath.Path) (string, error) {
	entries, err := os.ReadDir(filepath.Join(n.sysfs, "class", "net"))
	if err != nil {
		return "", fmt.Errorf("listing interfaces: %w", err)
	}
	for _, e := range entries {
		if got, ok := n.pciPathOf(e.Name()); ok && got == p.String() {
			return e.Name(), nil
		}
	}
	return "", fmt.Errorf("%w: no interface at PCI path %s", ErrNotFound, p)
}

// pciPathOf returns the guest PCI path of interface name, if it is PCI.
func (n *Net) pciPathOf(name string) (string, bool) {
	dev, err := filepath.EvalSymlinks(filepath.Join(n.sysfs, "class", "net", name, "device"))
	if err != nil {
		return "", false
	}
	p, ok := pcipath.FromDevicePath(dev)
	return p.String(), ok
}

// UpdateInterface finds the link sel names, brings it to the state want
// describes and returns the result.
func (n *Net) UpdateInterface(sel Selector, want Interface) (Interface, error) {
	link, err := n.find(sel)
	if err != nil {
		return Interface{}, err
	}
	name := link.Attrs().Name
	if err := n.apply(link, want); err != nil {
		return Interface{}, fmt.Errorf("configuring link %s: %w", name, err)
	}
	link, err = n.h.LinkByIndex(link.Attrs().Index)
	if err != nil {
		return Interface{}, fmt.Errorf("reading link %s back: %w", name, err)
	}
	return n.describe(link)
}

func (n *Net) apply(link netlink.Link, want Interface) error {
	a := link.Attrs()
	rename := want.Name != "" && want.Name != a.Name
	remac := len(want.HWAddr) > 0 && !bytes.Equal(want.HWAddr, a.HardwareAddr)
	if rename || remac {
		// Both need the link down.
		if err := n.h.LinkSetDown(link); err != nil {
			return fmt.Errorf("setting down: %w", err)
		}
	}
	if rename {
		if err := n.h.LinkSetName(link, want.Name); err != nil {
			return fmt.Errorf("renaming to %s: %w", want.Name, err)
		}
	}
	if remac {
		if err := n.h.LinkSetHardwareAddr(link, want.HWAddr); err != nil {
			return fmt.Errorf("setting MAC %s: %w", want.HWAddr, err)
		}
	}
	if want.MTU > 0 && want.MTU != a.MTU {
		if err := n.h.LinkSetMTU(link, want.MTU); err != nil {
			return fmt.Errorf("setting MTU %d: %w", want.MTU, err)
		}
	}
	if err := n.setAddrs(link, want.Addrs); err != nil {
		return err
	}
	if err := n.h.LinkSetUp(link); err != nil {
		return fmt.Errorf("setting up: %w", err)
	}
	return nil
}

// setAddrs makes want the link's addresses. IPv6 link-local addresses are
// the kernel's and stay.
func (n *Net) setAddrs(link netlink.Link, want []netip.Prefix) error {
	cur, err := nldump.Retry(func() ([]netlink.Addr, error) { return n.h.AddrList(link, netlink.FAMILY_ALL) })
	if err != nil {
		return fmt.Errorf("listing addresses: %w", err)
	}
	wanted := map[netip.Prefix]bool{}
	for _, p := range want {
		wanted[p] = true
	}
	for _, a := range cur {
		p, ok := prefixOf(a.IPNet)
		if !ok || wanted[p] || p.Addr().IsLinkLocalUnicast() {
			delete(wanted, p)
			continue
		}
		if err := n.h.AddrDel(link, &a); err != nil {
			return fmt.Errorf("removing address %s: %w", p, err)
		}
	}
	for _, p := range want {
		if !wanted[p] {
			continue // already there
		}
		if err := n.h.AddrReplace(link, &netlink.Addr{IPNet: ipNet(p)}); err != nil {
			return fmt.Errorf("adding address %s: %w", p, err)
		}
	}
	return nil
}

// ListInterfaces reports every link in ifindex order.
func (n *Net) ListInterfaces() ([]Interface, error) {
	links, err := nldump.Retry(n.h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	sort.Slice(links, func(i, j int) bool { return links[i].Attrs().Index < links[j].Attrs().Index })
	out := make([]Interface, 0, len(links))
	for _, l := range links {
		ifc, err := n.describe(l)
		if err != nil {
			return nil, err
		}
		out = append(out, ifc)
	}
	return out, nil
}

func (n *Net) describe(l netlink.Link) (Interface, error) {
	a := l.Attrs()
	addrs, err := nldump.Retry(func() ([]netlink.Addr, error) { return n.h.AddrList(l, netlink.FAMILY_ALL) })
	if err != nil {
		return Interface{}, fmt.Errorf("listing addresses of %s: %w", a.Name, err)
	}
	ifc := Interface{Name: a.Name, HWAddr: a.HardwareAddr, MTU: a.MTU, Up: a.Flags&net.FlagUp != 0}
	ifc.PCIPath, _ = n.pciPathOf(a.Name)
	for _, ad := range addrs {
		if p, ok := prefixOf(ad.IPNet); ok {
			ifc.Addrs = append(ifc.Addrs, p)
		}
	}
	return ifc, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	addr, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(addr.Unmap(), ones), true
}

func ipNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}
