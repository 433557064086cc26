// Package netnstest builds, for tests, the network a CNI plugin leaves a
// pod with: a "node" netns and a pod netns joined by veths, with
// addresses and a default route, deleted when the test ends. It uses
// iproute2 (ip, tc) so that the setup reads like a CNI plugin's.
package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/nldump"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The first link's addresses.
const (
	NodeIP = "10.77.0.1"
	PodIP  = "10.77.0.2"
)

// Pod is a node netns and a pod netns joined by a veth: the pod's eth0 has
// PodIP/24 and a default route through the node's NodeIP.
type Pod struct {
	t                 testing.TB
	Node, Name        string // netns names
	NodePath, PodPath string // their paths
}

// New creates the two namespaces and the first link, removed at test end.
func New(t testing.TB) *Pod {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "ip", "iproute2")
	testutil.RequireBinary(t, "tc", "iproute2")
	sfx := suffix()
	p := &Pod{t: t, Node: "kite-node-" + sfx, Name: "kite-pod-" + sfx}
	p.NodePath, p.PodPath = filepath.Join(runDir, p.Node), filepath.Join(runDir, p.Name)
	for _, ns := range []string{p.Node, p.Name} {
		addNetns(t, ns)
	}
	p.AddLink("eth0", PodIP, NodeIP)
	p.ip("-n", p.Name, "link", "set", "lo", "up")
	p.ip("-n", p.Name, "route", "add", "default", "via", NodeIP)
	p.waitLinkLocal("eth0")
	return p
}

// AddLink adds a veth between the node and the pod: the pod's end is named
// ifname with podAddr/24, the node's has nodeAddr/24 (as Multus adds a
// secondary network).
func (p *Pod) AddLink(ifname, podAddr, nodeAddr string) {
	p.t.Helper()
	peer := "kn-" + suffix()
	p.ip("link", "add", peer, "netns", p.Node, "type", "veth", "peer", "name", ifname, "netns", p.Name)
	p.ip("-n", p.Node, "addr", "add", nodeAddr+"/24", "dev", peer)
	p.ip("-n", p.Node, "link", "set", peer, "up")
	p.ip("-n", p.Name, "addr", "add", podAddr+"/24", "dev", ifname)
	p.ip("-n", p.Name, "link", "set", ifname, "up")
	p.waitLinkLocal(ifname)
}

// waitLinkLocal waits for the IPv6 link-local route the kernel adds a
// moment after a link comes up, so that a Snapshot taken next is stable.
func (p *Pod) waitLinkLocal(ifname string) {
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		out, _ := exec.Command("ip", "-n", p.Name, "-6", "route", "show", "dev", ifname).Output()
		if strings.Contains(string(out), "fe80::/64") {
			return
		}
	}
}

// Ping pings addr from the node netns with busybox, returning its output
// and error.
func (p *Pod) Ping(addr string) (string, error) {
	busybox := testutil.RequireBinary(p.t, "busybox", "busybox-static")
	out, err := exec.Command("ip", "netns", "exec", p.Node, busybox, "ping", "-c", "2", "-W", "5", addr).CombinedOutput()
	return string(out), err
}

// Snapshot renders what the pod netns must look like again once a VM is
// gone: links with kinds, MACs, MTUs and addresses, routes, qdiscs.
func (p *Pod) Snapshot() string {
	p.t.Helper()
	return Snapshot(p.t, p.PodPath)
}

// Snapshot renders the links (kind, MAC, MTU, up, addresses), routes of the
// main table and qdiscs of the netns at path, read with netlink and tc.
func Snapshot(t testing.TB, path string) string {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatalf("opening netns %s: %v", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	links, err := nldump.Retry(h.LinkList)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range links {
		a := l.Attrs()
		fmt.Fprintf(&b, "%s %s %s mtu %d up %v:", a.Name, l.Type(), a.HardwareAddr, a.MTU, a.Flags&net.FlagUp != 0)
		addrs, err := nldump.Retry(func() ([]netlink.Addr, error) { return h.AddrList(l, netlink.FAMILY_ALL) })
		if err != nil {
			t.Fatal(err)
		}
		for _, ad := range addrs {
			b.WriteString(" " + ad.IPNet.String())
		}
		b.WriteString("\n")
		routes, err := nldump.Retry(func() ([]netlink.Route, error) { return h.RouteList(l, netlink.FAMILY_ALL) })
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range routes {
			fmt.Fprintf(&b, "  route %v via %v scope %v\n", r.Dst, r.Gw, r.Scope)
		}
	}
	out, err := exec.Command("tc", "-n", filepath.Base(path), "qdisc", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("listing qdiscs: %v\n%s", err, out)
	}
	return b.String() + string(out)
}

func (p *Pod) ip(args ...string) {
	p.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		p.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func suffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// DelLink deletes the pod's end of a link (its peer goes with it), as a
// CNI DEL of a secondary network does.
func (p *Pod) DelLink(ifname string) {
	p.t.Helper()
	p.ip("-n", p.Name, "link", "del", ifname)
}
