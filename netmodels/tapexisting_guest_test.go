package netmodels

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/qemu"
)

// TestIntegrationTapGuestPing: a multiqueue tap a CNI left in the pod netns
// (holding the peer address 10.66.0.2 here) is attached as is with two
// queues, handed to a Kite guest as tap fds, and the guest pings the pod
// netns through it. Detach then leaves the tap in place.
func TestIntegrationTapGuestPing(t *testing.T) {
	testutil.RequireRoot(t)
	pod := netnstest.NewNetns(t, "tap-pod")
	tapTestCreate(t, pod, "tap0", true)
	h := testHandle(t, pod)
	l, err := h.LinkByName("tap0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
	ep, err := AttachTap(pod, "tap0", 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ep.Detach() })
	if ep.Queues() != 2 || !ep.MultiQueue {
		t.Fatalf("%d queues, multiqueue %v; want 2, true", ep.Queues(), ep.MultiQueue)
	}
	// The tap keeps its own MAC and address as the pod side of the link;
	// the guest NIC gets a MAC and address of its own.
	guestMAC := net.HardwareAddr{0x02, 0x6b, 0x69, 0x74, 0x65, 0x03}
	vm := vmtest.Start(t, vmtest.Options{RootPorts: 1, Rootfs: vmtest.BusyboxRootfs(t),
		Devices: []qemu.Device{qemu.TapNet{ID: "tap0", Bus: "rp0", MAC: guestMAC.String(), FDs: ep.Fds}}})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	netConfigureGuest(t, ctx, vm, "eth0", guestMAC, ep.MTU, []netip.Prefix{netip.MustParsePrefix("10.66.0.3/24")})
	out, code := vm.Run(t, ctx, netPing("ping1", "10.66.0.2"))
	if code != 0 || !strings.Contains(out, "bytes from 10.66.0.2") {
		t.Fatalf("guest ping 10.66.0.2: exit %d\n%s", code, out)
	}
	t.Logf("guest -> pod tap:\n%s", out)
	vm.Stop(t)
	if err := ep.Detach(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.LinkByName("tap0"); err != nil {
		t.Errorf("the tap is gone after Detach: %v", err)
	}
}
