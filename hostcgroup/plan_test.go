package hostcgroup

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWeight(t *testing.T) {
	// runc's conversion (libcontainer/cgroups.ConvertCPUSharesToCgroupV2Value).
	for shares, want := range map[uint64]uint64{0: 100, 2: 1, 1024: 39, 2048: 79, 262144: 10000} {
		if got := Weight(shares); got != want {
			t.Errorf("Weight(%d) = %d, want %d", shares, got, want)
		}
	}
}

func TestWrites(t *testing.T) {
	r := Resources{CPUShares: 512, CPUQuota: 50000, CPUPeriod: 200000, CPUs: "0-1", MemoryBytes: 1 << 30}
	cpu := Hierarchy{Version: V1, Controllers: []string{"cpu", "cpuacct"}}
	if diff := cmp.Diff([]write{
		{file: "cpu.cfs_quota_us", value: "-1"}, {file: "cpu.cfs_period_us", value: "200000"},
		{file: "cpu.cfs_quota_us", value: "50000"}, {file: "cpu.shares", value: "512"},
	}, writes(cpu, r), cmp.AllowUnexported(write{})); diff != "" {
		t.Errorf("v1 cpu (-want +got):\n%s", diff)
	}
	// Unset limits go back to the defaults, so an update that drops one
	// takes it away.
	if diff := cmp.Diff([]write{
		{file: "cpu.cfs_quota_us", value: "-1"}, {file: "cpu.cfs_period_us", value: "100000"},
		{file: "cpu.cfs_quota_us", value: "-1"}, {file: "cpu.shares", value: "1024"},
	}, writes(cpu, Resources{}), cmp.AllowUnexported(write{})); diff != "" {
		t.Errorf("v1 cpu, unset (-want +got):\n%s", diff)
	}
	cpuset := Hierarchy{Version: V1, Controllers: []string{"cpuset"}}
	if diff := cmp.Diff([]write{{file: "cpuset.cpus", value: "0-1"}, {file: "cpuset.mems", fromParent: true}},
		writes(cpuset, r), cmp.AllowUnexported(write{})); diff != "" {
		t.Errorf("v1 cpuset (-want +got):\n%s", diff)
	}
	mem := Hierarchy{Version: V1, Controllers: []string{"memory"}}
	if diff := cmp.Diff([]write{{file: "memory.limit_in_bytes", value: "1073741824"}}, writes(mem, r), cmp.AllowUnexported(write{})); diff != "" {
		t.Errorf("v1 memory (-want +got):\n%s", diff)
	}
	for _, h := range []Hierarchy{{Version: V1, Controllers: []string{"pids"}}, {Version: V1, Controllers: []string{"name=systemd"}}, {Version: V2}} {
		if w := writes(h, r); len(w) != 0 {
			t.Errorf("%s: writes %v, want none", h.Name(), w)
		}
	}
	v2 := Hierarchy{Version: V2, Controllers: []string{"cpu", "cpuset", "io", "memory", "pids"}}
	if diff := cmp.Diff([]write{
		{file: "cpu.max", value: "50000 200000"}, {file: "cpu.weight", value: "20"},
		{file: "cpuset.cpus", value: "0-1"}, {file: "cpuset.mems", value: ""},
		{file: "memory.max", value: "1073741824"},
	}, writes(v2, r), cmp.AllowUnexported(write{})); diff != "" {
		t.Errorf("v2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]write{
		{file: "cpu.max", value: "max 100000"}, {file: "cpu.weight", value: "100"},
		{file: "cpuset.cpus", value: ""}, {file: "cpuset.mems", value: ""}, {file: "memory.max", value: "max"},
	}, writes(v2, Resources{}), cmp.AllowUnexported(write{})); diff != "" {
		t.Errorf("v2, unset (-want +got):\n%s", diff)
	}
}

func TestResourcesValidate(t *testing.T) {
	for _, r := range []Resources{
		{CPUShares: 1}, {CPUShares: 262145}, {CPUPeriod: 999}, {CPUPeriod: 1000001}, {CPUQuota: 999}, {CPUQuota: -5},
		{MemoryBytes: -1}, {CPUs: "0-"}, {CPUs: "3-1"}, {Mems: "a"}, {CPUs: "0,,1"},
	} {
		if err := r.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", r, err)
		}
	}
	if err := (Resources{CPUShares: 2, CPUQuota: 1000, CPUPeriod: 1000000, CPUs: "0-3,6", Mems: "0", MemoryBytes: 1}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestNewPlanHybrid(t *testing.T) {
	l, err := parseLayout(t, hybridMountinfo, hybridProcCgroup)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := ParsePath("/kubepods/besteffort/pod1/sb")
	p, err := NewPlan(l, abs, Resources{MemoryBytes: 1 << 28})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/sys/fs/cgroup/cpu/kubepods/besteffort/pod1/sb", "/sys/fs/cgroup/cpuacct/kubepods/besteffort/pod1/sb",
		"/sys/fs/cgroup/cpuset/kubepods/besteffort/pod1/sb", "/sys/fs/cgroup/memory/kubepods/besteffort/pod1/sb",
		"/sys/fs/cgroup/devices/kubepods/besteffort/pod1/sb", "/sys/fs/cgroup/pids/kubepods/besteffort/pod1/sb",
		"/sys/fs/cgroup/systemd/kubepods/besteffort/pod1/sb", "/sys/fs/cgroup/unified/kubepods/besteffort/pod1/sb"}
	if diff := cmp.Diff(want, p.Paths()); diff != "" {
		t.Errorf("absolute (-want +got):\n%s", diff)
	}
	// A relative path is below the caller's cgroup in each hierarchy.
	rel, _ := ParsePath("pods/sb")
	if p, err = NewPlan(l, rel, Resources{}); err != nil {
		t.Fatal(err)
	}
	if got := p.Dirs[3]; got.Cgroup != "/process_api/a779/pods/sb" || got.Path != "/sys/fs/cgroup/memory/process_api/a779/pods/sb" {
		t.Errorf("relative, memory: %+v", got)
	}
	if got := p.Dirs[0]; got.Cgroup != "/pods/sb" || got.Path != "/sys/fs/cgroup/cpu/pods/sb" {
		t.Errorf("relative, cpu: %+v", got)
	}
	// The unified hierarchy has no controllers here: nothing to enable.
	for _, d := range p.Dirs {
		if e := d.enables(); len(e) != 0 {
			t.Errorf("%s: enables %v on a hybrid host", d.Path, e)
		}
	}
}

func TestNewPlanRefusesWhatTheHostCannotDo(t *testing.T) {
	// cgroup v2 whose root offers no memory controller.
	l := Layout{Hierarchies: []Hierarchy{{Version: V2, Controllers: []string{"cpu", "pids"}, Mount: "/sys/fs/cgroup", Root: "/", Own: "/"}}}
	p, _ := ParsePath("/pod/sb")
	if _, err := NewPlan(l, p, Resources{MemoryBytes: 1 << 28}); !errors.Is(err, ErrHost) {
		t.Errorf("a memory limit without the memory controller: %v, want ErrHost", err)
	}
	if _, err := NewPlan(l, p, Resources{CPUQuota: 50000}); err != nil {
		t.Errorf("a CPU quota with the cpu controller: %v", err)
	}
	if _, err := NewPlan(l, p, Resources{CPUs: "0"}); !errors.Is(err, ErrHost) {
		t.Errorf("a cpuset without the cpuset controller: %v, want ErrHost", err)
	}
	// A subtree mount that does not reach the cgroup.
	l = Layout{Hierarchies: []Hierarchy{{Version: V1, Controllers: []string{"memory"}, Mount: "/sys/fs/cgroup/memory", Root: "/kubepods", Own: "/kubepods"}}}
	if _, err := NewPlan(l, p, Resources{}); !errors.Is(err, ErrHost) {
		t.Errorf("a cgroup outside the mount: %v, want ErrHost", err)
	}
}

func TestEnablesV2(t *testing.T) {
	h := Hierarchy{Version: V2, Controllers: []string{"cpu", "io", "memory", "pids"}, Mount: "/sys/fs/cgroup", Root: "/", Own: "/"}
	d := Dir{Hierarchy: h, Cgroup: "/kubepods/pod1/sb", Path: "/sys/fs/cgroup/kubepods/pod1/sb"}
	ctrls := []string{"cpu", "memory", "pids"}
	want := []enable{{dir: "/sys/fs/cgroup", controllers: ctrls}, {dir: "/sys/fs/cgroup/kubepods", controllers: ctrls},
		{dir: "/sys/fs/cgroup/kubepods/pod1", controllers: ctrls}}
	if diff := cmp.Diff(want, d.enables(), cmp.AllowUnexported(enable{})); diff != "" {
		t.Errorf("enables (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/sys/fs/cgroup", "/sys/fs/cgroup/kubepods", "/sys/fs/cgroup/kubepods/pod1", "/sys/fs/cgroup/kubepods/pod1/sb"}, d.levels()); diff != "" {
		t.Errorf("levels (-want +got):\n%s", diff)
	}
	// A mount of a subtree starts there.
	h.Root, h.Mount = "/kubepods", "/cg"
	d = Dir{Hierarchy: h, Cgroup: "/kubepods/pod1/sb", Path: "/cg/pod1/sb"}
	if diff := cmp.Diff([]string{"/cg", "/cg/pod1", "/cg/pod1/sb"}, d.levels()); diff != "" {
		t.Errorf("levels of a subtree mount (-want +got):\n%s", diff)
	}
}
