package vfio

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kite-vm/kite/internal/sysfs"
	"github.com/kite-vm/kite/internal/testing/testhost"
)

const sysRoot = "/sys"

// TestIntegrationTestHostSRIOVBind runs inside the test host (a QEMU VM with
// an emulated IOMMU and an SR-IOV NVMe PF) against its real kernel: VFs
// created and resized through sriov_numvfs, a VF and the PF bound to
// vfio-pci and restored, and a group shared with a device in use refused.
func TestIntegrationTestHostSRIOVBind(t *testing.T) {
	if !testhost.Inside() {
		testhost.Run(t, testhost.Options{})
		return
	}
	pf, err := testhost.FindPF(sysRoot, testhost.NVMeVendor, testhost.NVMeDevice)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("NumVFs", func(t *testing.T) { checkNumVFs(t, pf) })
	t.Run("BindVF", func(t *testing.T) { checkBindVF(t, pf) })
	t.Run("NotViable", checkNotViable)
	t.Run("VFVanishes", func(t *testing.T) { checkVFVanishes(t, pf) })
	t.Run("BindPF", func(t *testing.T) { checkBindPF(t, pf) })
}

// checkVFVanishes: a VF removed (num_vfs back to 0) while bound to
// vfio-pci, as when a PF is reset under a starting sandbox. Restoring it
// and binding it again fail with ErrNoDevice naming it; nothing else moves.
func checkVFVanishes(t *testing.T, pf string) {
	setVFs(t, pf, 2)
	vf := vfsOf(t, pf)[1]
	r, err := Bind(Sysfs{}, sysRoot, vf)
	if err != nil {
		t.Fatal(err)
	}
	setVFs(t, pf, 0)
	if err := r.Apply(Sysfs{}, sysRoot); !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), vf) {
		t.Errorf("restoring vanished %s: error = %v, want ErrNoDevice naming it", vf, err)
	}
	if _, err := Bind(Sysfs{}, sysRoot, vf); !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), vf) {
		t.Errorf("binding vanished %s: error = %v, want ErrNoDevice naming it", vf, err)
	}
	if drv := link(t, pf, "driver"); drv != "nvme" {
		t.Errorf("PF driver = %q after its VF vanished, want nvme", drv)
	}
}

// setVFs sets the PF's VF count, failing t, and reports how long it took.
func setVFs(t *testing.T, pf string, n int) time.Duration {
	t.Helper()
	start := time.Now()
	if err := SetNumVFs(Sysfs{}, sysRoot, pf, VFCount{NumVFs: n}); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// vfsOf reads the PF's virtfnN links directly, in N order.
func vfsOf(t *testing.T, pf string) []string {
	t.Helper()
	var vfs []string
	for i := 0; ; i++ {
		vf, err := sysfs.LinkBase(filepath.Join(sysRoot, "bus/pci/devices", pf, "virtfn"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		if vf == "" {
			return vfs
		}
		vfs = append(vfs, vf)
	}
}

func attr(t *testing.T, bdf, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sysRoot, "bus/pci/devices", bdf, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func link(t *testing.T, bdf, name string) string {
	t.Helper()
	s, err := sysfs.LinkBase(filepath.Join(sysRoot, "bus/pci/devices", bdf, name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func checkNumVFs(t *testing.T, pf string) {
	if err := SetNumVFs(Sysfs{}, sysRoot, pf, VFCount{NumVFs: testhost.NVMeMaxVFs + 1}); !errors.Is(err, ErrTooManyVFs) {
		t.Errorf("SetNumVFs(%d) error = %v, want ErrTooManyVFs", testhost.NVMeMaxVFs+1, err)
	}
	t.Logf("measured: 0 -> 4 VFs in %s", setVFs(t, pf, 4).Round(time.Millisecond))
	vfs := vfsOf(t, pf)
	if got := attr(t, pf, "sriov_numvfs"); got != "4" || len(vfs) != 4 {
		t.Fatalf("after SetNumVFs(4): sriov_numvfs %s, virtfn links %v", got, vfs)
	}
	if got := attr(t, pf, "sriov_drivers_autoprobe"); got != "0" {
		t.Errorf("sriov_drivers_autoprobe = %s, want 0 (Kite's VFs are not for host drivers)", got)
	}
	for _, vf := range vfs {
		if got := link(t, vf, "physfn"); got != pf {
			t.Errorf("%s physfn = %q, want %s", vf, got, pf)
		}
		if drv := link(t, vf, "driver"); drv != "" {
			t.Errorf("%s bound to %s with autoprobe off", vf, drv)
		}
		g, err := GroupOf(sysRoot, vf)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(g.Members, []string{vf}) || strconv.Itoa(g.Number) != link(t, vf, "iommu_group") {
			t.Errorf("GroupOf(%s) = %+v, iommu_group link %s", vf, g, link(t, vf, "iommu_group"))
		}
	}
	// 4 -> 2 directly is EBUSY in the kernel: SetNumVFs goes through 0.
	t.Logf("measured: 4 -> 2 VFs (through 0) in %s", setVFs(t, pf, 2).Round(time.Millisecond))
	if got := vfsOf(t, pf); !slices.Equal(got, vfs[:2]) {
		t.Errorf("after 4 -> 2: VFs %v, want %v", got, vfs[:2])
	}
	t.Logf("measured: 2 -> 4 VFs (through 0) in %s", setVFs(t, pf, 4).Round(time.Millisecond))
}

func checkBindVF(t *testing.T, pf string) {
	setVFs(t, pf, 4)
	vf := vfsOf(t, pf)[0]
	g, err := GroupOf(sysRoot, vf)
	if err != nil {
		t.Fatal(err)
	}
	node := filepath.Join("/dev/vfio", strconv.Itoa(g.Number))
	start := time.Now()
	r, err := Bind(Sysfs{}, sysRoot, vf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("measured: bind %s to vfio-pci in %s", vf, time.Since(start).Round(time.Millisecond))
	if diff := cmp.Diff(Restore{BDF: vf}, r); diff != "" {
		t.Errorf("Bind() restore record (-want +got):\n%s", diff)
	}
	if drv := link(t, vf, "driver"); drv != VFIODriver {
		t.Errorf("%s driver = %q after Bind", vf, drv)
	}
	if _, err := os.Stat(node); err != nil {
		t.Errorf("group node after Bind: %v", err)
	}
	if err := CheckViable(sysRoot, vf); err != nil {
		t.Errorf("CheckViable(%s) = %v, want nil (alone in its group)", vf, err)
	}
	if err := r.Apply(Sysfs{}, sysRoot); err != nil {
		t.Fatal(err)
	}
	if drv, ov := link(t, vf, "driver"), attr(t, vf, "driver_override"); drv != "" || ov != "(null)" {
		t.Errorf("after restore: driver %q, driver_override %q; want none and (null)", drv, ov)
	}
	if _, err := os.Stat(node); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after restore (%v)", node, err)
	}
}

// checkNotViable: the two 9p functions share slot 5 and, without ACS, an
// IOMMU group, and both are the host's (virtio-pci serves /usr and /work).
func checkNotViable(t *testing.T) {
	fn1, fn0 := testhost.SharesSlot+".1", testhost.SharesSlot+".0"
	err := CheckViable(sysRoot, fn1)
	var nv *NotViableError
	if !errors.As(err, &nv) || !errors.Is(err, ErrNotViable) {
		t.Fatalf("CheckViable(%s) = %v, want a *NotViableError", fn1, err)
	}
	want := fn0 + " (virtio-pci, in use by the host)"
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), fn1) {
		t.Errorf("error %q does not name %s and %q", err, fn1, want)
	}
	if drv := link(t, fn1, "driver"); drv != "virtio-pci" {
		t.Errorf("%s driver = %q after the refusal, want virtio-pci untouched", fn1, drv)
	}
}

// checkBindPF binds a function the host driver holds (the PF, nvme) and
// restores it: the original driver is probed back through driver_override.
func checkBindPF(t *testing.T, pf string) {
	setVFs(t, pf, 0)
	if drv := link(t, pf, "driver"); drv != "nvme" {
		t.Fatalf("PF %s driver = %q, want nvme", pf, drv)
	}
	r, err := Bind(Sysfs{}, sysRoot, pf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Restore{BDF: pf, Driver: "nvme"}, r); diff != "" {
		t.Errorf("Bind() restore record (-want +got):\n%s", diff)
	}
	if drv := link(t, pf, "driver"); drv != VFIODriver {
		t.Errorf("PF driver = %q after Bind", drv)
	}
	start := time.Now()
	if err := r.Apply(Sysfs{}, sysRoot); err != nil {
		t.Fatal(err)
	}
	t.Logf("measured: restore %s to nvme in %s", pf, time.Since(start).Round(time.Millisecond))
	if drv, ov := link(t, pf, "driver"), attr(t, pf, "driver_override"); drv != "nvme" || ov != "(null)" {
		t.Errorf("after restore: driver %q, driver_override %q; want nvme and (null)", drv, ov)
	}
}
