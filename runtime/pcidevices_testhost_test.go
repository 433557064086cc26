package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/sysfs"
	"github.com/kite-vm/kite/internal/testhost"
	"github.com/kite-vm/kite/vfio"
)

// TestIntegrationPCIPassthroughTestHost runs inside the test host (a VM
// with an emulated IOMMU and an SR-IOV NVMe PF): the boot step that passes
// VFs through binds them to vfio-pci (their /dev/vfio nodes appear) and
// the VM's teardown restores their drivers; a function whose IOMMU group
// holds a device the host uses is refused before anything is unbound.
func TestIntegrationPCIPassthroughTestHost(t *testing.T) {
	if !testhost.Inside() {
		testhost.Run(t, testhost.Options{})
		return
	}
	const root = "/sys"
	pf, err := testhost.FindPF(root, testhost.NVMeVendor, testhost.NVMeDevice)
	if err != nil {
		t.Fatal(err)
	}
	if err := vfio.SetNumVFs(vfio.Sysfs{}, root, pf, vfio.VFCount{NumVFs: 2}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vfio.SetNumVFs(vfio.Sysfs{}, root, pf, vfio.VFCount{NumVFs: 0}) })
	var vfs []string
	for i := range 2 {
		vf, err := sysfs.LinkBase(filepath.Join(root, "bus/pci/devices", pf, "virtfn"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		vfs = append(vfs, vf)
	}
	before := map[string]string{}
	for _, vf := range vfs {
		before[vf] = driverOf(t, root, vf)
	}

	b := pciBooter(t, root, vfs)
	start := time.Now()
	if err := b.bindPCIDevices(); err != nil {
		t.Fatalf("binding %v: %v", vfs, err)
	}
	t.Logf("bound %d VFs to vfio-pci in %s", len(vfs), time.Since(start).Round(time.Millisecond))
	for _, vf := range vfs {
		if drv := driverOf(t, root, vf); drv != vfio.VFIODriver {
			t.Errorf("%s driver = %q after the bind, want vfio-pci", vf, drv)
		}
		g, err := vfio.GroupOf(root, vf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join("/dev/vfio", strconv.Itoa(g.Number))); err != nil {
			t.Errorf("no /dev/vfio node for %s: %v", vf, err)
		}
	}
	if err := b.vm.teardown(context.Background()); err != nil {
		t.Fatalf("teardown: %v", err)
	}
	for _, vf := range vfs {
		if drv := driverOf(t, root, vf); drv != before[vf] {
			t.Errorf("%s driver = %q after teardown, want %q as before", vf, drv, before[vf])
		}
	}

	shared := testhost.SharesSlot + ".1" // in a group with the host's /usr share
	nb := pciBooter(t, root, []string{shared})
	err = nb.bindPCIDevices()
	if !errors.Is(err, vfio.ErrNotViable) || !strings.Contains(err.Error(), testhost.SharesSlot+".0") {
		t.Errorf("passing %s through = %v, want ErrNotViable naming %s.0", shared, err, testhost.SharesSlot)
	}
	if drv := driverOf(t, root, shared); drv != "virtio-pci" {
		t.Errorf("%s driver = %q after the refusal, want virtio-pci untouched", shared, drv)
	}
}

func pciBooter(t *testing.T, root string, bdfs []string) *booter {
	t.Helper()
	devs, _, _, err := planPCIDevices(bdfs)
	if err != nil {
		t.Fatal(err)
	}
	return &booter{vm: &VM{plan: VMPlan{ID: "pci", PCI: devs, SysfsRoot: root}}}
}

func driverOf(t *testing.T, root, bdf string) string {
	t.Helper()
	drv, err := sysfs.LinkBase(filepath.Join(root, "bus/pci/devices", bdf, "driver"))
	if err != nil {
		t.Fatal(err)
	}
	return drv
}
