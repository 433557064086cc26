package cgroup

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

// fakeGroup is a directory shaped like a cgroup with all controllers on.
func fakeGroup(t *testing.T, files map[string]string) *Group {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &Group{path: dir}
}

func read(t *testing.T, g *Group, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(g.path, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUpdate(t *testing.T) {
	initial := map[string]string{"cpu.weight": "100\n", "cpu.max": "max 100000\n", "cpuset.cpus": "\n", "memory.max": "max\n", "pids.max": "max\n"}
	tests := []struct {
		name string
		r    Resources
		want map[string]string
	}{
		{
			name: "everything",
			r: Resources{CPUShares: ptr[uint64](1024), CPUQuota: ptr[int64](50000), CPUPeriod: ptr[uint64](200000),
				CpusetCPUs: ptr("0-1"), Memory: ptr[int64](64 << 20), Pids: ptr[int64](100)},
			want: map[string]string{"cpu.weight": "39", "cpu.max": "50000 200000", "cpuset.cpus": "0-1", "memory.max": "67108864", "pids.max": "100"},
		},
		{
			name: "quota only keeps the period",
			r:    Resources{CPUQuota: ptr[int64](25000)},
			want: map[string]string{"cpu.weight": "100\n", "cpu.max": "25000 100000", "cpuset.cpus": "\n", "memory.max": "max\n", "pids.max": "max\n"},
		},
		{
			name: "unlimited",
			r:    Resources{CPUQuota: ptr[int64](-1), Memory: ptr[int64](-1), Pids: ptr[int64](-1)},
			want: map[string]string{"cpu.weight": "100\n", "cpu.max": "max 100000", "cpuset.cpus": "\n", "memory.max": "max", "pids.max": "max"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := fakeGroup(t, initial)
			if err := g.Update(tt.r); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for name := range initial {
				got[name] = read(t, g, name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("files mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	bad := []Resources{
		{CPUShares: ptr[uint64](1)},
		{CPUShares: ptr[uint64](262145)},
		{CPUQuota: ptr[int64](10)},
		{CPUPeriod: ptr[uint64](5)},
		{CpusetCPUs: ptr("0-1; rm -rf")},
		{Memory: ptr[int64](0)},
		{Pids: ptr[int64](-5)},
	}
	for _, r := range bad {
		if err := r.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", r, err)
		}
	}
	g := fakeGroup(t, nil)
	if err := g.Update(bad[0]); !errors.Is(err, ErrInvalid) {
		t.Errorf("Update of bad limits = %v, want ErrInvalid", err)
	}
}

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{2: 1, 1024: 39, 262144: 10000} {
		if got := SharesToWeight(shares); got != want {
			t.Errorf("SharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}

func TestStats(t *testing.T) {
	g := fakeGroup(t, map[string]string{
		"cpu.stat":       "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n",
		"memory.current": "4096\n",
		"memory.max":     "max\n",
		"pids.current":   "3\n",
		"io.stat":        "254:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n254:16 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n",
	})
	got, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{CPUUsageNS: 1500000, CPUUserNS: 1000000, CPUSystemNS: 500000, MemoryUsage: 4096,
		MemoryLimit: math.MaxUint64, IOReadBytes: 101, IOWriteBytes: 202, Pids: 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stats mismatch (-want +got):\n%s", diff)
	}
	// Without memory, pids and io controllers only cpu.stat is there.
	bare := fakeGroup(t, map[string]string{"cpu.stat": "usage_usec 7\n"})
	if got, err := bare.Stats(); err != nil || got != (Stats{CPUUsageNS: 7000}) {
		t.Errorf("bare Stats = %+v, %v", got, err)
	}
}

func TestOOMKills(t *testing.T) {
	g := fakeGroup(t, map[string]string{"memory.events": "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n"})
	if n, err := g.OOMKills(); err != nil || n != 2 {
		t.Errorf("OOMKills = %d, %v; want 2", n, err)
	}
	if n, err := fakeGroup(t, nil).OOMKills(); err != nil || n != 0 {
		t.Errorf("OOMKills without the memory controller = %d, %v; want 0", n, err)
	}
	bad := fakeGroup(t, map[string]string{"memory.events": "oom_kill lots\n"})
	if _, err := bad.OOMKills(); err == nil {
		t.Error("OOMKills of a garbled memory.events succeeded")
	}
}

// TestProcs: the group's processes and those of the groups below it (a
// container may make its own), each group's before its children's.
func TestProcs(t *testing.T) {
	g := fakeGroup(t, map[string]string{"cgroup.procs": "44\n48\n"})
	sub := filepath.Join(g.path, "app")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "cgroup.procs"), []byte("56\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := g.Procs()
	if err != nil || !slices.Equal(got, []uint32{44, 48, 56}) {
		t.Errorf("Procs = %v, %v; want [44 48 56]", got, err)
	}
	if _, err := (&Group{path: filepath.Join(g.path, "gone")}).Procs(); err == nil {
		t.Error("Procs of a group that is gone succeeded")
	}
}
