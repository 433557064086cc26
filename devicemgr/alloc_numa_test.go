package devicemgr

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string][]int{
		"":             nil,
		"0":            {0},
		"0-3,8\n":      {0, 1, 2, 3, 8},
		"10-11, 2,2-3": {2, 3, 10, 11},
	} {
		got, err := ParseCPUList(in)
		if err != nil || !cmp.Equal(want, got) {
			t.Errorf("ParseCPUList(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"a", "3-1", "1-", "-1", "1,,2"} {
		if _, err := ParseCPUList(bad); !errors.Is(err, ErrBadRequest) {
			t.Errorf("ParseCPUList(%q) error = %v, want ErrBadRequest", bad, err)
		}
	}
}

func TestNUMANodesOf(t *testing.T) {
	root := numaSysfs(t)
	for _, tc := range []struct {
		cpus []int
		want []int
	}{{[]int{12, 13}, []int{1}}, {[]int{3, 4}, []int{0, 1}}, {[]int{99}, nil}, {nil, nil}} {
		got, err := NUMANodesOf(root, tc.cpus)
		if err != nil || !cmp.Equal(tc.want, got) {
			t.Errorf("NUMANodesOf(%v) = %v, %v; want %v", tc.cpus, got, err, tc.want)
		}
	}
	if got, err := NUMANodesOf(t.TempDir(), []int{0}); err != nil || got != nil {
		t.Errorf("NUMANodesOf(no node dir) = %v, %v; want none", got, err)
	}
}

// NearFirst puts the device node's CPUs of a cpuset first, each part in
// its order; a host without the node's cpulist leaves the cpuset.
func TestNearFirst(t *testing.T) {
	root := numaSysfs(t)
	for _, tc := range []struct {
		cpus []int
		node int
		want []int
	}{
		{[]int{2, 3, 4, 5}, 1, []int{4, 5, 2, 3}},
		{[]int{2, 3, 4, 5}, 0, []int{2, 3, 4, 5}},
		{[]int{12, 2, 13}, 1, []int{12, 13, 2}},
		{[]int{2, 3}, 7, []int{2, 3}}, // no such node here
	} {
		got, err := NearFirst(root, tc.cpus, tc.node)
		if err != nil || !cmp.Equal(tc.want, got) {
			t.Errorf("NearFirst(%v, node %d) = %v, %v; want %v", tc.cpus, tc.node, got, err, tc.want)
		}
	}
}

// A function on a node none of the pod's CPUs is on is a mismatch; one
// whose node the host does not say, or a pod without CPUs, is not.
func TestCheckNUMA(t *testing.T) {
	root := numaSysfs(t)
	as := []Assignment{
		{BDF: "0000:3b:02.2", Source: "PCIDEVICE_A", NUMANode: 0},
		{BDF: "0000:af:02.2", Source: "PCIDEVICE_B", NUMANode: 1},
		{BDF: "0000:af:02.3", Source: "PCIDEVICE_C", NUMANode: -1},
	}
	got, err := CheckNUMA(root, as, []int{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []NUMAMismatch{{BDF: "0000:af:02.2", Node: 1, CPUNodes: []int{0}, Source: "PCIDEVICE_B"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatches (-want +got):\n%s", diff)
	}
	if s := got[0].String(); s != "PCI function 0000:af:02.2 (PCIDEVICE_B) is on NUMA node 1, the pod's CPUs on node(s) 0: its traffic crosses the interconnect" {
		t.Errorf("String() = %q", s)
	}
	for _, cpus := range [][]int{nil, {2, 4}} { // none; both nodes
		if got, err := CheckNUMA(root, as, cpus); len(got) != 0 || err != nil {
			t.Errorf("CheckNUMA(CPUs %v) = %v, %v; want no mismatch", cpus, got, err)
		}
	}
}

// numaSysfs is a sysfs with two NUMA nodes: 0-3,8-11 and 4-7,12-15.
func numaSysfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "devices/system/node")
	for name, cpus := range map[string]string{"node0": "0-3,8-11\n", "node1": "4-7,12-15\n"} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "cpulist"), []byte(cpus), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "online"), []byte("0-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}
