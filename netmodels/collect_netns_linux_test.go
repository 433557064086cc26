package netmodels

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"sort"
	"testing"

	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// tcfPodNet is a pod netns and a node netns joined by a veth, the way a CNI
// leaves a pod: eth0 10.77.0.2/24 in the pod, 10.77.0.1/24 on the node side,
// a default route and a permanent neighbor for the gateway in the pod.
type tcfPodNet struct {
	PodPath, NodePath string
	NodeIf            string
	PodMAC, NodeMAC   net.HardwareAddr
}

const tcfPodIf = "eth0"

func tcfRandHex(t *testing.T) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func tcfNewPodNet(t *testing.T, mtu int) *tcfPodNet {
	t.Helper()
	testutil.RequireRoot(t)
	p := &tcfPodNet{PodPath: netnstest.NewNetns(t, "tcf"), NodePath: netnstest.NewNetns(t, "tcf")}
	suffix := tcfRandHex(t)
	podTmp, nodeIf := "kt"+suffix+"p", "kt"+suffix+"n"
	p.NodeIf = nodeIf
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: podTmp, MTU: mtu}, PeerName: nodeIf}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("adding veth: %v", err)
	}
	t.Cleanup(func() { // only matters if the move below failed
		if l, err := netlink.LinkByName(podTmp); err == nil {
			_ = netlink.LinkDel(l)
		}
	})
	tcfMove(t, podTmp, p.PodPath)
	tcfMove(t, nodeIf, p.NodePath)
	p.PodMAC = tcfSetupSide(t, p.PodPath, podTmp, tcfPodIf, "10.77.0.2/24", mtu)
	p.NodeMAC = tcfSetupSide(t, p.NodePath, nodeIf, nodeIf, "10.77.0.1/24", mtu)
	tcfPodRoutes(t, p)
	return p
}

func tcfMove(t *testing.T, ifname, path string) {
	t.Helper()
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := netlink.LinkSetNsFd(l, int(ns)); err != nil {
		t.Fatalf("moving %s into %s: %v", ifname, path, err)
	}
}

func tcfSetupSide(t *testing.T, path, ifname, newName, cidr string, mtu int) net.HardwareAddr {
	t.Helper()
	h := testHandle(t, path)
	l, err := h.LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	if newName != ifname {
		if err := h.LinkSetName(l, newName); err != nil {
			t.Fatal(err)
		}
	}
	addr, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(l, addr); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetMTU(l, mtu); err != nil {
		t.Fatal(err)
	}
	for _, up := range []string{"lo", newName} {
		ul, err := h.LinkByName(up)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.LinkSetUp(ul); err != nil {
			t.Fatal(err)
		}
	}
	return l.Attrs().HardwareAddr
}

func tcfPodRoutes(t *testing.T, p *tcfPodNet) {
	t.Helper()
	h := testHandle(t, p.PodPath)
	l, err := h.LinkByName(tcfPodIf)
	if err != nil {
		t.Fatal(err)
	}
	gw := net.ParseIP("10.77.0.1")
	if err := h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw}); err != nil {
		t.Fatalf("adding default route: %v", err)
	}
	n := &netlink.Neigh{LinkIndex: l.Attrs().Index, State: netlink.NUD_PERMANENT, IP: gw, HardwareAddr: p.NodeMAC}
	if err := h.NeighAdd(n); err != nil {
		t.Fatalf("adding neighbor: %v", err)
	}
}

// tcfSnapshot renders links, qdiscs and ingress filters of a netns, to
// compare before and after.
func tcfSnapshot(t *testing.T, path string) []string {
	t.Helper()
	h := testHandle(t, path)
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range links {
		a := l.Attrs()
		out = append(out, fmt.Sprintf("link %d %s %s mtu %d flags %v", a.Index, a.Name, l.Type(), a.MTU, a.Flags))
		qs, err := h.QdiscList(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			out = append(out, fmt.Sprintf("qdisc %s %s handle %x parent %x", a.Name, q.Type(), q.Attrs().Handle, q.Attrs().Parent))
		}
		fs, err := h.FilterList(l, ingressParent)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			out = append(out, fmt.Sprintf("filter %s %s prio %d handle %x", a.Name, f.Type(), f.Attrs().Priority, f.Attrs().Handle))
		}
	}
	sort.Strings(out)
	return out
}
