package benchmarks

import (
	"testing"

	"github.com/kite-vm/kite/devicemgr"
)

// TestFakeSysfs checks that devicemgr reads the generated tree as the
// kernel's: PFs with their VFs, each VF with its PF and its own group.
func TestFakeSysfs(t *testing.T) {
	f := fakeSysfs{root: t.TempDir(), pfs: 2, vfs: 9}
	if err := f.build(); err != nil {
		t.Fatal(err)
	}
	fns, err := devicemgr.Inventory(f.root)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != f.functions() {
		t.Fatalf("inventory found %d functions, want %d", len(fns), f.functions())
	}
	byBDF := map[string]devicemgr.Function{}
	for _, fn := range fns {
		byBDF[fn.BDF] = fn
	}
	for p := range f.pfs {
		pf := byBDF[f.pf(p)]
		if pf.SRIOV == nil || pf.SRIOV.NumVFs != f.vfs || len(pf.SRIOV.VFs) != f.vfs || pf.Driver != "ice" {
			t.Fatalf("PF %s = %+v", f.pf(p), pf)
		}
		for i, vf := range pf.SRIOV.VFs {
			got := byBDF[vf]
			if vf != f.vf(p, i) || got.PhysFn != f.pf(p) || got.VFIndex != i || got.Driver != "iavf" || len(got.IOMMUGroupMembers) != 1 {
				t.Fatalf("VF %d of %s = %+v", i, f.pf(p), got)
			}
		}
	}
	n, err := rawScan(f.root)
	if err != nil || n != f.functions() {
		t.Errorf("rawScan = %d, %v; want %d", n, err, f.functions())
	}
}
