package cli

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

// devicesTree is a PF with two VFs (one on vfio-pci) and a function with no
// driver, NUMA node or IOMMU group.
func devicesTree(t *testing.T) string {
	tr := sysfstest.New(t)
	tr.Add(sysfstest.Function{BDF: "0000:00:1f.0", Vendor: "0x8086", Device: "0x2918", Class: "0x060100"})
	tr.Add(sysfstest.Function{BDF: "0000:3b:00.0", Vendor: "0x8086", Device: "0x1572", Class: "0x020000", NUMANode: "1",
		Driver: "i40e", IOMMUGroup: "40", TotalVFs: "7", NumVFs: "2", Netdevs: []string{"ens1f0"}})
	tr.AddVF("0000:3b:00.0", 0, sysfstest.Function{BDF: "0000:3b:02.0", Vendor: "0x8086", Device: "0x154c", Class: "0x020000",
		NUMANode: "1", Driver: "iavf", IOMMUGroup: "41", Netdevs: []string{"ens1f0v0", "eth9"}})
	tr.AddVF("0000:3b:00.0", 1, sysfstest.Function{BDF: "0000:3b:02.1", Vendor: "0x8086", Device: "0x154c", Class: "0x020000",
		NUMANode: "1", Driver: "vfio-pci", IOMMUGroup: "42"})
	return tr.Root
}

func TestDevicesTable(t *testing.T) {
	code, out, errOut := run(t, nil, "devices", "--sysfs-root", devicesTree(t))
	if code != 0 {
		t.Fatalf("kite devices = %d: %s", code, errOut)
	}
	want := `BDF           VENDOR:DEVICE  CLASS   DRIVER    NUMA  IOMMU GROUP  SR-IOV                NETDEVS
0000:00:1f.0  8086:2918      060100  -         -     -            -                     -
0000:3b:00.0  8086:1572      020000  i40e      1     40           PF 2/7                ens1f0
0000:3b:02.0  8086:154c      020000  iavf      1     41           VF 0 of 0000:3b:00.0  ens1f0v0,eth9
0000:3b:02.1  8086:154c      020000  vfio-pci  1     42           VF 1 of 0000:3b:00.0  -
`
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("kite devices table (-want +got):\n%s", diff)
	}
}

func TestDevicesJSON(t *testing.T) {
	root := devicesTree(t)
	code, out, errOut := run(t, nil, "devices", "--json", "--sysfs-root", root)
	if code != 0 {
		t.Fatalf("kite devices --json = %d: %s", code, errOut)
	}
	var objs []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &objs); err != nil {
		t.Fatalf("output is not a JSON array of objects: %v\n%s", err, out)
	}
	wantKeys := []string{"bdf", "class", "device", "driver", "iommu_group", "iommu_group_members",
		"netdevs", "numa_node", "physfn", "sriov", "vendor", "vf_index"}
	for _, o := range objs {
		var keys []string
		for k := range o {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, wantKeys) {
			t.Errorf("object keys %v, want exactly %v", keys, wantKeys)
		}
	}
	var got []devicemgr.Function
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want, err := devicemgr.Inventory(root)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kite devices --json vs Inventory (-want +got):\n%s", diff)
	}
	if pf := got[1]; pf.SRIOV == nil || !slices.Equal(pf.SRIOV.VFs, []string{"0000:3b:02.0", "0000:3b:02.1"}) {
		t.Errorf("PF %s SR-IOV = %+v, want both VFs", pf.BDF, pf.SRIOV)
	}
}

func TestDevicesJSONEmpty(t *testing.T) {
	code, out, errOut := run(t, nil, "devices", "--json", "--sysfs-root", sysfstest.New(t).Root)
	if code != 0 || out != "[]\n" {
		t.Errorf("kite devices --json on an empty tree = %d, %q (stderr %q); want 0, \"[]\\n\"", code, out, errOut)
	}
}

func TestDevicesErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nosys")
	code, _, errOut := run(t, nil, "devices", "--sysfs-root", missing)
	if code != exitError || !strings.Contains(errOut, missing) {
		t.Errorf("kite devices on a missing root = %d, stderr %q; want exit 1 naming %s", code, errOut, missing)
	}
	tr := sysfstest.New(t)
	tr.Add(sysfstest.Function{BDF: "0000:00:02.0", Vendor: "0x8086", Device: "0x1", Class: "0x030000", NUMANode: "abc"})
	code, _, errOut = run(t, nil, "devices", "--sysfs-root", tr.Root)
	if code != exitError || !strings.Contains(errOut, "0000:00:02.0/numa_node") {
		t.Errorf("kite devices with a bad numa_node = %d, stderr %q; want exit 1 naming the file", code, errOut)
	}
	code, _, errOut = run(t, nil, "devices", "extra")
	if code != exitUsage || !strings.Contains(errOut, "unexpected arguments") {
		t.Errorf("kite devices extra = %d, stderr %q; want a usage error", code, errOut)
	}
}
