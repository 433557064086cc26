package netmodels

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// mvtTestEthertype is the IEEE local experimental ethertype: nothing else on
// the test links sends it.
const mvtTestEthertype = 0x88b5

// mvtVnetHdrLen is the virtio_net_hdr a macvtap queue prefixes by default
// (QEMU later raises it to 12 with TUNSETVNETHDRSZ when it negotiates that).
const mvtVnetHdrLen = 10

func TestMvtName(t *testing.T) {
	tests := []struct {
		index int
		want  string
	}{
		{2, "mvt2_kite"},
		{123456, "mvt123456_kite"},
		{1234567, "mvt1234567_kite"},
		{12345678, "mvt12345678"},
		{2147483647, "mvt2147483647"},
	}
	for _, tt := range tests {
		if got := mvtName(tt.index); got != tt.want || len(got) > 15 {
			t.Errorf("mvtName(%d) = %q, want %q (at most 15 bytes)", tt.index, got, tt.want)
		}
	}
}

func TestAttachMacvtapQueueCount(t *testing.T) {
	for _, q := range []int{-1, 0, MacvtapMaxQueues + 1} {
		_, err := AttachMacvtap("/nonexistent", "eth0", q)
		if !errors.Is(err, ErrMacvtapQueues) {
			t.Errorf("AttachMacvtap(queues=%d) error = %v, want ErrMacvtapQueues", q, err)
		}
	}
}

// mvtTestPod makes a pod netns holding veth-inside (MTU 1400) whose peer
// veth-node sits in a node netns with 10.99.0.1/24, as a CNI would.
func mvtTestPod(t *testing.T) (podPath, nodePath string) {
	t.Helper()
	podPath, nodePath = netnstest.NewNetns(t, "pod"), netnstest.NewNetns(t, "node")
	pod, node := testHandle(t, podPath), testHandle(t, nodePath)
	nodeNs, err := os.Open(nodePath)
	if err != nil {
		t.Fatal(err)
	}
	defer nodeNs.Close()
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = "veth-inside", 1400
	veth := &netlink.Veth{LinkAttrs: la, PeerName: "veth-node", PeerNamespace: netlink.NsFd(nodeNs.Fd())}
	if err := pod.LinkAdd(veth); err != nil {
		t.Fatalf("adding veth: %v", err)
	}
	for _, x := range []struct {
		h    *netlink.Handle
		name string
	}{{pod, "veth-inside"}, {node, "veth-node"}} {
		l, err := x.h.LinkByName(x.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	peer, _ := node.LinkByName("veth-node")
	addr, _ := netlink.ParseAddr("10.99.0.1/24")
	if err := node.AddrAdd(peer, addr); err != nil {
		t.Fatal(err)
	}
	return podPath, nodePath
}

func TestIntegrationMacvtapTraffic(t *testing.T) {
	testutil.RequireRoot(t)
	podPath, nodePath := mvtTestPod(t)
	pod := testHandle(t, podPath)
	before := mvtTestLinks(t, pod)

	ep, err := AttachMacvtap(podPath, "veth-inside", 2)
	if err != nil {
		t.Fatalf("AttachMacvtap: %v", err)
	}
	t.Cleanup(func() { ep.Detach() })
	mvtCheckLink(t, pod, ep)

	nodeLink, err := testHandle(t, nodePath).LinkByName("veth-node")
	if err != nil {
		t.Fatal(err)
	}
	nodeMAC := nodeLink.Attrs().HardwareAddr
	sock := mvtTestPacketSocket(t, nodePath, "veth-node", mvtTestEthertype)

	// node -> guest: a frame to the macvtap's MAC comes out of one of the queues.
	in := mvtTestFrame(t, ep.MAC, nodeMAC)
	if _, err := unix.Write(sock, in); err != nil {
		t.Fatalf("sending on veth-node: %v", err)
	}
	got := mvtTestReadQueues(t, ep.Queues, in)
	if !bytes.Equal(got, in) {
		t.Errorf("frame read from macvtap = %x, want %x", got, in)
	}

	// guest -> node, through every queue.
	for i, q := range ep.Queues {
		out := mvtTestFrame(t, nodeMAC, ep.MAC)
		if _, err := q.Write(append(make([]byte, mvtVnetHdrLen), out...)); err != nil {
			t.Fatalf("writing queue %d: %v", i, err)
		}
		mvtTestReadPacket(t, sock, out)
	}

	if err := ep.Detach(); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	if diff := cmp.Diff(before, mvtTestLinks(t, pod)); diff != "" {
		t.Errorf("pod netns links after Detach (-before +after):\n%s", diff)
	}
	if err := ep.Detach(); err != nil {
		t.Errorf("second Detach: %v", err)
	}
}

// mvtCheckLink checks the macvtap as the kernel sees it and its queue flags.
func mvtCheckLink(t *testing.T, pod *netlink.Handle, ep *MacvtapEndpoint) {
	t.Helper()
	if len(ep.Queues) != 2 || len(ep.Fds()) != 2 {
		t.Fatalf("got %d queues, want 2", len(ep.Queues))
	}
	l, err := pod.LinkByName(ep.Name)
	if err != nil {
		t.Fatalf("macvtap %q not in pod netns: %v", ep.Name, err)
	}
	mvt, ok := l.(*netlink.Macvtap)
	if !ok {
		t.Fatalf("%q is a %s, want macvtap", ep.Name, l.Type())
	}
	a := mvt.Attrs()
	got := []any{a.Index, a.HardwareAddr.String(), a.MTU, a.Flags&net.FlagUp != 0, mvt.Mode, ep.Parent}
	want := []any{ep.Index, ep.MAC.String(), 1400, true, netlink.MACVLAN_MODE_BRIDGE, "veth-inside"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("macvtap [index mac mtu up mode parent] (-want +got):\n%s", diff)
	}
	for i, q := range ep.Queues {
		ifr, err := unix.NewIfreq("")
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.IoctlIfreq(int(q.Fd()), unix.TUNGETIFF, ifr); err != nil {
			t.Fatalf("TUNGETIFF on queue %d: %v", i, err)
		}
		if f := ifr.Uint16(); f&mvtQueueFlags != mvtQueueFlags {
			t.Errorf("queue %d flags %#x, want %#x set", i, f, mvtQueueFlags)
		}
	}
}

// mvtTestFrame builds an Ethernet frame with a random payload.
func mvtTestFrame(t *testing.T, dst, src net.HardwareAddr) []byte {
	t.Helper()
	f := append(append([]byte{}, dst...), src...)
	f = binary.BigEndian.AppendUint16(f, mvtTestEthertype)
	payload := make([]byte, 64)
	rand.Read(payload)
	return append(f, payload...)
}

// mvtTestReadQueues waits on all queues for a frame equal to want (stripped
// of its virtio-net header) and returns it, or the last frame seen.
func mvtTestReadQueues(t *testing.T, queues []*os.File, want []byte) []byte {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var last []byte
	buf := make([]byte, 65536)
	for time.Now().Before(deadline) {
		pfds := make([]unix.PollFd, len(queues))
		for i, q := range queues {
			pfds[i] = unix.PollFd{Fd: int32(q.Fd()), Events: unix.POLLIN}
		}
		if _, err := unix.Poll(pfds, int(time.Until(deadline).Milliseconds())+1); err != nil && err != unix.EINTR {
			t.Fatalf("poll: %v", err)
		}
		for i, p := range pfds {
			if p.Revents&unix.POLLIN == 0 {
				continue
			}
			n, err := unix.Read(int(p.Fd), buf)
			if err != nil {
				t.Fatalf("reading queue %d: %v", i, err)
			}
			if n < mvtVnetHdrLen {
				t.Fatalf("queue %d: %d bytes, shorter than the vnet header", i, n)
			}
			last = append([]byte{}, buf[mvtVnetHdrLen:n]...)
			if bytes.Equal(last, want) {
				return last
			}
		}
	}
	t.Fatalf("no matching frame on any macvtap queue within 5s (last: %x)", last)
	return nil
}

// mvtTestReadPacket waits on the packet socket for an incoming frame equal to want.
func mvtTestReadPacket(t *testing.T, sock int, want []byte) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 65536)
	for time.Now().Before(deadline) {
		pfd := []unix.PollFd{{Fd: int32(sock), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, int(time.Until(deadline).Milliseconds())+1); err != nil && err != unix.EINTR {
			t.Fatalf("poll: %v", err)
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			continue
		}
		n, from, err := unix.Recvfrom(sock, buf, 0)
		if err != nil {
			t.Fatalf("recvfrom: %v", err)
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if bytes.Equal(buf[:n], want) {
			return
		}
	}
	t.Fatalf("frame %x never reached veth-node within 5s", want)
}

func TestIntegrationMacvtapBadInput(t *testing.T) {
	testutil.RequireRoot(t)
	podPath, _ := mvtTestPod(t)
	pod := testHandle(t, podPath)
	before := mvtTestLinks(t, pod)
	missingNs := filepath.Join(t.TempDir(), "no-such-netns")
	tests := []struct {
		name, ns, parent string
		mention          string
		is               error
	}{
		{"netns missing", missingNs, "veth-inside", missingNs, os.ErrNotExist},
		{"parent missing", podPath, "veth-missing", "veth-missing", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := AttachMacvtap(tt.ns, tt.parent, 1)
			if err == nil {
				ep.Detach()
				t.Fatal("AttachMacvtap succeeded")
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not name %q", err, tt.mention)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
	if diff := cmp.Diff(before, mvtTestLinks(t, pod)); diff != "" {
		t.Errorf("pod netns links changed (-before +after):\n%s", diff)
	}
}
