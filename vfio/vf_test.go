package vfio

import (
	"testing"

	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

// TestVFOf: a VF's PF, its index (its virtfn link's N) and the PF's
// netdev; a PF is no VF; a VF its PF does not list is an error.
func TestVFOf(t *testing.T) {
	tree := sysfstest.New(t)
	root := tree.Root
	pf := tree.Add(sysfstest.Function{BDF: "0000:02:00.0"})
	tree.AddVF("0000:02:00.0", 0, sysfstest.Function{BDF: "0000:02:10.0"})
	tree.AddVF("0000:02:00.0", 2, sysfstest.Function{BDF: "0000:02:10.2"})
	// A VF whose physfn names the PF, which has no virtfn link to it.
	lost := tree.Add(sysfstest.Function{BDF: "0000:02:10.4"})
	sysfstest.Symlink(t, lost, "physfn", "../0000:02:00.0")

	if got, ok, err := VFOf(root, "0000:02:10.2"); err != nil || !ok || got != (VF{PF: "0000:02:00.0", Index: 2}) {
		t.Errorf("VFOf(VF) = %+v, %t, %v; want index 2 of 0000:02:00.0, no PF netdev", got, ok, err)
	}
	sysfstest.Dir(t, pf, "net/enp2s0")
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
