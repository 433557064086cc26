package devicemgr

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kite-vm/kite/internal/sysfs"
	"github.com/kite-vm/kite/internal/testing/testhost"
	"github.com/kite-vm/kite/vfio"
)

// TestIntegrationTestHostInventory runs inside the test host (QEMU with an
// emulated IOMMU and an SR-IOV NVMe PF): after VFs are created through
// vfio.SetNumVFs, the inventory's PF, VFs, VF indexes, drivers and IOMMU
// groups must match what the kernel shows in /sys, read here independently;
// then the allocator hands those real VFs to two sandboxes exclusively.
func TestIntegrationTestHostInventory(t *testing.T) {
	if !testhost.Inside() {
		testhost.Run(t, testhost.Options{Binaries: []string{"github.com/kite-vm/kite/cmd/kite"}})
		return
	}
	pf, err := testhost.FindPF(DefaultSysfsRoot, testhost.NVMeVendor, testhost.NVMeDevice)
	if err != nil {
		t.Fatal(err)
	}
	if err := vfio.SetNumVFs(vfio.Sysfs{}, DefaultSysfsRoot, pf, vfio.VFCount{NumVFs: testhost.NVMeMaxVFs}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := vfio.SetNumVFs(vfio.Sysfs{}, DefaultSysfsRoot, pf, vfio.VFCount{}); err != nil {
			t.Error(err)
		}
	})
	start := time.Now()
	fns, err := Inventory(DefaultSysfsRoot)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("measured: inventory of %d functions in %s", len(fns), time.Since(start).Round(time.Microsecond))
	byBDF := map[string]Function{}
	for _, f := range fns {
		byBDF[f.BDF] = f
	}
	vfs := checkPF(t, byBDF[pf])
	for i, vf := range vfs {
		checkVF(t, byBDF[vf], pf, i)
	}
	checkCLI(t, fns)
	checkAllocation(t, fns, pf, vfs)
}

// checkCLI: `kite devices --json` (built by the outer half) prints the same
// inventory.
func checkCLI(t *testing.T, want []Function) {
	t.Helper()
	out, err := exec.Command("kite", "devices", "--json").Output()
	if err != nil {
		t.Fatalf("kite devices --json: %v", err)
	}
	var got []Function
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("kite devices --json printed %q: %v", out, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kite devices --json (-Inventory +CLI):\n%s", diff)
	}
}

// readSys reads a function's sysfs attribute, trimmed.
func readSys(t *testing.T, bdf, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(DefaultSysfsRoot, "bus/pci/devices", bdf, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func linkSys(t *testing.T, bdf, name string) string {
	t.Helper()
	s, err := sysfs.LinkBase(filepath.Join(DefaultSysfsRoot, "bus/pci/devices", bdf, name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func numaSys(t *testing.T, bdf string) int {
	t.Helper()
	n, err := strconv.Atoi(readSys(t, bdf, "numa_node"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func groupSys(t *testing.T, bdf string) (int, []string) {
	t.Helper()
	n, err := strconv.Atoi(linkSys(t, bdf, "iommu_group"))
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(DefaultSysfsRoot, "kernel/iommu_groups", strconv.Itoa(n), "devices"))
	if err != nil {
		t.Fatal(err)
	}
	members := []string{}
	for _, e := range ents {
		members = append(members, e.Name())
	}
	return n, members
}

// checkPF compares the PF with sysfs and returns its VFs from the virtfnN links.
func checkPF(t *testing.T, got Function) []string {
	t.Helper()
	pf := got.BDF
	vfs := []string{}
	for i := 0; ; i++ {
		vf := linkSys(t, pf, "virtfn"+strconv.Itoa(i))
		if vf == "" {
			break
		}
		vfs = append(vfs, vf)
	}
	group, members := groupSys(t, pf)
	want := Function{
		BDF: pf, Vendor: "1b36", Device: "0010", Class: strings.TrimPrefix(readSys(t, pf, "class"), "0x"),
		Driver: "nvme", NUMANode: numaSys(t, pf), IOMMUGroup: group, IOMMUGroupMembers: members, VFIndex: -1,
		SRIOV: &SRIOV{TotalVFs: testhost.NVMeMaxVFs, NumVFs: testhost.NVMeMaxVFs, VFs: vfs}, Netdevs: []string{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inventory of PF %s (-sysfs +inventory):\n%s", pf, diff)
	}
	if len(vfs) != testhost.NVMeMaxVFs {
		t.Fatalf("PF %s has %d virtfn links, want %d", pf, len(vfs), testhost.NVMeMaxVFs)
	}
	return vfs
}

func checkVF(t *testing.T, got Function, pf string, index int) {
	t.Helper()
	vf := got.BDF
	group, members := groupSys(t, vf)
	want := Function{
		BDF: vf, Vendor: "1b36", Device: "0010", Class: strings.TrimPrefix(readSys(t, vf, "class"), "0x"),
		Driver: linkSys(t, vf, "driver"), NUMANode: numaSys(t, vf), IOMMUGroup: group, IOMMUGroupMembers: members,
		PhysFn: pf, VFIndex: index, Netdevs: []string{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inventory of VF %s (-sysfs +inventory):\n%s", vf, diff)
	}
	if len(members) != 1 {
		t.Errorf("VF %s shares IOMMU group %d with %v", vf, group, members)
	}
}

// checkAllocation gives the real VFs to two sandboxes from a pool of the
// PF, then has a third ask for one of the first's by address, as a device
// plugin's PCIDEVICE_* would.
func checkAllocation(t *testing.T, fns []Function, pf string, vfs []string) {
	t.Helper()
	ctx := context.Background()
	// The test host is one NUMA node holding both vCPUs.
	numa, err := NUMANodesOf(DefaultSysfsRoot, []int{0, 1})
	if err != nil || !cmp.Equal([]int{0}, numa) {
		t.Errorf("NUMANodesOf(cpus 0-1) = %v, %v; want [0]", numa, err)
	}
	a := NewAllocator(t.TempDir())
	pools := []Pool{{Name: "nvme", PFs: []string{pf}}}
	pool := func(n int) Requests { return Requests{Pools: []PoolRequest{{Source: "test", Pool: "nvme", Count: n}}} }
	got1, err := a.Allocate(ctx, Claim{Owner: Owner{Sandbox: "sb1"}, Functions: fns, Pools: pools, Requests: pool(2), PreferNUMA: numa})
	if err != nil {
		t.Fatal(err)
	}
	got2, err := a.Allocate(ctx, Claim{Owner: Owner{Sandbox: "sb2"}, Functions: fns, Pools: pools, Requests: pool(2)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(vfs, append(bdfsOf(got1), bdfsOf(got2)...)); diff != "" {
		t.Errorf("two sandboxes' VFs (-all VFs +allocated):\n%s", diff)
	}
	env := []string{"PCIDEVICE_KITE_NVME=" + vfs[0]}
	exact, err := ParsePCIDeviceEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Allocate(ctx, Claim{Owner: Owner{Sandbox: "sb3"}, Functions: fns, Requests: Requests{Exact: exact}})
	if err == nil || !strings.Contains(err.Error(), vfs[0]) || !strings.Contains(err.Error(), "sb1") {
		t.Errorf("sb3 asking for sb1's %s: error = %v, want one naming the VF and sb1", vfs[0], err)
	}
}
