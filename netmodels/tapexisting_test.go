package netmodels

import (
	"errors"
	"net"
	"net/netip"

	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func TestAttachTapBadInput(t *testing.T) {
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
			_, err := AttachTap(tt.path, "tap0", tt.queues)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("AttachTap(%q, tap0, %d) error = %v, want %v containing %q", tt.path, tt.queues, err, tt.want, tt.wantText)
			}
		})
	}
}

// tapTestCreate makes a persistent tap in the netns at path, the way a CNI
// leaves one, with an address, and returns its MAC.
func tapTestCreate(t *testing.T, path, name string, multiQueue bool) net.HardwareAddr {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if multiQueue {
		flags |= unix.IFF_MULTI_QUEUE
	}
	err = doInPodNetns(ns, func() error {
		files, err := openTapQueues(name, 1, flags)
		if err != nil {
			return err
		}
		defer closeFiles(files)
		return unix.IoctlSetInt(int(files[0].Fd()), unix.TUNSETPERSIST, 1)
	})
	if err != nil {
		t.Fatalf("creating tap %s: %v", name, err)
	}
	h := testHandle(t, path)
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr("10.66.0.2/24")
	if err := h.AddrAdd(l, addr); err != nil {
		t.Fatal(err)
	}
	return l.Attrs().HardwareAddr
}

// tapTestQueues is the number of queues open on the tap name.
func tapTestQueues(t *testing.T, path, name string) int {
	t.Helper()
	l, err := testHandle(t, path).LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l.(*netlink.Tuntap).Queues
}

func TestIntegrationTapAttach(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		name       string
		multiQueue bool
		ask, want  int
	}{
		{"multiqueue", true, 4, 4},
		{"single queue gets one fd", false, 4, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := netnstest.NewNetns(t, "tap")
			mac := tapTestCreate(t, path, "tap0", tt.multiQueue)
			before := snapshotNetns(t, path)
			ep, err := AttachTap(path, "tap0", tt.ask)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ep.Detach() })
			want := &TapEndpoint{NetnsPath: path, Name: "tap0", MAC: mac, MTU: 1500, MultiQueue: tt.multiQueue,
				Addrs: []netip.Prefix{netip.MustParsePrefix("10.66.0.2/24")}}
			opts := cmp.Options{cmp.AllowUnexported(TapEndpoint{}), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
				cmpIgnore("Index", "Fds", "attached")}
			if diff := cmp.Diff(want, ep, opts); diff != "" {
				t.Errorf("endpoint (-want +got):\n%s", diff)
			}
			if ep.Queues() != tt.want {
				t.Errorf("%d fds, want %d", ep.Queues(), tt.want)
			}
			// netlink counts the queues of multiqueue taps only.
			if n := tapTestQueues(t, path, "tap0"); tt.multiQueue && n != tt.want {
				t.Errorf("%d queues on the tap, want %d", n, tt.want)
			}
			if err := ep.Detach(); err != nil {
				t.Fatal(err)
			}
			if n := tapTestQueues(t, path, "tap0"); n != 0 {
				t.Errorf("%d queues open after Detach", n)
			}
			// The fds are really closed: a single-queue tap takes a new one.
			again, err := AttachTap(path, "tap0", 1)
			if err != nil {
				t.Fatalf("attaching again after Detach: %v", err)
			}
			again.Detach()
			if diff := cmp.Diff(before, snapshotNetns(t, path), netnsStateCmp, netnsAddrCmp); diff != "" {
				t.Errorf("Detach changed the netns (-before +after):\n%s", diff)
			}
		})
	}
}

func TestIntegrationTapRefusals(t *testing.T) {
	testutil.RequireRoot(t)
	path := netnstest.NewNetns(t, "tap")
	tapTestCreate(t, path, "tap0", false)
	tcfSetupVeth(t, path, "veth0")
	first, err := AttachTap(path, "tap0", 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Detach() })
	before := snapshotNetns(t, path)
	tests := []struct {
		name, ifname string
		want         error
		wantText     string
	}{
		{"single-queue tap in use", "tap0", unix.EBUSY, "already open"},
		{"not a tap", "veth0", ErrNotTap, `"veth0" is a veth link`},
		{"no such interface", "tap9", ErrNoInterface, `"tap9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := AttachTap(path, tt.ifname, 2)
			if err == nil {
				ep.Detach()
				t.Fatal("AttachTap succeeded")
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error = %v, want %v containing %q", err, tt.want, tt.wantText)
			}
			if diff := cmp.Diff(before, snapshotNetns(t, path), netnsStateCmp, netnsAddrCmp); diff != "" {
				t.Errorf("netns changed (-before +after):\n%s", diff)
			}
		})
	}
}

// TestIntegrationTapVanishes: the tap is deleted between the lookup and the
// open, where TUNSETIFF would make a new tap of that name. The attach must
// notice, and closing its fds must take that accidental tap away again.
func TestIntegrationTapVanishes(t *testing.T) {
	testutil.RequireRoot(t)
	path := netnstest.NewNetns(t, "tap")
	tapTestCreate(t, path, "tap0", true)
	h := testHandle(t, path)
	e, err := lookupTap(h, path, "tap0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := h.LinkByName("tap0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkDel(l); err != nil {
		t.Fatal(err)
	}
	before := snapshotNetns(t, path)
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	err = e.open(ns, h, 2)
	if !errors.Is(err, ErrNoInterface) || !strings.Contains(err.Error(), "vanished") {
		t.Errorf("error = %v, want ErrNoInterface saying the tap vanished", err)
	}
	if len(e.Fds) != 0 {
		t.Errorf("%d fds left open", len(e.Fds))
	}
	if diff := cmp.Diff(before, snapshotNetns(t, path), netnsStateCmp, netnsAddrCmp); diff != "" {
		t.Errorf("netns changed (-before +after):\n%s", diff)
	}
}

// TestIntegrationTapFailHalfWay runs out of descriptors while opening
// queues: the ones opened so far are closed and the tap is as before.
func TestIntegrationTapFailHalfWay(t *testing.T) {
	testutil.RequireRoot(t)
	path := netnstest.NewNetns(t, "tap")
	tapTestCreate(t, path, "tap0", true)
	before := snapshotNetns(t, path)
	queuesBefore := tapTestQueues(t, path, "tap0")
	openBefore := mvtTestOpenFds(t)
	var saved unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &saved); err != nil {
		t.Fatal(err)
	}
	tight := saved
	tight.Cur = uint64(openBefore + 12)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &tight); err != nil {
		t.Fatal(err)
	}
	ep, err := AttachTap(path, "tap0", 64)
	if rerr := unix.Setrlimit(unix.RLIMIT_NOFILE, &saved); rerr != nil {
		t.Fatal(rerr)
	}
	if err == nil {
		ep.Detach()
		t.Fatal("AttachTap opened 64 queues under a limit of 12 more fds")
	}
	if got := mvtTestOpenFds(t); got != openBefore {
		t.Errorf("%d fds open after the failed attach, want %d", got, openBefore)
	}
	if !errors.Is(err, unix.EMFILE) {
		t.Errorf("error = %v, want EMFILE", err)
	}
	if n := tapTestQueues(t, path, "tap0"); n != queuesBefore {
		t.Errorf("%d queues open on the tap after the failed attach, want %d", n, queuesBefore)
	}
	if diff := cmp.Diff(before, snapshotNetns(t, path), netnsStateCmp, netnsAddrCmp); diff != "" {
		t.Errorf("netns changed (-before +after):\n%s", diff)
	}
}

// tcfSetupVeth adds a veth pair name/name+"p" inside the netns at path.
func tcfSetupVeth(t *testing.T, path, name string) {
	t.Helper()
	h := testHandle(t, path)
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}); err != nil {
		t.Fatal(err)
	}
}

func cmpIgnore(fields ...string) cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		for _, f := range fields {
			if p.Last().String() == "."+f {
				return true
			}
		}
		return false
	}, cmp.Ignore())
}

// netnsState is what a failed attach must leave untouched: the Scan of the
// netns (links, addresses, routes, neighbors) and its qdiscs and filters.
type netnsState struct {
	Scan *Netns
	TC   []string
}

func snapshotNetns(t *testing.T, path string) netnsState {
	t.Helper()
	ns, err := Scan(path)
	if err != nil {
		t.Fatal(err)
	}
	return netnsState{Scan: ns, TC: tcfSnapshot(t, path)}
}

var (
	netnsStateCmp = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })
	netnsAddrCmp  = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
)
