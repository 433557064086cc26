package vfio

import (
	"os"
	"path/filepath"
	"testing"
)

// TestVFOf: a VF's PF, its index (its virtfn link's N) and the PF's
// netdev; a PF is no VF; a VF its PF does not list is an error.
func TestVFOf(t *testing.T) {
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
	pf, vf, lost := mk("0000:02:00.0"), mk("0000:02:10.2"), mk("0000:02:10.4")
	link("../0000:02:00.0", filepath.Join(vf, "physfn"))
	link("../0000:02:00.0", filepath.Join(lost, "physfn"))
	link("../0000:02:10.0", filepath.Join(pf, "virtfn0"))
	link("../0000:02:10.2", filepath.Join(pf, "virtfn2"))

	if got, ok, err := VFOf(root, "0000:02:10.2"); err != nil || !ok || got != (VF{PF: "0000:02:00.0", Index: 2}) {
		t.Errorf("VFOf(VF) = %+v, %t, %v; want index 2 of 0000:02:00.0, no PF netdev", got, ok, err)
	}
	if err := os.MkdirAll(filepath.Join(pf, "net", "enp2s0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, _, err := VFOf(root, "0000:02:10.2"); err != nil || got.PFNetdev != "enp2s0" {
		t.Errorf("VFOf(VF) = %+v, %v; want the PF netdev enp2s0", got, err)
	}
	if _, ok, err := VFOf(root, "0000:02:00.0"); ok || err != nil {
		t.Errorf("VFOf(PF) = %t, %v; want no VF", ok, err)
	}
	if _, _, err := VFOf(root, "0000:02:10.4"); err == nil {
		t.Error("VFOf of a VF its PF does not list succeeded")
	}
}
