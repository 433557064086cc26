package netmodels

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// MacvtapMaxQueues is the kernel's limit on queues (opens) per macvtap device
// (MAX_TAP_QUEUES in drivers/net/tap.c).
const MacvtapMaxQueues = 256

// ErrMacvtapQueues reports a queue count outside 1..MacvtapMaxQueues.
var ErrMacvtapQueues = errors.New("macvtap queue count out of range")

// MacvtapEndpoint is a macvtap link (bridge mode) on a pod interface, with
// one open file per queue for QEMU's `-netdev tap,fds=...`. The guest NIC must
// use MAC: the macvtap only receives frames addressed to its own MAC.
type MacvtapEndpoint struct {
	Name   string           // macvtap link name in the pod netns
	Parent string           // the pod interface it sits on (usually a veth)
	Index  int              // ifindex of the macvtap in the pod netns
	MAC    net.HardwareAddr // MAC the guest NIC must use
	MTU    int              // copied from the parent
	Queues []*os.File       // one per queue, opened on a private device node

	undo *cleanup.Stack
}

// Fds returns the queue file descriptors in order, for `fds=` or SCM_RIGHTS.
// They stay owned by the endpoint: Detach closes them.
func (e *MacvtapEndpoint) Fds() []int {
	fds := make([]int, len(e.Queues))
	for i, f := range e.Queues {
		fds[i] = int(f.Fd())
	}
	return fds
}

// Detach closes the queue files and deletes the macvtap link, leaving the
// pod netns as it was before AttachMacvtap. It is safe to call twice.
func (e *MacvtapEndpoint) Detach() error {
	if e.undo == nil {
		return nil
	}
	err := e.undo.Clean()
	e.undo = nil
	e.Queues = nil
	if err != nil {
		return fmt.Errorf("detaching macvtap %q: %w", e.Name, err)
	}
	return nil
}

// AttachMacvtap creates a macvtap in bridge mode on parentIfname inside the
// network namespace at netnsPath, sets it up with the parent's MTU, and opens
// queues files on a private device node. A failure half way undoes every step
// (an undo that fails too is joined to the error).
func AttachMacvtap(netnsPath, parentIfname string, queues int) (_ *MacvtapEndpoint, err error) {
	if queues < 1 || queues > MacvtapMaxQueues {
		return nil, fmt.Errorf("attaching macvtap on %q: %d queues: %w", parentIfname, queues, ErrMacvtapQueues)
	}
	ns, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return nil, fmt.Errorf("opening netns %q: %w", netnsPath, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink in netns %q: %w", netnsPath, err)
	}
	defer h.Close()

	var cu cleanup.Stack
	defer func() {
		if err != nil {
			err = errors.Join(err, cu.Clean())
		}
	}()
	ep, err := mvtCreateLink(h, netnsPath, parentIfname, &cu)
	if err != nil {
		return nil, fmt.Errorf("netns %q: %w", netnsPath, err)
	}
	dev, err := mvtReadDevNumber(ns, ep.Name, ep.Index)
	if err != nil {
		return nil, fmt.Errorf("netns %q: %w", netnsPath, err)
	}
	if ep.Queues, err = mvtOpenQueues(dev, queues, &cu); err != nil {
		return nil, fmt.Errorf("macvtap %q in netns %q: %w", ep.Name, netnsPath, err)
	}
	ep.undo = cu.Release()
	return ep, nil
}

// mvtName derives the macvtap name from the parent's ifindex, unique in the
// netns and within IFNAMSIZ-1 (15) bytes.
func mvtName(parentIndex int) string {
	if n := fmt.Sprintf("mvt%d_kite", parentIndex); len(n) <= 15 {
		return n
	}
	return fmt.Sprintf("mvt%d", parentIndex)
}

// mvtCreateLink adds the macvtap on parent, sets it up and registers its
// deletion on cu.
func mvtCreateLink(h *netlink.Handle, netnsPath, parent string, cu *cleanup.Stack) (*MacvtapEndpoint, error) {
	pl, err := h.LinkByName(parent)
	if err != nil {
		return nil, fmt.Errorf("finding parent interface %q: %w", parent, err)
	}
	pa := pl.Attrs()
	la := netlink.NewLinkAttrs()
	la.Name = mvtName(pa.Index)
	la.ParentIndex = pa.Index
	la.MTU = pa.MTU
	mvt := &netlink.Macvtap{Macvlan: netlink.Macvlan{LinkAttrs: la, Mode: netlink.MACVLAN_MODE_BRIDGE}}
	if err := h.LinkAdd(mvt); err != nil {
		return nil, fmt.Errorf("adding macvtap %q on %q: %w", la.Name, parent, err)
	}
	cu.Add("delete macvtap "+la.Name, func() error { return DeleteMacvtap(netnsPath, la.Name) })
	l, err := h.LinkByName(la.Name)
	if err != nil {
		return nil, fmt.Errorf("finding new macvtap %q: %w", la.Name, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return nil, fmt.Errorf("setting macvtap %q up: %w", la.Name, err)
	}
	a := l.Attrs()
	return &MacvtapEndpoint{Name: a.Name, Parent: parent, Index: a.Index, MAC: a.HardwareAddr, MTU: a.MTU}, nil
}

// DeleteMacvtap removes the macvtap link name from the netns at netnsPath:
// the teardown for a process other than the one that attached it (the queue
// files then belong to QEMU and die with it). It opens its own netlink handle
// because it runs long after AttachMacvtap returned. A netns or link already
// gone (deleting the parent takes its macvtaps along) is not an error.
func DeleteMacvtap(netnsPath, name string) error {
	ns, err := netns.GetFromPath(netnsPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening netns %q: %w", netnsPath, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in netns %q: %w", netnsPath, err)
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finding macvtap %q in netns %q: %w", name, netnsPath, err)
	}
	if l.Type() != "macvtap" {
		return fmt.Errorf("deleting %q in netns %q: a %s link, not a macvtap", name, netnsPath, l.Type())
	}
	if err := h.LinkDel(l); err != nil {
		return fmt.Errorf("deleting macvtap %q in netns %q: %w", name, netnsPath, err)
	}
	return nil
}
