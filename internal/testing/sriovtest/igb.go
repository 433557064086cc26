package sriovtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testhost"
	"github.com/kite-vm/kite/vfio"
)

// IGBVF gives the test host's igb PF one VF, its host driver autoprobed
// (igbvf makes its netdev), taken away when the test ends, and returns
// the PF's and the VF's addresses.
func IGBVF(t testing.TB, root string) (pf, vf string) {
	t.Helper()
	pf, err := testhost.FindPF(root, testhost.IGBVendor, testhost.IGBDevice)
	if err != nil {
		t.Fatal(err)
	}
	if err := vfio.SetNumVFs(vfio.Sysfs{}, root, pf, vfio.VFCount{NumVFs: 1, DriversAutoprobe: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vfio.SetNumVFs(vfio.Sysfs{}, root, pf, vfio.VFCount{NumVFs: 0}) })
	link, err := os.Readlink(filepath.Join(root, "bus/pci/devices", pf, "virtfn0"))
	if err != nil {
		t.Fatal(err)
	}
	return pf, filepath.Base(link)
}
