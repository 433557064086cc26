package vfio

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kite-vm/kite/internal/testing/testhost"
)

// TestIntegrationTestHostVFConfig runs inside a test host with an igb NIC
// (QEMU 10): VFs created with host drivers autoprobed become igbvf netdevs;
// their admin MAC, VLAN with QoS, tx rate, trust and spoof check are set
// through the PF by a VFChange and read back from the kernel over netlink,
// and put back by its Revert; a setting igb refuses (a tx rate floor, an
// 802.1ad VLAN) fails the change naming it, with what was set before it
// put back; a netdev VF bound to vfio-pci gets igbvf and its netdev back
// on restore.
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
	testhost.LinkUp(t, pfNet) // igb limits a VF's rate against the PF's link speed

	vf0 := VF{PFNetdev: pfNet, Index: 0}
	before, err := vf0.Settings()
	if err != nil {
		t.Fatal(err)
	}
	mac := net.HardwareAddr{0x02, 0x4b, 0x49, 0x54, 0x45, 0x01}
	on, off := true, false
	want := VFSettings{MAC: mac, VLAN: &VLAN{ID: 100, QoS: 3}, Rate: &Rate{MaxMbps: 100}, Trust: &on, SpoofChk: &off}
	start = time.Now()
	c, err := vf0.PrepareChange(want)
	if err != nil || c == nil {
		t.Fatalf("PrepareChange = %+v, %v", c, err)
	}
	if err := c.Apply(); err != nil {
		t.Fatal(err)
	}
	t.Logf("measured: VF 0 read and given %s through the PF in %s", c.Set, time.Since(start).Round(time.Microsecond))
	got, err := vf0.Settings()
	if err != nil {
		t.Fatal(err)
	}
	want.VLAN.Proto, want.LinkState = VLAN8021Q, before.LinkState
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VF 0 read back over netlink (-want +got):\n%s", diff)
	}
	if again, err := vf0.PrepareChange(want); err != nil || again != nil {
		t.Errorf("PrepareChange of what the VF has = %+v, %v, want nothing to change", again, err)
	}
	start = time.Now()
	if err := c.Revert(); err != nil {
		t.Fatal(err)
	}
	t.Logf("measured: VF 0 given back %s in %s", c.Undo, time.Since(start).Round(time.Microsecond))
	after, _ := vf0.Settings()
	before.MAC = mac // none was held: the VF keeps the one set
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("VF 0 after Revert (-before +after):\n%s", diff)
	}

	// Refused settings: the error names the setting and the VF, and what
	// the change set before it is put back.
	for _, bad := range []struct {
		s    VFSettings
		what string
	}{
		{VFSettings{VLAN: &VLAN{ID: 200}, Rate: &Rate{MinMbps: 10, MaxMbps: 100}}, "setting min_tx_rate 10 max_tx_rate 100 on VF 1 of " + pfNet},
		{VFSettings{SpoofChk: &off, VLAN: &VLAN{ID: 200, Proto: VLAN8021AD}}, "setting vlan 200 proto 802.1ad on VF 1 of " + pfNet},
		{VFSettings{Trust: &on, LinkState: LinkDisable}, "setting state disable on VF 1 of " + pfNet + ": the PF's driver does not support it"},
	} {
		vf1 := VF{PFNetdev: pfNet, Index: 1}
		was, _ := vf1.Settings()
		c, err := vf1.PrepareChange(bad.s)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Apply(); err == nil || !strings.Contains(err.Error(), bad.what) {
			t.Errorf("Apply(%s) = %v, want an error containing %q", bad.s, err, bad.what)
		}
		if now, _ := vf1.Settings(); !cmp.Equal(was, now) {
			t.Errorf("VF 1 after a refused %s: %s\nwant as before: %s", bad.s, now, was)
		}
	}
	if _, err := vf0.PrepareChange(VFSettings{VLAN: &VLAN{ID: 4095}}); !errors.Is(err, ErrBadVFConfig) {
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
