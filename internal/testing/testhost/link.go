package testhost

import (
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// LinkUp sets a network interface of the test host up and waits for its
// link (QEMU's igb reports one without a network backend): an igb PF
// limits its VFs' rates against its link speed, and has none while down.
func LinkUp(t testing.TB, netdev string) {
	t.Helper()
	l, err := netlink.LinkByName(netdev)
	if err == nil {
		err = netlink.LinkSetUp(l)
	}
	if err != nil {
		t.Fatalf("setting %s up: %v", netdev, err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if l, err := netlink.LinkByName(netdev); err == nil && l.Attrs().OperState == netlink.OperUp {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no link 20s after it was set up", netdev)
		}
	}
}
