package hostcheck

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// inThrowawayNetns runs fn on a locked OS thread moved into a fresh network
// namespace, then moves the thread back: the namespace loses its last user
// and the kernel deletes it with every link fn created. Nothing is left on
// the host. (A thread left in the namespace would be retired by the Go
// runtime, except the main thread, which stays: /proc/self/net would then
// show the throwaway namespace for the rest of the process.) If the thread
// cannot go back, it stays locked and the runtime retires it.
func inThrowawayNetns(fn func(h *netlink.Handle) error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("opening the current network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unshare network namespace: %w", err)
			return
		}
		errc <- runIn(fn)
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return <-errc
}

func runIn(fn func(h *netlink.Handle) error) error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink handle: %w", err)
	}
	defer h.Close()
	return fn(h)
}

// addVeth creates the probe's veth pair and returns its first end.
func addVeth(h *netlink.Handle) (netlink.Link, error) {
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "kchk-a"}, PeerName: "kchk-b"}
	if err := h.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("create veth: %w", err)
	}
	l, err := h.LinkByName("kchk-a")
	if err != nil {
		return nil, fmt.Errorf("find veth: %w", err)
	}
	return l, nil
}

func probeNetns(_ context.Context, o Options) Result {
	r := Result{Name: "netns"}
	if o.Root != "" {
		r.Status, r.Detail = Warn, "not probed (fake root)"
		return r
	}
	err := inThrowawayNetns(func(h *netlink.Handle) error {
		_, err := addVeth(h)
		return err
	})
	if err != nil {
		r.Status, r.Detail = Warn, err.Error()
		r.Hint = "run as root with CAP_NET_ADMIN and a kernel with CONFIG_NET_NS and CONFIG_VETH"
		return r
	}
	r.Status, r.Detail = OK, "network namespaces and veth pairs work"
	return r
}

func probeMacvtap(_ context.Context, o Options) Result {
	r := Result{Name: "macvtap"}
	if o.Root != "" {
		r.Status, r.Detail = Warn, "not probed (fake root)"
		return r
	}
	err := inThrowawayNetns(func(h *netlink.Handle) error {
		parent, err := addVeth(h)
		if err != nil {
			return err
		}
		mvt := &netlink.Macvtap{Macvlan: netlink.Macvlan{
			LinkAttrs: netlink.LinkAttrs{Name: "kchk-mvt", ParentIndex: parent.Attrs().Index},
			Mode:      netlink.MACVLAN_MODE_BRIDGE,
		}}
		if err := h.LinkAdd(mvt); err != nil {
			return fmt.Errorf("create macvtap: %w", err)
		}
		return nil
	})
	if err != nil {
		r.Status, r.Detail = Warn, err.Error()
		r.Hint = "modprobe macvtap (network.model = \"macvtap\" needs it; tcfilter does not)"
		return r
	}
	r.Status, r.Detail = OK, "macvtap links can be created"
	return r
}
