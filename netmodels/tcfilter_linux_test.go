package netmodels

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// tcfEtherType is IEEE 802 "local experimental": nothing else in the test
// netns sends it.
const tcfEtherType = 0x88b5

func tcfFrame(dst, src net.HardwareAddr, marker string) []byte {
	f := make([]byte, 0, 64)
	f = append(f, dst...)
	f = append(f, src...)
	f = append(f, tcfEtherType>>8, tcfEtherType&0xff)
	f = append(f, marker...)
	for len(f) < 60 {
		f = append(f, 0)
	}
	return f
}

func tcfIsFrame(f []byte, src net.HardwareAddr, marker string) bool {
	return len(f) >= 14 && bytes.Equal(f[6:12], src) && f[12] == tcfEtherType>>8 && f[13] == tcfEtherType&0xff &&
		bytes.HasPrefix(f[14:], []byte(marker))
}

func TestAttachTCFilterBadInput(t *testing.T) {
	tests := []struct {
		name, path string
		queues     int
		want       error
		wantText   string
	}{
		{"no queues", "/run/netns/kite-none", 0, ErrQueues, "1..256"},
		{"too many queues", "/run/netns/kite-none", 257, ErrQueues, "257"},
		{"missing netns", "/run/netns/kite-no-such-netns", 1, ErrNoNetns, "/run/netns/kite-no-such-netns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AttachTCFilter(tt.path, "eth0", tt.queues)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("AttachTCFilter(%q, eth0, %d) error = %v, want %v containing %q", tt.path, tt.queues, err, tt.want, tt.wantText)
			}
		})
	}
}

func TestIntegrationTCFilterUnknownInterface(t *testing.T) {
	p := tcfNewPodNet(t, 1500)
	before := tcfSnapshot(t, p.PodPath)
	_, err := AttachTCFilter(p.PodPath, "nosuch0", 1)
	if !errors.Is(err, ErrNoInterface) || !strings.Contains(err.Error(), `"nosuch0"`) {
		t.Errorf("error = %v, want ErrNoInterface naming nosuch0", err)
	}
	if diff := cmp.Diff(before, tcfSnapshot(t, p.PodPath)); diff != "" {
		t.Errorf("netns changed (-before +after):\n%s", diff)
	}
}

func TestIntegrationTCFilterAttachTrafficDetach(t *testing.T) {
	const queues = 4
	p := tcfNewPodNet(t, 1400)
	before := tcfSnapshot(t, p.PodPath)
	ep, err := AttachTCFilter(p.PodPath, tcfPodIf, queues)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ep.Detach() })
	if len(ep.Fds) != queues || ep.Queues() != queues {
		t.Errorf("got %d fds, want %d", len(ep.Fds), queues)
	}
	if !bytes.Equal(ep.MAC, p.PodMAC) || ep.MTU != 1400 || len(ep.Addrs) != 1 || ep.Addrs[0].String() != "10.77.0.2/24" {
		t.Errorf("endpoint MAC %v MTU %d addrs %v, want %v 1400 [10.77.0.2/24]", ep.MAC, ep.MTU, ep.Addrs, p.PodMAC)
	}
	tcfCheckTap(t, p, ep, queues)
	tcfCheckRedirects(t, p, ep)

	start := time.Now()
	tcfNodeToTap(t, p, ep)
	tcfTapToNode(t, p, ep)
	t.Logf("frames both ways through the redirects in %v", time.Since(start))

	if err := ep.Detach(); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	if diff := cmp.Diff(before, tcfSnapshot(t, p.PodPath)); diff != "" {
		t.Errorf("netns not restored by Detach (-before +after):\n%s", diff)
	}
	if err := ep.Detach(); err != nil {
		t.Errorf("second Detach: %v", err)
	}
}

func tcfCheckTap(t *testing.T, p *tcfPodNet, ep *TCFilter, queues int) {
	t.Helper()
	l, err := testHandle(t, p.PodPath).LinkByName(ep.Tap)
	if err != nil {
		t.Fatalf("tap %s not in the pod netns: %v", ep.Tap, err)
	}
	tap, ok := l.(*netlink.Tuntap)
	if !ok {
		t.Fatalf("%s is a %T, want a tuntap", ep.Tap, l)
	}
	const wantFlags = netlink.TUNTAP_MULTI_QUEUE | netlink.TUNTAP_VNET_HDR | netlink.TUNTAP_NO_PI
	if tap.Mode != netlink.TUNTAP_MODE_TAP || tap.Flags&wantFlags != wantFlags || tap.Queues != queues {
		t.Errorf("tap mode %v flags %v queues %d, want tap, %v, %d", tap.Mode, tap.Flags, tap.Queues, wantFlags, queues)
	}
	if tap.MTU != 1400 || tap.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("tap MTU %d flags %v, want 1400 and up", tap.MTU, tap.Attrs().Flags)
	}
	addrs, err := testHandle(t, p.PodPath).AddrList(l, netlink.FAMILY_ALL)
	if err != nil || len(addrs) != 0 {
		t.Errorf("tap addresses = %v, %v; want none (IPv6 disabled on it)", addrs, err)
	}
}

// tcfCheckRedirects finds a u32 filter with a mirred egress redirect on each
// side, pointing at the other.
func tcfCheckRedirects(t *testing.T, p *tcfPodNet, ep *TCFilter) {
	t.Helper()
	h := testHandle(t, p.PodPath)
	veth, _ := h.LinkByName(tcfPodIf)
	tap, _ := h.LinkByName(ep.Tap)
	for _, pair := range [][2]netlink.Link{{veth, tap}, {tap, veth}} {
		from, to := pair[0], pair[1]
		fs, err := h.FilterList(from, ingressParent)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range fs {
			u, ok := f.(*netlink.U32)
			if !ok {
				continue
			}
			for _, a := range u.Actions {
				if m, ok := a.(*netlink.MirredAction); ok && m.MirredAction == netlink.TCA_EGRESS_REDIR && m.Ifindex == to.Attrs().Index {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("no u32 mirred redirect %s -> %s among %d filters", from.Attrs().Name, to.Attrs().Name, len(fs))
		}
	}
}

// tcfNodeSocket opens an AF_PACKET socket on the node end of the veth.
func tcfNodeSocket(t *testing.T, p *tcfPodNet) int {
	t.Helper()
	ns, err := netns.GetFromPath(p.NodePath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	idx := tcfHandleLinkIndex(t, p.NodePath, p.NodeIf)
	proto := int(htons(unix.ETH_P_ALL))
	var fd int
	err = doInPodNetns(ns, func() error {
		var err error
		if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: idx})
	})
	if err != nil {
		t.Fatalf("AF_PACKET socket on %s: %v", p.NodeIf, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	return fd
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// tcfNodeToTap sends a frame from the node side and reads it out of one of
// the tap's queues: the veth's ingress redirect must deliver it there.
func tcfNodeToTap(t *testing.T, p *tcfPodNet, ep *TCFilter) {
	t.Helper()
	sock := tcfNodeSocket(t, p)
	const marker = "kite node->tap"
	bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	if _, err := unix.Write(sock, tcfFrame(bcast, p.NodeMAC, marker)); err != nil {
		t.Fatalf("sending from the node: %v", err)
	}
	pfds := make([]unix.PollFd, len(ep.Fds))
	for i, f := range ep.Fds {
		pfds[i] = unix.PollFd{Fd: int32(f.Fd()), Events: unix.POLLIN}
	}
	buf := make([]byte, 65536)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		if _, err := unix.Poll(pfds, 200); err != nil && !errors.Is(err, unix.EINTR) {
			t.Fatal(err)
		}
		for i := range pfds {
			if pfds[i].Revents&unix.POLLIN == 0 {
				continue
			}
			n, err := unix.Read(int(pfds[i].Fd), buf)
			if err != nil {
				t.Fatalf("reading tap queue %d: %v", i, err)
			}
			if n > vnetHdrLen && tcfIsFrame(buf[vnetHdrLen:n], p.NodeMAC, marker) {
				t.Logf("node -> tap: frame from %v on tap queue %d", p.NodeMAC, i)
				return
			}
		}
	}
	t.Errorf("the node's frame never came out of tap %s", ep.Tap)
}

// tcfTapToNode writes a frame into the tap, as the guest would, and waits
// for it on the node side: the tap's ingress redirect must send it out of
// the veth.
func tcfTapToNode(t *testing.T, p *tcfPodNet, ep *TCFilter) {
	t.Helper()
	sock := tcfNodeSocket(t, p)
	const marker = "kite tap->node"
	pkt := append(make([]byte, vnetHdrLen), tcfFrame(p.NodeMAC, p.PodMAC, marker)...)
	if _, err := ep.Fds[len(ep.Fds)-1].Write(pkt); err != nil {
		t.Fatalf("writing into the tap: %v", err)
	}
	buf := make([]byte, 65536)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		n, _, err := unix.Recvfrom(sock, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if tcfIsFrame(buf[:n], p.PodMAC, marker) {
			return
		}
	}
	t.Errorf("the frame written into tap %s never reached the node", ep.Tap)
}

func TestIntegrationTCFilterKeepsForeignIngress(t *testing.T) {
	p := tcfNewPodNet(t, 1500)
	h := testHandle(t, p.PodPath)
	veth, err := h.LinkByName(tcfPodIf)
	if err != nil {
		t.Fatal(err)
	}
	// What a CNI might have installed: an ingress qdisc with its own filter.
	q := &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: veth.Attrs().Index, Handle: ingressParent, Parent: netlink.HANDLE_INGRESS}}
	if err := h.QdiscAdd(q); err != nil {
		t.Fatal(err)
	}
	foreign := &netlink.U32{
		FilterAttrs: netlink.FilterAttrs{LinkIndex: veth.Attrs().Index, Parent: ingressParent, Priority: 1, Protocol: unix.ETH_P_IP},
		ClassId:     netlink.MakeHandle(1, 1),
	}
	if err := h.FilterAdd(foreign); err != nil {
		t.Fatal(err)
	}
	before := tcfSnapshot(t, p.PodPath)
	ep, err := AttachTCFilter(p.PodPath, tcfPodIf, 1)
	if err != nil {
		t.Fatal(err)
	}
	during := tcfSnapshot(t, p.PodPath)
	if !strings.Contains(strings.Join(during, "\n"), "filter "+tcfPodIf+" u32 prio 2") {
		t.Errorf("our filter did not take the free priority 2:\n%s", strings.Join(during, "\n"))
	}
	if err := ep.Detach(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, tcfSnapshot(t, p.PodPath)); diff != "" {
		t.Errorf("Detach touched the foreign qdisc or filter (-before +after):\n%s", diff)
	}
}

// A veth MTU the tap cannot take (tun caps it at 65535 minus the Ethernet
// header) fails after the tap exists: the rollback must remove it.
func TestIntegrationTCFilterHalfWayRollsBack(t *testing.T) {
	p := tcfNewPodNet(t, 65535)
	before := tcfSnapshot(t, p.PodPath)
	_, err := AttachTCFilter(p.PodPath, tcfPodIf, 2)
	if err == nil || !strings.Contains(err.Error(), "MTU 65535") {
		t.Fatalf("error = %v, want the MTU step to fail", err)
	}
	if diff := cmp.Diff(before, tcfSnapshot(t, p.PodPath)); diff != "" {
		t.Errorf("netns not restored after a failed attach (-before +after):\n%s", diff)
	}
}
