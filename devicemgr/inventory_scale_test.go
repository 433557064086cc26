package devicemgr

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/sysfs"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

const (
	scalePFs = 16
	scaleVFs = 256
)

// scaleBDFs names PF p on bus 0x10+2p and its VFs on the next bus, one
// devfn each, as ARI-capable NICs with 256 VFs are laid out.
func scalePF(p int) string       { return fmt.Sprintf("0000:%02x:00.0", 0x10+2*p) }
func scaleVF(p, i int) string    { return fmt.Sprintf("0000:%02x:%02x.%d", 0x11+2*p, i/8, i%8) }
func scaleGroup(p, i int) string { return fmt.Sprint(1000 + p*(scaleVFs+1) + i + 1) }

// scaleTree builds 16 PFs with 256 VFs each: 4112 functions, each in its own
// IOMMU group.
func scaleTree(tb testing.TB) string {
	tr := sysfstest.New(tb)
	for p := range scalePFs {
		tr.Add(sysfstest.Function{BDF: scalePF(p), Vendor: "0x8086", Device: "0x1593", Class: "0x020000",
			NUMANode: fmt.Sprint(p % 2), Driver: "ice", IOMMUGroup: scaleGroup(p, -1),
			TotalVFs: "256", NumVFs: "256", Netdevs: []string{fmt.Sprintf("ens%d", p)}})
		for i := range scaleVFs {
			tr.AddVF(scalePF(p), i, sysfstest.Function{BDF: scaleVF(p, i), Vendor: "0x8086", Device: "0x1889",
				Class: "0x020000", NUMANode: fmt.Sprint(p % 2), Driver: "iavf", IOMMUGroup: scaleGroup(p, i)})
		}
	}
	return tr.Root
}

func TestInventoryScale16x256(t *testing.T) {
	root := scaleTree(t)
	start := time.Now()
	fns, err := Inventory(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("inventory of %d functions took %v", len(fns), time.Since(start))
	if len(fns) != scalePFs*(scaleVFs+1) {
		t.Fatalf("got %d functions, want %d", len(fns), scalePFs*(scaleVFs+1))
	}
	if !slices.IsSortedFunc(fns, func(a, b Function) int { return sysfs.CompareBDF(a.BDF, b.BDF) }) {
		t.Error("functions are not sorted by BDF")
	}
	byBDF := map[string]Function{}
	for _, f := range fns {
		byBDF[f.BDF] = f
	}
	for p := range scalePFs {
		pf := byBDF[scalePF(p)]
		if pf.SRIOV == nil || pf.SRIOV.NumVFs != scaleVFs || len(pf.SRIOV.VFs) != scaleVFs {
			t.Fatalf("PF %s: SR-IOV %+v, want %d VFs", scalePF(p), pf.SRIOV, scaleVFs)
		}
		for i, vfBDF := range pf.SRIOV.VFs {
			if vfBDF != scaleVF(p, i) {
				t.Fatalf("PF %s VF %d = %s, want %s", scalePF(p), i, vfBDF, scaleVF(p, i))
			}
			vf := byBDF[vfBDF]
			if vf.PhysFn != scalePF(p) || vf.VFIndex != i || vf.NUMANode != p%2 ||
				fmt.Sprint(vf.IOMMUGroup) != scaleGroup(p, i) || !slices.Equal(vf.IOMMUGroupMembers, []string{vfBDF}) {
				t.Fatalf("VF %s = %+v; want PF %s index %d group %s", vfBDF, vf, scalePF(p), i, scaleGroup(p, i))
			}
		}
	}
}

func BenchmarkInventory16x256(b *testing.B) {
	root := scaleTree(b)
	for b.Loop() {
		if _, err := Inventory(root); err != nil {
			b.Fatal(err)
		}
	}
}
