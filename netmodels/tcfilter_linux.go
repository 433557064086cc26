package netmodels

import (
	"errors"
	"fmt"
	"net"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/nldump"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ingressParent is the handle of an ingress qdisc, ffff:, which its
// filters name as their parent.
const ingressParent uint32 = 0xffff << 16

// AttachTCFilter joins the interface ifname of the netns at netnsPath to a
// new multiqueue tap with queues fds. On error the netns is left as it was.
func AttachTCFilter(netnsPath, ifname string, queues int) (*TCFilter, error) {
	if err := checkQueues(queues); err != nil {
		return nil, fmt.Errorf("attaching tcfilter to %q: %w", ifname, err)
	}
	ns, h, err := podNetlink(netnsPath)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	t := &TCFilter{NetnsPath: netnsPath, Veth: ifname, h: h}
	var cu cleanup.Stack
	if err := t.attach(ns, &cu, queues); err != nil {
		err = errors.Join(err, cu.Clean())
		h.Close()
		return nil, fmt.Errorf("attaching tcfilter to %q in netns %q: %w", ifname, netnsPath, err)
	}
	t.undo = cu.Release()
	return t, nil
}

func (t *TCFilter) attach(ns netns.NsHandle, cu *cleanup.Stack, queues int) error {
	veth, err := t.h.LinkByName(t.Veth)
	if err != nil {
		return fmt.Errorf("looking up %q: %w: %w", t.Veth, ErrNoInterface, err)
	}
	va := veth.Attrs()
	t.MAC, t.MTU = append(net.HardwareAddr(nil), va.HardwareAddr...), va.MTU
	addrs, err := nldump.Retry(func() ([]netlink.Addr, error) { return t.h.AddrList(veth, netlink.FAMILY_ALL) })
	if err != nil {
		return fmt.Errorf("listing addresses of %q: %w", t.Veth, err)
	}
	t.Addrs = toPrefixes(addrs)
	if t.Tap, err = tcfilterTapName(va.Index); err != nil {
		return err
	}
	tap, err := t.createTap(ns, cu, queues)
	if err != nil {
		return err
	}
	if err := t.redirect(cu, veth, tap); err != nil {
		return err
	}
	return t.redirect(cu, tap, veth)
}

// createTap makes the tap, registers its removal, and brings it up with the
// veth's MTU.
func (t *TCFilter) createTap(ns netns.NsHandle, cu *cleanup.Stack, queues int) (netlink.Link, error) {
	if _, err := t.h.LinkByName(t.Tap); err == nil {
		// Opening it would join the existing device's queues.
		return nil, fmt.Errorf("tap %q already exists", t.Tap)
	}
	err := doInPodNetns(ns, func() error {
		files, err := openTapQueues(t.Tap, queues, tapQueueFlags)
		t.Fds = files
		return err
	})
	if err != nil {
		return nil, err
	}
	cu.Add("remove tap "+t.Tap, t.removeTap)
	if err := doInPodNetns(ns, func() error { return disableIPv6(t.Tap) }); err != nil {
		return nil, err
	}
	tap, err := t.h.LinkByName(t.Tap)
	if err != nil {
		return nil, fmt.Errorf("looking up new tap %q: %w", t.Tap, err)
	}
	if err := t.h.LinkSetMTU(tap, t.MTU); err != nil {
		return nil, fmt.Errorf("setting MTU %d on %q: %w", t.MTU, t.Tap, err)
	}
	if err := t.h.LinkSetUp(tap); err != nil {
		return nil, fmt.Errorf("setting %q up: %w", t.Tap, err)
	}
	return tap, nil
}

// removeTap deletes the link first: QEMU may hold copies of the fds, and
// closing ours alone would then leave the tap behind.
func (t *TCFilter) removeTap() error {
	var errs []error
	if l, err := t.h.LinkByName(t.Tap); err == nil {
		if err := t.h.LinkDel(l); err != nil {
			errs = append(errs, fmt.Errorf("deleting %q: %w", t.Tap, err))
		}
	}
	errs = append(errs, closeFiles(t.Fds))
	t.Fds = nil
	return errors.Join(errs...)
}

// redirect sends everything arriving at from out of to.
func (t *TCFilter) redirect(cu *cleanup.Stack, from, to netlink.Link) error {
	fa := from.Attrs()
	if err := t.ensureIngress(cu, from); err != nil {
		return err
	}
	used, err := t.priorities(from)
	if err != nil {
		return err
	}
	f := &netlink.U32{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: fa.Index,
			Parent:    ingressParent,
			Priority:  freePriority(used),
			Protocol:  unix.ETH_P_ALL,
		},
		Actions: []netlink.Action{netlink.NewMirredAction(to.Attrs().Index)},
	}
	if err := t.h.FilterAdd(f); err != nil {
		return fmt.Errorf("adding redirect filter %q -> %q: %w", fa.Name, to.Attrs().Name, err)
	}
	cu.Add(fmt.Sprintf("delete redirect filter %s -> %s", fa.Name, to.Attrs().Name), func() error {
		return ignoreGone(t.h.FilterDel(f))
	})
	return nil
}

// ensureIngress adds an ingress qdisc unless the link has one (a CNI may
// have put it there); only a qdisc we added is removed on undo.
func (t *TCFilter) ensureIngress(cu *cleanup.Stack, l netlink.Link) error {
	qs, err := nldump.Retry(func() ([]netlink.Qdisc, error) { return t.h.QdiscList(l) })
	if err != nil {
		return fmt.Errorf("listing qdiscs of %q: %w", l.Attrs().Name, err)
	}
	for _, q := range qs {
		if q.Attrs().Parent == netlink.HANDLE_INGRESS {
			return nil
		}
	}
	q := &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{
		LinkIndex: l.Attrs().Index,
		Handle:    ingressParent,
		Parent:    netlink.HANDLE_INGRESS,
	}}
	if err := t.h.QdiscAdd(q); err != nil {
		return fmt.Errorf("adding ingress qdisc to %q: %w", l.Attrs().Name, err)
	}
	cu.Add("delete ingress qdisc of "+l.Attrs().Name, func() error { return ignoreGone(t.h.QdiscDel(q)) })
	return nil
}

func (t *TCFilter) priorities(l netlink.Link) ([]uint16, error) {
	fs, err := nldump.Retry(func() ([]netlink.Filter, error) { return t.h.FilterList(l, ingressParent) })
	if err != nil {
		return nil, fmt.Errorf("listing ingress filters of %q: %w", l.Attrs().Name, err)
	}
	used := make([]uint16, 0, len(fs))
	for _, f := range fs {
		used = append(used, f.Attrs().Priority)
	}
	return used, nil
}

// ignoreGone treats "already gone" as success: the tap's own qdisc and
// filters vanish with it, and an interface may be deleted under us.
func ignoreGone(err error) error {
	if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) {
		return nil
	}
	return err
}
