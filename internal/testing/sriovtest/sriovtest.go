// Package sriovtest holds what tests of passthrough need inside the test
// host (internal/testing/testhost): NVMe VFs to pass through, their
// drivers, whether QEMU holds their VFIO group. vfio's own tests cannot use
// it (it imports vfio).
package sriovtest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/kite-vm/kite/internal/sysfs"
	"github.com/kite-vm/kite/internal/testing/testhost"
	"github.com/kite-vm/kite/vfio"
)

// NVMeVFs gives the test host's NVMe PF n VFs (no host driver), removed
// at test end, and returns their addresses in VF order. Call it inside the
// test host.
func NVMeVFs(t testing.TB, root string, n int) []string {
	t.Helper()
	pf, err := testhost.FindPF(root, testhost.NVMeVendor, testhost.NVMeDevice)
	if err != nil {
		t.Fatal(err)
	}
	if err := vfio.SetNumVFs(vfio.Sysfs{}, root, pf, vfio.VFCount{NumVFs: n}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vfio.SetNumVFs(vfio.Sysfs{}, root, pf, vfio.VFCount{NumVFs: 0}) })
	vfs := make([]string, n)
	for i := range vfs {
		vf, err := sysfs.LinkBase(filepath.Join(root, "bus/pci/devices", pf, "virtfn"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		vfs[i] = vf
	}
	return vfs
}

// DriverOf is the driver bound to bdf, "" for none.
func DriverOf(t testing.TB, root, bdf string) string {
	t.Helper()
	drv, err := sysfs.LinkBase(filepath.Join(root, "bus/pci/devices", bdf, "driver"))
	if err != nil {
		t.Fatal(err)
	}
	return drv
}

// HoldsVFIOGroup reports whether process pid has bdf's /dev/vfio/<group>
// open: QEMU realized a vfio-pci device for it.
func HoldsVFIOGroup(t testing.TB, root string, pid int, bdf string) bool {
	t.Helper()
	g, err := vfio.GroupOf(root, bdf)
	if err != nil {
		t.Fatal(err)
	}
	want := "/dev/vfio/" + strconv.Itoa(g.Number)
	fds, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "fd", "*"))
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && target == want {
			return true
		}
	}
	return false
}
