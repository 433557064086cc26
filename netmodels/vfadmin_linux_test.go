package netmodels

import (
	"net"
	"testing"

	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

// TestVFAdminFor: a function that is no VF, or whose PF has no netdev
// here, is left alone (vfio.VFOf finds VFs: its own test).
func TestVFAdminFor(t *testing.T) {
	tree := sysfstest.New(t)
	root := tree.Root
	tree.Add(sysfstest.Function{BDF: "0000:02:00.0"})
	tree.AddVF("0000:02:00.0", 2, sysfstest.Function{BDF: "0000:02:10.2"})
	mac := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}

	if a, err := vfAdminFor(root, "0000:02:00.0", mac); a != nil || err != nil {
		t.Errorf("a PF: %+v, %v; want nothing to do", a, err)
	}
	if a, err := vfAdminFor(root, "0000:02:10.2", mac); a != nil || err != nil {
		t.Errorf("a VF whose PF has no netdev here: %+v, %v; want nothing to do", a, err)
	}
	if a, err := vfAdminFor(root, "0000:02:10.2", nil); a != nil || err != nil {
		t.Errorf("no MAC to give: %+v, %v", a, err)
	}
	// No admin MAC before: none to put back.
	if err := (&VFAdmin{PF: "kite-no-such-pf", Index: 1, OldMAC: "00:00:00:00:00:00"}).restore(); err != nil {
		t.Errorf("restore of an all-zero MAC: %v", err)
	}
}
