package hostcgroup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeV2 builds a cgroup v2 tree under a temp dir, as the kernel shows
// one: each cgroup a directory with the files given (name=content), and
// returns the layout of a host with it mounted at its root.
func fakeV2(t *testing.T, cgroups map[string]map[string]string) (Layout, string) {
	t.Helper()
	root := t.TempDir()
	for cg, files := range cgroups {
		dir := filepath.Join(root, cg)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	h := Hierarchy{Version: V2, Controllers: []string{"cpu", "cpuset", "io", "memory", "pids"}, Mount: root, Root: "/", Own: "/"}
	return Layout{Hierarchies: []Hierarchy{h}}, root
}

// leafFiles are a v2 cgroup's files Kite writes or reads.
func leafFiles() map[string]string {
	return map[string]string{"cgroup.procs": "", "cpu.max": "max 100000", "cpu.weight": "100", "cpuset.cpus": "", "cpuset.mems": "",
		"memory.max": "max", "memory.current": "1048576", "memory.stat": "anon 4096\ninactive_file 8192\n",
		"cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n", "pids.current": "3"}
}

func readBack(t *testing.T, dir, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// On cgroup v2, Create passes the controllers down from the root to the
// sandbox's parent (only those missing), writes the limits, and Set
// rewrites them whole; the limit above and the stats read back.
func TestCreateV2(t *testing.T) {
	l, root := fakeV2(t, map[string]map[string]string{
		"/":                 {"cgroup.subtree_control": "cpu io memory pids cpuset"},
		"/kubepods":         {"cgroup.subtree_control": "", "memory.max": "max"},
		"/kubepods/pod1":    {"cgroup.subtree_control": "memory", "memory.max": "536870912"},
		"/kubepods/pod1/sb": leafFiles(),
	})
	p, _ := ParsePath("/kubepods/pod1/sb")
	plan, err := NewPlan(l, p, Resources{CPUShares: 2048, CPUQuota: 150000, CPUs: "1", MemoryBytes: 400 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(plan); err != nil {
		t.Fatal(err)
	}
	lim, err := MemoryLimitAbove(plan)
	if err != nil {
		t.Fatal(err)
	}
	if lim != (Limit{Bytes: 512 << 20, Cgroup: "/kubepods/pod1", File: "memory.max"}) {
		t.Errorf("limit above: %+v", lim)
	}
	c, err := Create(plan)
	if err != nil {
		t.Fatal(err)
	}
	leaf := filepath.Join(root, "kubepods/pod1/sb")
	for _, w := range []struct{ dir, file, want string }{
		{root, "cgroup.subtree_control", "cpu io memory pids cpuset"}, // had them all: not written
		{filepath.Join(root, "kubepods"), "cgroup.subtree_control", "+cpu +cpuset +memory +pids"},
		{filepath.Join(root, "kubepods/pod1"), "cgroup.subtree_control", "+cpu +cpuset +pids"}, // had memory
		{leaf, "cpu.max", "150000 100000"},
		{leaf, "cpu.weight", "79"},
		{leaf, "cpuset.cpus", "1"},
		{leaf, "memory.max", "419430400"},
	} {
		if got := readBack(t, w.dir, w.file); got != w.want {
			t.Errorf("%s = %q, want %q", filepath.Join(w.dir, w.file), got, w.want)
		}
	}
	if err := c.Set(Resources{MemoryBytes: 300 << 20}); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"cpu.max": "max 100000", "cpu.weight": "100", "cpuset.cpus": "", "memory.max": "314572800"} {
		if got := readBack(t, leaf, file); got != want {
			t.Errorf("after Set, %s = %q, want %q", file, got, want)
		}
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{MemoryUsageBytes: 1 << 20, MemoryLimitBytes: 300 << 20, MemoryWorkingSetBytes: 1<<20 - 8192,
		CPUUsageNs: 1500000, CPUUserNs: 1000000, CPUSystemNs: 500000, Pids: 3}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

// A cgroup that exists with processes in it is another container's.
func TestCheckBusy(t *testing.T) {
	files := leafFiles()
	files["cgroup.procs"] = "4242\n"
	l, _ := fakeV2(t, map[string]map[string]string{"/": {"cgroup.subtree_control": ""}, "/pod/sb": files})
	p, _ := ParsePath("/pod/sb")
	plan, err := NewPlan(l, p, Resources{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(plan); err == nil || !strings.Contains(err.Error(), "4242") {
		t.Errorf("Check of a busy cgroup: %v, want ErrBusy naming the process", err)
	}
}
