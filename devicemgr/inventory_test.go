package devicemgr

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// vfBDF places VF i of the small tree's PF as the kernel would with ARI off:
// function numbers 0-7 under device 2, 3, ...
func vfBDF(i int) string { return fmt.Sprintf("0000:3b:%02x.%d", 2+i/8, i%8) }

// smallTree builds a host with a bridge pair sharing IOMMU group 0, an
// SR-IOV NIC PF with 11 VFs (so virtfn10 sorts before virtfn2 lexically), a
// second PF with SR-IOV off, and a SATA controller outside any IOMMU group
// with no numa_node file.
func smallTree(t *testing.T) *sysfstest.Tree {
	tr := sysfstest.New(t)
	tr.Add(sysfstest.Function{BDF: "0000:00:00.0", Vendor: "0x8086", Device: "0x1237", Class: "0x060000", NUMANode: "-1", IOMMUGroup: "0"})
	tr.Add(sysfstest.Function{BDF: "0000:00:01.0", Vendor: "0x8086", Device: "0x7000", Class: "0x060100", NUMANode: "0", IOMMUGroup: "0"})
	tr.Add(sysfstest.Function{BDF: "0000:00:1f.2", Vendor: "0x8086", Device: "0x2922", Class: "0x010601", Driver: "ahci"})
	pf := sysfstest.Function{
		BDF: "0000:3b:00.0", Parent: "pci0000:3a/0000:3a:00.0", Vendor: "0x8086", Device: "0x1572", Class: "0x020000",
		NUMANode: "1", Driver: "i40e", IOMMUGroup: "12", TotalVFs: "64", NumVFs: "11", Netdevs: []string{"ens1f0"},
	}
	tr.Add(pf)
	pf2 := pf
	pf2.BDF, pf2.IOMMUGroup, pf2.NumVFs, pf2.Netdevs = "0000:3b:00.1", "12", "0", []string{"ens1f1"}
	tr.Add(pf2)
	for i := range 11 {
		vf := sysfstest.Function{BDF: vfBDF(i), Vendor: "0x8086", Device: "0x154c", Class: "0x020000",
			NUMANode: "1", Driver: "iavf", IOMMUGroup: fmt.Sprint(20 + i), Netdevs: []string{fmt.Sprintf("ens1f0v%d", i)}}
		if i == 10 {
			vf.Driver, vf.Netdevs = "vfio-pci", nil
		}
		tr.AddVF("0000:3b:00.0", i, vf)
	}
	return tr
}

func TestInventoryFunctions(t *testing.T) {
	fns, err := Inventory(smallTree(t).Root)
	if err != nil {
		t.Fatal(err)
	}
	byBDF := map[string]Function{}
	for _, f := range fns {
		byBDF[f.BDF] = f
	}
	var allVFs []string
	for i := range 11 {
		allVFs = append(allVFs, vfBDF(i))
	}
	for _, tc := range []struct {
		name string
		want Function
	}{
		{"PF with VFs in numeric virtfn order", Function{
			BDF: "0000:3b:00.0", Vendor: "8086", Device: "1572", Class: "020000", Driver: "i40e", NUMANode: 1,
			IOMMUGroup: 12, IOMMUGroupMembers: []string{"0000:3b:00.0", "0000:3b:00.1"}, VFIndex: -1,
			SRIOV: &SRIOV{TotalVFs: 64, NumVFs: 11, VFs: allVFs}, Netdevs: []string{"ens1f0"},
		}},
		{"PF with SR-IOV off", Function{
			BDF: "0000:3b:00.1", Vendor: "8086", Device: "1572", Class: "020000", Driver: "i40e", NUMANode: 1,
			IOMMUGroup: 12, IOMMUGroupMembers: []string{"0000:3b:00.0", "0000:3b:00.1"}, VFIndex: -1,
			SRIOV: &SRIOV{TotalVFs: 64, NumVFs: 0, VFs: []string{}}, Netdevs: []string{"ens1f1"},
		}},
		{"VF 10 bound to vfio-pci", Function{
			BDF: "0000:3b:03.2", Vendor: "8086", Device: "154c", Class: "020000", Driver: "vfio-pci", NUMANode: 1,
			IOMMUGroup: 30, IOMMUGroupMembers: []string{"0000:3b:03.2"}, PhysFn: "0000:3b:00.0", VFIndex: 10,
			Netdevs: []string{},
		}},
		{"VF 2 with a netdev", Function{
			BDF: "0000:3b:02.2", Vendor: "8086", Device: "154c", Class: "020000", Driver: "iavf", NUMANode: 1,
			IOMMUGroup: 22, IOMMUGroupMembers: []string{"0000:3b:02.2"}, PhysFn: "0000:3b:00.0", VFIndex: 2,
			Netdevs: []string{"ens1f0v2"},
		}},
		{"no IOMMU group and no numa_node file", Function{
			BDF: "0000:00:1f.2", Vendor: "8086", Device: "2922", Class: "010601", Driver: "ahci", NUMANode: -1,
			IOMMUGroup: -1, IOMMUGroupMembers: []string{}, VFIndex: -1, Netdevs: []string{},
		}},
		{"unbound, sharing a group", Function{
			BDF: "0000:00:01.0", Vendor: "8086", Device: "7000", Class: "060100", NUMANode: 0,
			IOMMUGroup: 0, IOMMUGroupMembers: []string{"0000:00:00.0", "0000:00:01.0"}, VFIndex: -1, Netdevs: []string{},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, byBDF[tc.want.BDF]); diff != "" {
				t.Errorf("function %s (-want +got):\n%s", tc.want.BDF, diff)
			}
		})
	}
	if len(fns) != 16 {
		t.Errorf("got %d functions, want 16", len(fns))
	}
}

func TestInventoryJSONGolden(t *testing.T) {
	fns, err := Inventory(smallTree(t).Root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(fns, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "inventory-small.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(bytes.TrimSpace(want)), string(got)); diff != "" {
		t.Errorf("inventory JSON differs from %s (-want +got):\n%s", golden, diff)
	}
}

func TestInventoryEmpty(t *testing.T) {
	fns, err := Inventory(sysfstest.New(t).Root)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(fns)
	if string(got) != "[]" {
		t.Errorf("empty inventory JSON = %s, want []", got)
	}
}

func TestInventoryBadInput(t *testing.T) {
	const bdf = "0000:00:1f.2"
	for _, tc := range []struct {
		name      string
		break_    func(tr *sysfstest.Tree)
		malformed bool   // errors.Is ErrMalformed
		wantFile  string // the error names this file of the function
	}{
		{"numa_node not a number", func(tr *sysfstest.Tree) { tr.WriteFile(bdf, "numa_node", "abc\n") }, true, "numa_node"},
		{"vendor without 0x", func(tr *sysfstest.Tree) { tr.WriteFile(bdf, "vendor", "8086\n") }, true, "vendor"},
		{"class not hex", func(tr *sysfstest.Tree) { tr.WriteFile(bdf, "class", "0xzz0000\n") }, true, "class"},
		{"device missing", func(tr *sysfstest.Tree) { tr.Remove(bdf, "device") }, false, "device"},
		{"sriov_totalvfs not a number", func(tr *sysfstest.Tree) { tr.WriteFile(bdf, "sriov_totalvfs", "lots\n") }, true, "sriov_totalvfs"},
		{"sriov_numvfs not a number", func(tr *sysfstest.Tree) {
			tr.WriteFile(bdf, "sriov_totalvfs", "8\n")
			tr.WriteFile(bdf, "sriov_numvfs", "\n")
		}, true, "sriov_numvfs"},
		{"iommu_group not a number", func(tr *sysfstest.Tree) {
			tr.Add(sysfstest.Function{BDF: bdf, Parent: "pci0000:01", Vendor: "0x1", Device: "0x2", Class: "0x3", IOMMUGroup: "x"})
		}, true, "iommu_group"},
		{"virtfn suffix not a number", func(tr *sysfstest.Tree) {
			tr.WriteFile(bdf, "sriov_totalvfs", "8\n")
			if err := os.Symlink("../0000:00:00.0", filepath.Join(tr.Root, "bus/pci/devices", bdf, "virtfnX")); err != nil {
				t.Fatal(err)
			}
		}, true, "virtfnX"},
		{"physfn without a matching virtfn", func(tr *sysfstest.Tree) {
			if err := os.Symlink("../0000:00:00.0", filepath.Join(tr.Root, "bus/pci/devices", bdf, "physfn")); err != nil {
				t.Fatal(err)
			}
		}, true, "physfn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := sysfstest.New(t)
			tr.Add(sysfstest.Function{BDF: "0000:00:00.0", Vendor: "0x8086", Device: "0x1237", Class: "0x060000"})
			if tc.name != "iommu_group not a number" {
				tr.Add(sysfstest.Function{BDF: bdf, Vendor: "0x8086", Device: "0x2922", Class: "0x010601", NUMANode: "0"})
			}
			tc.break_(tr)
			_, err := Inventory(tr.Root)
			if err == nil {
				t.Fatal("Inventory succeeded on a broken tree")
			}
			if !strings.Contains(err.Error(), filepath.Join(bdf, tc.wantFile)) {
				t.Errorf("error %q does not name %s/%s", err, bdf, tc.wantFile)
			}
			if errors.Is(err, ErrMalformed) != tc.malformed {
				t.Errorf("errors.Is(%q, ErrMalformed) = %v, want %v", err, !tc.malformed, tc.malformed)
			}
		})
	}
}

func TestInventoryMissingRoot(t *testing.T) {
	_, err := Inventory(filepath.Join(t.TempDir(), "nosys"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Inventory(missing root) = %v, want a not-exist error", err)
	}
}
