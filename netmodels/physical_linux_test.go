package netmodels

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// physRebinder stands in for vfio: the "driver" has already brought the
// netdev back as nd.
type physRebinder struct {
	nd          Netdev
	bdf, driver string
}

func (r *physRebinder) Rebind(_ context.Context, bdf, driver string) (Netdev, error) {
	r.bdf, r.driver = bdf, driver
	return r.nd, nil
}

// physSetupPod gives the pod netns a veth "net1" standing in for a VF
// netdev, configured as the SR-IOV CNI would leave it, with its peer in a
// far netns so that it has carrier and a gateway.
func physSetupPod(t *testing.T, pod, far string) {
	t.Helper()
	h, fh := testHandle(t, pod), testHandle(t, far)
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 0x31}
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "net1", HardwareAddr: mac, MTU: 9000}, PeerName: "farp"}); err != nil {
		t.Fatal(err)
	}
	farNs, err := netns.GetFromPath(far)
	if err != nil {
		t.Fatal(err)
	}
	defer farNs.Close()
	peer, err := h.LinkByName("farp")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetNsFd(peer, int(farNs)); err != nil {
		t.Fatal(err)
	}
	physConfigure(t, fh, "farp", "10.56.0.1/24")
	l := physConfigure(t, h, "net1", "10.56.0.5/24", "fd00:56::5/64")
	_, dst, _ := net.ParseCIDR("10.200.0.0/16")
	if err := h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: dst, Gw: net.ParseIP("10.56.0.1")}); err != nil {
		t.Fatal(err)
	}
	n := &netlink.Neigh{LinkIndex: l.Attrs().Index, State: netlink.NUD_PERMANENT, IP: net.ParseIP("10.56.0.1"), HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 0x99}}
	if err := h.NeighAdd(n); err != nil {
		t.Fatal(err)
	}
}

func physConfigure(t *testing.T, h *netlink.Handle, name string, cidrs ...string) netlink.Link {
	t.Helper()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cidrs {
		a, err := netlink.ParseAddr(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.AddrAdd(l, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
	return l
}

// physPassThrough does to the pod what passthrough and the driver's return
// do to a VF: the netdev leaves the pod netns (with its addresses, routes
// and neighbors), and comes back in the host netns under a kernel name with
// the driver's MAC and MTU, up (as a host network manager may leave it).
func physPassThrough(t *testing.T, pod, host string) {
	t.Helper()
	h, hh := testHandle(t, pod), testHandle(t, host)
	l, err := h.LinkByName("net1")
	if err != nil {
		t.Fatal(err)
	}
	hostNs, err := netns.GetFromPath(host)
	if err != nil {
		t.Fatal(err)
	}
	defer hostNs.Close()
	if err := h.LinkSetNsFd(l, int(hostNs)); err != nil {
		t.Fatal(err)
	}
	l, err = hh.LinkByName("net1")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []error{
		hh.LinkSetDown(l), hh.LinkSetName(l, "eth9"), hh.LinkSetHardwareAddr(l, net.HardwareAddr{2, 0, 0, 0, 0, 0x77}),
		hh.LinkSetMTU(l, 1500), hh.LinkSetUp(l),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
}

func TestIntegrationPhysicalRestore(t *testing.T) {
	testutil.RequireRoot(t)
	pod, host, far := netnstest.NewNetns(t, "phys-pod"), netnstest.NewNetns(t, "phys-host"), netnstest.NewNetns(t, "phys-far")
	physSetupPod(t, pod, far)
	before, err := Scan(pod)
	if err != nil {
		t.Fatal(err)
	}
	for i := range before.Links {
		if before.Links[i].Name == "net1" {
			before.Links[i].BusInfo = physBDF // the stand-in for ethtool's answer on a VF
		}
	}
	rec, err := RecordPhysical(before, "net1", physFakeSysfs(t, physBDF, "iavf"))
	if err != nil {
		t.Fatal(err)
	}
	physPassThrough(t, pod, host)

	rb := &physRebinder{nd: Netdev{NetnsPath: host, Name: "eth9"}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rec.Restore(ctx, rb); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if rb.bdf != physBDF || rb.driver != "iavf" {
		t.Errorf("rebinder got %s %q, want %s iavf", rb.bdf, rb.driver, physBDF)
	}
	after, err := Scan(pod)
	if err != nil {
		t.Fatal(err)
	}
	opts := cmp.Options{physCmp, cmpopts.IgnoreFields(Link{}, "Index", "BusInfo")}
	if diff := cmp.Diff(before.Links, after.Links, opts); diff != "" {
		t.Errorf("pod links not restored (-before +after):\n%s", diff)
	}
	// fe80::/64 comes with IPv6 addrconf, on the kernel's own schedule.
	noLinkLocal := cmpopts.IgnoreSliceElements(func(r Route) bool { return r.Dst == ipv6LinkLocal })
	if diff := cmp.Diff(before.Routes, after.Routes, opts, noLinkLocal); diff != "" {
		t.Errorf("pod routes not restored (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(before.Neighbors, after.Neighbors, opts); diff != "" {
		t.Errorf("pod neighbors not restored (-before +after):\n%s", diff)
	}
	if _, err := testHandle(t, host).LinkByName("eth9"); err == nil {
		t.Error("eth9 still in the host netns")
	}
}
