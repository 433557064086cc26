package devicemgr

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

// TestIntegrationInventoryRealSysfs reads this host's /sys and checks the
// result against the kernel's files independently: every function listed,
// vendor IDs as the kernel prints them, an IOMMU group exactly when the link
// exists, and every PCI network interface under its function.
func TestIntegrationInventoryRealSysfs(t *testing.T) {
	testutil.RequireRoot(t)
	fns, err := Inventory(DefaultSysfsRoot)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir("/sys/bus/pci/devices")
	if err != nil {
		t.Fatal(err)
	}
	byBDF := map[string]Function{}
	for _, f := range fns {
		byBDF[f.BDF] = f
	}
	if len(fns) != len(ents) || len(ents) == 0 {
		t.Errorf("Inventory found %d functions, /sys/bus/pci/devices lists %d", len(fns), len(ents))
	}
	for _, e := range ents {
		dir := filepath.Join("/sys/bus/pci/devices", e.Name())
		f, ok := byBDF[e.Name()]
		if !ok {
			t.Errorf("%s missing from the inventory", e.Name())
			continue
		}
		vendor, err := os.ReadFile(filepath.Join(dir, "vendor"))
		if err != nil {
			t.Fatal(err)
		}
		if "0x"+f.Vendor != strings.TrimSpace(string(vendor)) {
			t.Errorf("%s: vendor %q, sysfs has %q", f.BDF, f.Vendor, vendor)
		}
		_, err = os.Lstat(filepath.Join(dir, "iommu_group"))
		if hasGroup := err == nil; hasGroup != (f.IOMMUGroup >= 0) || hasGroup != slices.Contains(f.IOMMUGroupMembers, f.BDF) {
			t.Errorf("%s: iommu_group link present=%v, inventory group %d members %v", f.BDF, hasGroup, f.IOMMUGroup, f.IOMMUGroupMembers)
		}
	}
	checkNetdevs(t, byBDF)
}

// checkNetdevs finds each interface's PCI function by walking up its device
// path and expects the interface among that function's netdevs.
func checkNetdevs(t *testing.T, byBDF map[string]Function) {
	ifaces, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifaces {
		dev, err := filepath.EvalSymlinks(filepath.Join("/sys/class/net", ifc.Name(), "device"))
		if err != nil {
			continue // virtual interface: no device
		}
		for p := dev; p != "/"; p = filepath.Dir(p) {
			if f, ok := byBDF[filepath.Base(p)]; ok {
				if !slices.Contains(f.Netdevs, ifc.Name()) {
					t.Errorf("%s is under %s, whose netdevs are %v", ifc.Name(), f.BDF, f.Netdevs)
				}
				break
			}
		}
	}
}
