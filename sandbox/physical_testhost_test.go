package sandbox

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/testing/sriovtest"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vfio"
	"github.com/kite-vm/kite/vm"
	"github.com/kite-vm/kite/vm/attach"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// testPhysicalEndpoint runs inside a test host with an igb NIC: an igbvf
// VF netdev moved into a pod netns and configured there,
// as the SR-IOV CNI leaves it, is recorded by the collect step, planned as
// a physical endpoint on a root port of its own, passed through by its
// attachment (bound to vfio-pci, a vfio-pci device for QEMU), and put back
// into the pod netns with its name, MAC, MTU, addresses and routes by the
// attachment's undo.
func testPhysicalEndpoint(t *testing.T) {
	const root = "/sys"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mac, _ := net.ParseMAC("02:4b:69:74:65:09")
	vf, podPath := vfInPod(t, root, "kite-pod-vf", mac)
	before, err := netmodels.Scan(podPath)
	if err != nil {
		t.Fatal(err)
	}
	l := planVFLayout(t, root, podPath)
	if len(l.endpoints) != 1 || l.endpoints[0].Kind != netmodels.EndpointPhysical || !slices.Equal(l.bound, []string{vf}) {
		t.Fatalf("endpoints %+v bound %v, want net1 passed through as %s", l.endpoints, l.bound, vf)
	}
	var phys attach.Attachment
	for _, a := range l.vm.Attachments {
		if _, ok := a.(*netmodels.Physical); ok {
			phys = a
		}
	}
	var host cleanup.Stack
	p, err := phys.Attach(ctx, &host)
	if err != nil {
		t.Fatalf("passing net1 through: %v", err)
	}
	if drv := sriovtest.DriverOf(t, root, vf); drv != vfio.VFIODriver {
		t.Errorf("%s driver = %q while passed through, want vfio-pci", vf, drv)
	}
	if d, ok := p.Device.(qemu.VFIO); !ok || d.Host != vf {
		t.Errorf("QEMU device %+v, want vfio-pci host=%s", p.Device, vf)
	}
	if during, _ := netmodels.Scan(podPath); slices.ContainsFunc(during.Links, func(l netmodels.Link) bool { return l.Name == "net1" }) {
		t.Errorf("net1 is still in the pod netns while passed through")
	}
	// The PF holds the pod's MAC for the VF, so that the guest's igbvf
	// comes up with it (an igb PF refuses a VF's own change).
	if got := pfAdminMAC(t, root, vf); got.String() != mac.String() {
		t.Errorf("the PF holds MAC %s for %s while it is passed through, want the pod's %s", got, vf, mac)
	}

	start := time.Now()
	if err := host.CleanCtx(ctx); err != nil {
		t.Fatalf("undo: %v", err)
	}
	t.Logf("measured: VF given back to igbvf and net1 rebuilt in the pod netns in %s", time.Since(start).Round(time.Millisecond))
	after, err := netmodels.Scan(podPath)
	if err != nil {
		t.Fatal(err)
	}
	want, got := linkFacts(before, "net1"), linkFacts(after, "net1")
	if got != want {
		t.Errorf("net1 after the undo: %s\nwant (as before): %s", got, want)
	}
}

// namedNetns creates /run/netns/name on a thread that is thrown away.
func namedNetns(t testing.TB, name string) string {
	t.Helper()
	os.MkdirAll("/run/netns", 0o755)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: this thread moved
		h, err := netns.NewNamed(name)
		if err == nil {
			h.Close()
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.DeleteNamed(name) })
	return "/run/netns/" + name
}

// moveVF does what the SR-IOV CNI does: moves the VF netdev into the pod
// netns, renames it net1, sets its MAC and MTU, an address, up, a route.
func moveVF(t testing.TB, host, podPath string, mac net.HardwareAddr) {
	t.Helper()
	l, err := netlink.LinkByName(host)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := netns.GetFromPath(podPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := netlink.LinkSetNsFd(l, int(ns)); err != nil {
		t.Fatal(err)
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if l, err = h.LinkByName(host); err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr("10.99.0.2/24")
	_, dst, _ := net.ParseCIDR("10.98.0.0/24")
	for _, step := range []func() error{
		func() error { return h.LinkSetName(l, "net1") },
		func() error { return h.LinkSetHardwareAddr(l, mac) },
		func() error { return h.LinkSetMTU(l, 1400) },
		func() error { return h.AddrAdd(l, addr) },
		func() error { return h.LinkSetUp(l) },
		func() error {
			return h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: dst, Gw: net.ParseIP("10.99.0.1")})
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
}

// linkFacts renders what the restore must bring back of a link.
func linkFacts(ns *netmodels.Netns, name string) string {
	i := slices.IndexFunc(ns.Links, func(l netmodels.Link) bool { return l.Name == name })
	if i < 0 {
		return name + " missing"
	}
	l := ns.Links[i]
	s := l.Name + " " + l.MAC.String() + " mtu " + strconv.Itoa(l.MTU)
	for _, a := range l.Addrs {
		if !a.Addr().IsLinkLocalUnicast() {
			s += " " + a.String()
		}
	}
	for _, r := range ns.Routes {
		if r.Dev == name && r.Gw.IsValid() {
			s += " route " + r.Dst.String() + " via " + r.Gw.String()
		}
	}
	return s
}

// pfAdminMAC reads the MAC the VF's PF holds for the VF at bdf.
func pfAdminMAC(t testing.TB, root, bdf string) net.HardwareAddr {
	t.Helper()
	vf, ok, err := vfio.VFOf(root, bdf)
	if err != nil || !ok || vf.PFNetdev == "" {
		t.Fatalf("VF %s: %+v, %t, %v; want a VF whose PF has a netdev", bdf, vf, ok, err)
	}
	s, err := vf.Settings()
	if err != nil {
		t.Fatal(err)
	}
	return s.MAC
}

// vfInPod gives the test host's igb PF a VF and leaves its netdev in a
// new pod netns named name as the SR-IOV CNI would (moveVF, with mac),
// and returns the VF's address and the netns path.
func vfInPod(t testing.TB, root, name string, mac net.HardwareAddr) (vf, podPath string) {
	t.Helper()
	_, vf = sriovtest.IGBVF(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hostNetdev, err := netmodels.NetdevOfBDF(ctx, root, vf)
	if err != nil {
		t.Fatal(err)
	}
	podPath = namedNetns(t, name)
	moveVF(t, hostNetdev, podPath, mac)
	return vf, podPath
}

// planVFLayout collects the pod netns and plans a sandbox for it, with
// the devices.vf rules given.
func planVFLayout(t testing.TB, root, podPath string, rules ...configs.VFRule) *layout {
	t.Helper()
	cfg := configs.Default()
	cfg.Network.Model, cfg.Network.Queues = configs.NetTCFilter, 1
	cfg.Devices.VF = rules
	sc := Config{ID: "vf", Dir: filepath.Join(t.TempDir(), "sb"), Config: cfg, SysfsRoot: root}
	f := facts{host: vm.Host{Accel: qemu.AccelTCG}}
	if err := collectNetwork(sc, podPath, &f); err != nil {
		t.Fatalf("collecting the pod netns: %v", err)
	}
	if err := collectVFs(sc, &f); err != nil {
		t.Fatalf("collecting the VFs: %v", err)
	}
	l, err := planSandbox(sc, f)
	if err != nil {
		t.Fatalf("planning: %v", err)
	}
	return l
}
