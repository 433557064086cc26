package sandbox

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
)

// With vcpu_pinning, a cpuset that spans NUMA nodes is pinned from the
// node of the sandbox's functions first; without pinning, or with
// functions spread over nodes, it stays as it is.
func TestNearCPUs(t *testing.T) {
	root := t.TempDir()
	for name, cpus := range map[string]string{"node0": "0-3\n", "node1": "4-7\n"} {
		dir := filepath.Join(root, "devices/system/node", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cpulist"), []byte(cpus), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		pinning bool
		nodes   []int
		want    []int
	}{
		{"functions on node 1", true, []int{1, 1}, []int{4, 5, 2, 3}},
		{"no pinning", false, []int{1}, []int{2, 3, 4, 5}},
		{"functions spread", true, []int{0, 1}, []int{2, 3, 4, 5}},
		{"no functions", true, nil, []int{2, 3, 4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := configs.Default()
			cfg.Hypervisor.VCPUPinning = tc.pinning
			f := facts{cpuset: []int{2, 3, 4, 5}}
			for i, n := range tc.nodes {
				f.functions = append(f.functions, devicemgr.Assignment{BDF: "0000:3b:02." + string(rune('0'+i)), NUMANode: n})
			}
			nearCPUs(Config{Config: cfg, SysfsRoot: root}, slog.New(slog.DiscardHandler), &f)
			if !slices.Equal(f.cpuset, tc.want) {
				t.Errorf("cpuset %v, want %v", f.cpuset, tc.want)
			}
		})
	}
}
