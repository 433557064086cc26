package netmodels

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// mvtTestLinks lists "name type" of every link in the netns, to compare the
// netns before and after.
func mvtTestLinks(t *testing.T, h *netlink.Handle) []string {
	t.Helper()
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range links {
		a := l.Attrs()
		out = append(out, fmt.Sprintf("%d %s %s mtu=%d up=%v", a.Index, a.Name, l.Type(), a.MTU, a.Flags&1 != 0))
	}
	return out
}

// mvtTestPacketSocket opens an AF_PACKET socket bound to ifname in the netns
// at path; the socket belongs to the netns of the thread that creates it.
func mvtTestPacketSocket(t *testing.T, path, ifname string, ethertype uint16) int {
	t.Helper()
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// Never unlocked: this thread enters another netns. It also goes
		// back before the goroutine ends: the runtime parks a locked main
		// thread instead of ending it, which would pin the pod netns.
		runtime.LockOSThread()
		fd, err := mvtTestPacketSocketLocked(path, ifname, ethertype)
		ch <- result{fd, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("packet socket on %s in %s: %v", ifname, path, r.err)
	}
	t.Cleanup(func() { unix.Close(r.fd) })
	return r.fd
}

func mvtTestPacketSocketLocked(path, ifname string, ethertype uint16) (int, error) {
	orig, err := netns.Get()
	if err != nil {
		return -1, err
	}
	defer orig.Close()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return -1, err
	}
	defer ns.Close()
	if err := netns.Set(ns); err != nil {
		return -1, err
	}
	defer netns.Set(orig)
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return -1, err
	}
	proto := mvtHtons(ethertype)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(proto))
	if err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: l.Attrs().Index}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func mvtHtons(v uint16) uint16 { return v<<8 | v>>8 }
