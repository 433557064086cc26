package netmodels

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/kite-vm/kite/internal/nldump"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TapEndpoint is an existing tap of the pod netns (made by a CNI) used as
// is: Kite only opens queues on it. The tap, its addresses and whatever it is
// enslaved to are not Kite's, so Detach only closes the fds.
type TapEndpoint struct {
	NetnsPath string
	Name      string
	Index     int
	MAC       net.HardwareAddr // the tap's MAC: give it to the guest NIC
	MTU       int
	Addrs     []netip.Prefix // the tap's addresses, for the guest NIC
	// MultiQueue says the tap was created with IFF_MULTI_QUEUE; a
	// single-queue tap gets one fd whatever was asked.
	MultiQueue bool
	// Fds are the queues for QEMU's `-netdev tap,fds=...`, owned by the
	// endpoint until Detach.
	Fds []*os.File

	// attached counts the queues others held at lookup; netlink reports
	// it for multiqueue taps only.
	attached int
}

// Queues is the number of queue pairs (one fd each).
func (e *TapEndpoint) Queues() int { return len(e.Fds) }

// Detach closes the queue fds. The tap stays: it was there before Kite.
// It is safe to call twice.
func (e *TapEndpoint) Detach() error {
	err := closeFiles(e.Fds)
	e.Fds = nil
	if err != nil {
		return fmt.Errorf("closing queues of tap %q in netns %q: %w", e.Name, e.NetnsPath, err)
	}
	return nil
}

// AttachTap opens queues on the tap ifname of the netns at netnsPath: queues
// fds when the tap is multiqueue, else one. On error no fd stays open and the
// netns is as it was.
func AttachTap(netnsPath, ifname string, queues int) (*TapEndpoint, error) {
	if err := checkQueues(queues); err != nil {
		return nil, fmt.Errorf("attaching tap %q: %w", ifname, err)
	}
	ns, h, err := podNetlink(netnsPath)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	defer h.Close()
	e, err := lookupTap(h, netnsPath, ifname)
	if err != nil {
		return nil, fmt.Errorf("attaching tap %q in netns %q: %w", ifname, netnsPath, err)
	}
	if err := e.open(ns, h, queues); err != nil {
		return nil, fmt.Errorf("attaching tap %q in netns %q: %w", ifname, netnsPath, err)
	}
	return e, nil
}

// lookupTap reads the tap's identity and configuration and checks it can
// take more queues.
func lookupTap(h *netlink.Handle, netnsPath, ifname string) (*TapEndpoint, error) {
	l, err := h.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("looking up %q: %w: %w", ifname, ErrNoInterface, err)
	}
	tt, ok := l.(*netlink.Tuntap)
	if !ok || tt.Mode != netlink.TUNTAP_MODE_TAP {
		return nil, fmt.Errorf("%q is a %s link: %w", ifname, linkKind(l), ErrNotTap)
	}
	a := l.Attrs()
	e := &TapEndpoint{
		NetnsPath: netnsPath, Name: a.Name, Index: a.Index,
		MAC: append(net.HardwareAddr(nil), a.HardwareAddr...), MTU: a.MTU,
		MultiQueue: tt.Flags&netlink.TUNTAP_MULTI_QUEUE != 0,
	}
	addrs, err := nldump.Retry(func() ([]netlink.Addr, error) { return h.AddrList(l, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("listing addresses of %q: %w", ifname, err)
	}
	e.Addrs = toPrefixes(addrs)
	e.attached = tt.Queues + tt.DisabledQueues
	return e, nil
}

// open opens the queues and then checks the tap is still the one looked
// up: TUNSETIFF creates a tap when the name is gone, so a tap deleted (or
// replaced) meanwhile shows as a missing or different ifindex. The fds are
// then closed, which also removes a tap they created.
func (e *TapEndpoint) open(ns netns.NsHandle, h *netlink.Handle, queues int) error {
	flags := uint16(tapQueueFlags)
	if !e.MultiQueue {
		queues, flags = 1, flags&^unix.IFF_MULTI_QUEUE
	}
	if e.attached+queues > MaxQueues {
		return fmt.Errorf("tap %q has %d queues open, %d more exceed %d: %w", e.Name, e.attached, queues, MaxQueues, ErrQueues)
	}
	err := doInPodNetns(ns, func() error {
		files, err := openTapQueues(e.Name, queues, flags)
		e.Fds = files
		return err
	})
	if !e.MultiQueue && errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("single-queue tap %q is already open in another process: %w", e.Name, err)
	}
	if err != nil {
		return err
	}
	l, err := h.LinkByName(e.Name)
	if err == nil && l.Attrs().Index == e.Index {
		return nil
	}
	err = fmt.Errorf("tap %q (ifindex %d) vanished during attach: %w", e.Name, e.Index, ErrNoInterface)
	return errors.Join(err, e.Detach())
}
