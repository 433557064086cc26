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
