package vm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
)

// writeFiles creates files (path relative to root -> content) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		path := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDetectHugepages(t *testing.T) {
	const pool = "sys/kernel/mm/hugepages/hugepages-2048kB/"
	const node = "sys/devices/system/node/node%d/hugepages/hugepages-2048kB/free_hugepages"
	tests := []struct {
		name  string
		files map[string]string
		want  HostHugepages
	}{
		{"nothing", nil, HostHugepages{}},
		{"reserved pages taken out, two nodes", map[string]string{
			pool + "free_hugepages":          "300\n",
			pool + "resv_hugepages":          "44\n",
			fmt.Sprintf(node, 0):             "100\n",
			fmt.Sprintf(node, 1):             "200\n",
			"sys/devices/system/node/online": "0-1\n", // not a node directory
		}, HostHugepages{Free: 256, NodeFree: map[int]int{0: 100, 1: 200}}},
		{"no mount needed", map[string]string{
			pool + "free_hugepages": "8\n",
			pool + "resv_hugepages": "garbage",
		}, HostHugepages{Free: 8}},
		{"more reserved than free reads as none", map[string]string{
			pool + "free_hugepages": "2\n",
			pool + "resv_hugepages": "5\n",
		}, HostHugepages{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files)
			if diff := cmp.Diff(tt.want, DetectHugepages(root)); diff != "" {
				t.Errorf("DetectHugepages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckHugepages(t *testing.T) {
	on := configs.Hypervisor{Hugepages: true, MemoryMiB: 256}
	host := HostHugepages{Free: 200, NodeFree: map[int]int{0: 60, 1: 140}}
	tests := []struct {
		name string
		h    configs.Hypervisor
		host HostHugepages
		node int
		err  error    // nil: accepted
		msg  []string // words the error must contain
	}{
		{"off needs nothing", configs.Hypervisor{MemoryMiB: 256}, HostHugepages{}, 7, nil, nil},
		{"enough, unbound", on, host, -1, nil, nil},
		{"enough on the node", on, host, 1, nil, nil},
		{"exactly enough", on, HostHugepages{Free: 128}, -1, nil, nil},
		{"no hugetlbfs mount needed", on, HostHugepages{Free: 500}, -1, nil, nil},
		{"too few", on, HostHugepages{Free: 127}, -1, ErrHost, []string{"256 MiB need 128 free 2 MiB huge pages, the host has 127", "nr_hugepages by 1"}},
		{"too few on the node", on, host, 0, ErrHost, []string{"need 128 free 2 MiB huge pages on NUMA node 0, which has 60", "node0/hugepages/hugepages-2048kB/nr_hugepages"}},
		{"no such node", on, host, 3, ErrHost, []string{"NUMA node 3, which the host does not have"}},
		{"no NUMA at all", on, HostHugepages{Free: 500}, 0, ErrHost, []string{"NUMA node 0"}},
		{"bad node", on, host, -2, ErrInvalid, []string{"NUMA node -2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkHugepages(tt.h, tt.host, tt.node)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("checkHugepages: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("checkHugepages = %v, want %v", err, tt.err)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
		})
	}
}
