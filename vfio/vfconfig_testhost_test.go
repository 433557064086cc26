package vfio

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/kite-vm/kite/internal/testing/testhost"
)

// TestIntegrationTestHostVFConfig runs inside a test host with an igb NIC
// (QEMU 10): VFs created with host drivers autoprobed become igbvf netdevs;
// their admin MAC, VLAN, trust and spoof check are set through the PF with
// ConfigureVF and read back from the kernel over netlink; a netdev VF bound
// to vfio-pci gets igbvf and its netdev back on restore.
func TestIntegrationTestHostVFConfig(t *testing.T) {
	if !testhost.Inside() {
		testhost.Run(t, testhost.Options{IGB: true})
		return
	}
	pf, err := testhost.FindPF(sysRoot, testhost.IGBVendor, testhost.IGBDevice)
	if err != nil {
		t.Fatal(err)
	}
	pfNet := onlyNetdev(t, pf)
	if err := SetNumVFs(Sysfs{}, sysRoot, pf, VFCount{NumVFs: 8}); !errors.Is(err, ErrTooManyVFs) {
		t.Errorf("SetNumVFs(8) on igb (7 VFs at most): error = %v, want ErrTooManyVFs", err)
	}
	start := time.Now()
	if err := SetNumVFs(Sysfs{}, sysRoot, pf, VFCount{NumVFs: 2, DriversAutoprobe: true}); err != nil {
		t.Fatal(err)
	}
	vfs := vfsOf(t, pf)
	for _, vf := range vfs {
		waitNetdev(t, vf)
	}
	t.Logf("measured: 2 igb VFs with igbvf netdevs in %s", time.Since(start).Round(time.Millisecond))

	mac := net.HardwareAddr{0x02, 0x4b, 0x49, 0x54, 0x45, 0x01}
	on, off := true, false
	if err := ConfigureVF(pfNet, 0, VFConfig{MAC: mac, VLAN: 100, Trust: &on, SpoofCheck: &off}); err != nil {
		t.Fatal(err)
	}
	if err := ConfigureVF(pfNet, 1, VFConfig{VLAN: 0, SpoofCheck: &on}); err != nil {
		t.Fatal(err)
	}
	got := vfInfo(t, pfNet)
	want := []vfAdmin{{MAC: mac.String(), VLAN: 100, Spoofchk: false, Trust: true}, {VLAN: 0, Spoofchk: true}}
	got[1].MAC = "" // left as the driver chose
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VF admin state read back over netlink (-want +got):\n%s", diff)
	}
	if err := ConfigureVF(pfNet, 0, VFConfig{VLAN: 4095}); !errors.Is(err, ErrBadVFConfig) {
		t.Errorf("VLAN 4095: error = %v, want ErrBadVFConfig", err)
	}

	r, err := Bind(Sysfs{}, sysRoot, vfs[1])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Restore{BDF: vfs[1], Driver: "igbvf"}, r); diff != "" {
		t.Errorf("Bind() restore record (-want +got):\n%s", diff)
	}
	if err := r.Apply(Sysfs{}, sysRoot); err != nil {
		t.Fatal(err)
	}
	if drv := link(t, vfs[1], "driver"); drv != "igbvf" {
		t.Errorf("VF %s driver after restore = %q, want igbvf", vfs[1], drv)
	}
	waitNetdev(t, vfs[1])
}

type vfAdmin struct {
	MAC             string
	VLAN            int
	Spoofchk, Trust bool
}

// vfInfo reads the PF's VF table from the kernel (IFLA_VFINFO_LIST).
func vfInfo(t *testing.T, pfNet string) []vfAdmin {
	t.Helper()
	l, err := netlink.LinkByName(pfNet)
	if err != nil {
		t.Fatal(err)
	}
	var out []vfAdmin
	for _, vf := range l.Attrs().Vfs {
		out = append(out, vfAdmin{MAC: vf.Mac.String(), VLAN: vf.Vlan, Spoofchk: vf.Spoofchk, Trust: vf.Trust != 0})
	}
	return out
}

// onlyNetdev returns the single network interface of a function.
func onlyNetdev(t *testing.T, bdf string) string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(sysRoot, "bus/pci/devices", bdf, "net"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("netdevs of %s: %v (%v)", bdf, ents, err)
	}
	return ents[0].Name()
}

// waitNetdev waits for the function's netdev: the driver registers it
// after probe returns.
func waitNetdev(t *testing.T, bdf string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ents, err := os.ReadDir(filepath.Join(sysRoot, "bus/pci/devices", bdf, "net"))
		if err == nil && len(ents) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s (driver %q) has no netdev after 20s", bdf, link(t, bdf, "driver"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
