package hotplug_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testhost"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/hotplug"
	"github.com/kite-vm/kite/vfio"
)

// TestIntegrationTestHostPlugVFIO plugs a real SR-IOV VF, bound to
// vfio-pci, into a QEMU running inside the test host (this host has no
// VFIO), and unplugs it: QEMU realizes vfio-pci on the VF and lets it go.
// The nested VM stays paused; native hotplug completes device_del without
// a guest.
func TestIntegrationTestHostPlugVFIO(t *testing.T) {
	if !testhost.Inside() {
		testhost.Run(t, testhost.Options{})
		return
	}
	const sys = "/sys"
	pf, err := testhost.FindPF(sys, testhost.NVMeVendor, testhost.NVMeDevice)
	if err != nil {
		t.Fatal(err)
	}
	if err := vfio.SetNumVFs(vfio.Sysfs{}, sys, pf, vfio.VFCount{NumVFs: 1}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := vfio.SetNumVFs(vfio.Sysfs{}, sys, pf, vfio.VFCount{}); err != nil {
			t.Error(err)
		}
	})
	vf, err := filepath.EvalSymlinks(filepath.Join(sys, "bus/pci/devices", pf, "virtfn0"))
	if err != nil {
		t.Fatal(err)
	}
	vf = filepath.Base(vf)
	restore, err := vfio.Bind(vfio.Sysfs{}, sys, vf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := restore.Apply(vfio.Sysfs{}, sys); err != nil {
			t.Error(err)
		}
	})

	q := startVM(t, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	start := time.Now()
	p, err := hotplug.Plug(ctx, q, "vf0", qemu.VFIO{ID: "vf0", Bus: "rp0", Host: vf, NoROM: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("measured: vfio-pci %s plugged in %s", vf, time.Since(start).Round(time.Millisecond))
	if !realized(t, q, "vf0") {
		t.Error("QEMU has no realized vf0")
	}
	if got := qomString(t, q, "vf0", "host"); got != vf {
		t.Errorf("vf0 host = %q, want %s", got, vf)
	}
	start = time.Now()
	if err := p.Unplug(ctx, q); err != nil {
		t.Fatal(err)
	}
	t.Logf("measured: vfio-pci %s unplugged in %s", vf, time.Since(start).Round(time.Millisecond))
	if realized(t, q, "vf0") {
		t.Error("QEMU still has vf0 after Unplug")
	}
}
