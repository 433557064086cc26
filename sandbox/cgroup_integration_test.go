package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/hostcgroup"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vm"
)

// What the engine adds to QEMU's memory for a sandbox with a virtiofsd:
// the bounds docs/containerd.md gives for virtiofsd and the per-sandbox
// process.
const sandboxExtraMiB = 16 + 48

// testPod is kubelet's pod cgroup, as a test makes it.
type testPod struct {
	path string // its cgroups path
	hostcgroup.Plan
	// sb is the plan of the sandbox cgroup "sb" below it.
	sb hostcgroup.Plan
}

// podCgroup stands for kubelet: a pod cgroup, relative to the test's own
// cgroups (so the test's processes stay below them), with a memory limit
// (0: none); it and what is below it go when the test ends.
func podCgroup(t *testing.T, limit int64) testPod {
	t.Helper()
	l, err := hostcgroup.ReadLayout()
	if err != nil {
		t.Fatal(err)
	}
	top := fmt.Sprintf("kite-sandbox-test-%d-%s", os.Getpid(), t.Name())
	plan := func(p string, r hostcgroup.Resources) hostcgroup.Plan {
		path, err := hostcgroup.ParsePath(p)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := hostcgroup.NewPlan(l, path, r)
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	topPlan := plan(top, hostcgroup.Resources{})
	t.Cleanup(func() {
		if err := hostcgroup.Remove(context.Background(), topPlan.Paths()); err != nil {
			t.Errorf("removing the test's cgroups: %v", err)
		}
	})
	pod := testPod{path: top + "/pod", Plan: plan(top+"/pod", hostcgroup.Resources{MemoryBytes: limit}), sb: plan(top+"/pod/sb", hostcgroup.Resources{})}
	if _, err := hostcgroup.Create(pod.Plan); err != nil {
		t.Fatal(err)
	}
	return pod
}

// cgroup1Path is the pod's cgroup for containerd's cgroup1 library.
func (p testPod) cgroup1Path(name cgroup1.Name) (string, error) {
	for _, d := range p.Dirs {
		if d.Hierarchy.Version == hostcgroup.V1 && d.Hierarchy.Has(string(name)) {
			return d.Cgroup, nil
		}
	}
	return "", cgroup1.ErrControllerNotActive
}

// withCgroup gives c a cgroups path and limits.
func withCgroup(c *spec.Container, path string, r *spec.Resources) *spec.Container {
	c.CgroupsPath, c.Resources = path, r
	return c
}

// createOwned creates a sandbox as a front end does: this process serves
// it, and joins its host cgroup.
func createOwned(t *testing.T, cfg *configs.Config, host *vm.Host, id string, first *spec.Container) (pod, error) {
	t.Helper()
	dir := filepath.Join(shortTempDir(t), id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg.Runtime.Root = filepath.Dir(dir)
	sb, err := sandbox.Create(testContext(t), sandbox.Config{ID: id, Dir: dir, Config: cfg, Host: host, JoinCgroup: true}, first)
	if err != nil {
		return pod{dir: dir}, err
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console:\n%s", sb.Machine().Process().ConsoleTail(8192))
		}
		sb.Stop()
	})
	return pod{Sandbox: sb, dir: dir}, nil
}

// cgroupOf is the cgroup pid is in, per hierarchy ("" for cgroup2).
func cgroupOf(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for line := range strings.Lines(string(data)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) == 3 {
			ctrls := strings.Split(parts[1], ",")
			slices.Sort(ctrls)
			out[strings.Join(ctrls, ",")] = parts[2]
		}
	}
	return out
}

// hierarchyKey is how /proc/<pid>/cgroup names a hierarchy.
func hierarchyKey(h hostcgroup.Hierarchy) string {
	if h.Version == hostcgroup.V2 {
		return ""
	}
	return strings.Join(h.Controllers, ",")
}

func readCgroupFile(t *testing.T, dir, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// cgroupFile reads file in the sandbox cgroup's directory that has it.
func cgroupFile(t *testing.T, sb hostcgroup.Plan, file string) string {
	t.Helper()
	for _, d := range sb.Dirs {
		if _, err := os.Stat(filepath.Join(d.Path, file)); err == nil {
			return readCgroupFile(t, d.Path, file)
		}
	}
	t.Fatalf("no hierarchy of the sandbox's cgroup has %s", file)
	return ""
}

// TestIntegrationHostCgroup: a sandbox whose first container names a
// cgroups path below a pod cgroup (kubelet's, here the test's) runs QEMU,
// virtiofsd and its own process in it in every hierarchy, with the VM's
// memory need as its limit (the guest sized from the container's limit)
// and the containers' CPU limits summed as containers come, change and go;
// its host stats agree with the pod cgroup as containerd reads it; Stop
// takes this process back where it was and removes the cgroup.
func TestIntegrationHostCgroup(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.SharedFS.Driver = configs.FSVirtioFS
	tp := podCgroup(t, 2<<30)
	sb := tp.sb
	before := cgroupOf(t, os.Getpid())
	rootfs := vmtest.BusyboxRootfs(t)
	u64 := func(v uint64) *uint64 { return &v }
	i64 := func(v int64) *int64 { return &v }
	first := withCgroup(container(t, "c1", rootfs, "sleep 1000", nil), tp.path+"/sb",
		&spec.Resources{CPUQuota: i64(200000), CPUPeriod: u64(100000), CPUShares: u64(512), MemoryLimit: i64(128 << 20)})
	p, err := createOwned(t, cfg, host, "hostcg", first)
	if err != nil {
		t.Fatal(err)
	}
	plan := p.Machine().Plan()
	if plan.Memory.PodMiB != 128 || plan.QEMU.Memory.SizeMiB != 128+plan.Memory.OverheadMiB {
		t.Errorf("guest RAM %d MiB (%+v), want sized from the container's 128 MiB", plan.QEMU.Memory.SizeMiB, plan.Memory)
	}
	vmProcs := append([]int{os.Getpid()}, p.Pids()...)
	if len(vmProcs) < 3 {
		t.Fatalf("pids %v: want this process, QEMU and virtiofsd", vmProcs)
	}
	for _, pid := range vmProcs {
		in := cgroupOf(t, pid)
		for _, d := range sb.Dirs {
			if got := in[hierarchyKey(d.Hierarchy)]; got != d.Cgroup {
				t.Errorf("process %d is in %s in the %s hierarchy, want %s", pid, got, d.Hierarchy.Name(), d.Cgroup)
			}
		}
	}
	need := int64(plan.HostMemory().Total()+sandboxExtraMiB) << 20
	if got := cgroupFile(t, sb, "memory.limit_in_bytes"); got != strconv.FormatInt(need, 10) {
		t.Errorf("memory.limit_in_bytes %s, want the VM's need %d", got, need)
	}
	wantCPU := func(quota, shares string) {
		t.Helper()
		if q, s := cgroupFile(t, sb, "cpu.cfs_quota_us"), cgroupFile(t, sb, "cpu.shares"); q != quota || s != shares {
			t.Errorf("cpu.cfs_quota_us %s, cpu.shares %s; want %s, %s", q, s, quota, shares)
		}
	}
	wantCPU("200000", "512")

	ctx := testContext(t)
	c1, err := p.CreateContainer(ctx, first, sandbox.IO{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wantCPU("200000", "512")
	second := container(t, "c2", rootfs, "sleep 1000", nil)
	second.Resources = &spec.Resources{CPUQuota: i64(50000), CPUShares: u64(256)}
	if _, err := p.CreateContainer(ctx, second, sandbox.IO{}); err != nil {
		t.Fatal(err)
	}
	wantCPU("250000", "768")
	if err := c1.Update(ctx, &spec.Resources{CPUQuota: i64(100000)}); err != nil {
		t.Fatal(err)
	}
	wantCPU("150000", "768")
	if err := p.RemoveContainer(ctx, "c2"); err != nil {
		t.Fatal(err)
	}
	wantCPU("100000", "512")

	// Host stats: this sandbox's cgroup is all the pod cgroup holds, so the
	// CPU time containerd reads of the pod (the CRI plugin's pod stats)
	// lies between two of the engine's reads around it.
	a, err := p.HostStats()
	if err != nil {
		t.Fatal(err)
	}
	pod, err := cgroup1.Load(tp.cgroup1Path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := pod.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.HostStats()
	if err != nil {
		t.Fatal(err)
	}
	podCPU := m.GetCPU().GetUsage().GetTotal()
	t.Logf("host stats %+v; the pod as containerd reads it: memory %d, CPU %d ns", a, m.GetMemory().GetUsage().GetUsage(), podCPU)
	if podCPU < a.CPUUsageNs || podCPU > b.CPUUsageNs {
		t.Errorf("containerd reads %d ns of CPU for the pod, the sandbox's cgroup %d then %d", podCPU, a.CPUUsageNs, b.CPUUsageNs)
	}
	if a.MemoryLimitBytes != uint64(need) || a.MemoryUsageBytes < uint64(plan.QEMU.Memory.SizeMiB)<<20/8 || a.Pids < 3 {
		t.Errorf("host stats %+v: want the %d limit, the guest's memory, the VM's tasks", a, need)
	}

	stopAndCheck(t, p)
	if after := cgroupOf(t, os.Getpid()); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("after Stop this process is in %v, was in %v", after, before)
	}
	for _, d := range sb.Dirs {
		if _, err := os.Stat(d.Path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the sandbox's cgroup %s is left: %v", d.Path, err)
		}
	}
}

// TestIntegrationHostCgroupTooSmall: a pod cgroup whose memory limit is
// below what the VM needs fails the create, naming the cgroup, the limit,
// the need and what to change, before the VM boots, and leaves no cgroup.
func TestIntegrationHostCgroupTooSmall(t *testing.T) {
	cfg, host := integrationConfig(t)
	pod := podCgroup(t, 300<<20)
	i64 := func(v int64) *int64 { return &v }
	c := withCgroup(container(t, "c1", vmtest.BusyboxRootfs(t), "true", nil), pod.path+"/sb", &spec.Resources{MemoryLimit: i64(256 << 20)})
	p, err := createOwned(t, cfg, host, "toosmall", c)
	if sandbox.Classify(err) != sandbox.ErrFailedPrecondition {
		t.Fatalf("Create under a 300 MiB pod: %v, want a failed precondition", err)
	}
	memDir := pod.Dirs[0]
	for _, d := range pod.Dirs {
		if d.Hierarchy.Has("memory") {
			memDir = d
		}
	}
	for _, w := range []string{memDir.Cgroup, "limits memory to 300 MiB", "the sandbox's VM needs", "guest RAM", "RuntimeClass overhead.podFixed"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error lacks %q: %v", w, err)
		}
	}
	t.Logf("refused: %v", err)
	wantNothingLeft(t, p.dir)
	for _, d := range pod.Dirs {
		if _, err := os.Stat(filepath.Join(d.Path, "sb")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a sandbox cgroup was made in %s: %v", d.Path, err)
		}
	}
}

// TestIntegrationHostCgroupBootFails: when the boot fails after the
// sandbox joined its cgroup, the failed create takes this process back
// and removes the cgroup.
func TestIntegrationHostCgroupBootFails(t *testing.T) {
	cfg, host := integrationConfig(t)
	scripts := shortTempDir(t)
	os.Chmod(scripts, 0o755) // QEMU may run as hypervisor.user
	qemuScript := filepath.Join(scripts, "qemu")
	os.WriteFile(qemuScript, []byte("#!/bin/sh\necho \"qemu: cannot start\" >&2; exit 1\n"), 0o755)
	cfg.Hypervisor.Path = qemuScript
	pod := podCgroup(t, 0)
	before := cgroupOf(t, os.Getpid())
	c := withCgroup(container(t, "c1", vmtest.BusyboxRootfs(t), "true", nil), pod.path+"/sb", nil)
	p, err := createOwned(t, cfg, host, "cgbootfail", c)
	wantBootFailed(t, err, vm.StepQEMU, "qemu: cannot start")
	wantNothingLeft(t, p.dir)
	if after := cgroupOf(t, os.Getpid()); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("after the failed create this process is in %v, was in %v", after, before)
	}
	for _, d := range pod.Dirs {
		if _, err := os.Stat(filepath.Join(d.Path, "sb")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the sandbox's cgroup is left in %s: %v", d.Path, err)
		}
	}
}

// A process that does not serve the sandbox alone cannot place it.
func TestIntegrationHostCgroupNeedsItsOwnProcess(t *testing.T) {
	cfg, host := integrationConfig(t)
	c := withCgroup(container(t, "c1", vmtest.BusyboxRootfs(t), "true", nil), "kite-never/sb", nil)
	dir := t.TempDir()
	_, err := sandbox.Create(testContext(t), sandbox.Config{ID: "shared", Dir: dir, Config: cfg, Host: host}, c)
	if sandbox.Classify(err) != sandbox.ErrUnsupported || !strings.Contains(err.Error(), "JoinCgroup") {
		t.Errorf("Create with a cgroups path in a shared process: %v, want ErrUnsupported", err)
	}
	wantNothingLeft(t, dir)
}
