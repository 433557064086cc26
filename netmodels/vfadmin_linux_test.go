package netmodels

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestVFAdminFor: a function that is no VF, or whose PF has no netdev
// here, is left alone (vfio.VFOf finds VFs: its own test).
func TestVFAdminFor(t *testing.T) {
	root := t.TempDir()
	devs := filepath.Join(root, "bus", "pci", "devices")
	mk := func(bdf string) string {
		d := filepath.Join(devs, bdf)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	link := func(target, name string) {
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	pf, vf := mk("0000:02:00.0"), mk("0000:02:10.2")
	link("../0000:02:00.0", filepath.Join(vf, "physfn"))
	link("../0000:02:10.0", filepath.Join(pf, "virtfn0"))
	link("../0000:02:10.2", filepath.Join(pf, "virtfn2"))
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
