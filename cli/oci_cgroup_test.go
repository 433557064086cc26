package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/kite-vm/kite/hostcgroup"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cgroupDirs lists the host cgroups the env's bundles name
// (linux.cgroupsPath, resolved as the sandbox process resolves it: it
// runs in this process's cgroups) that exist: what the audit counts.
func (e *ociEnv) cgroupDirs() []string {
	e.t.Helper()
	l, err := hostcgroup.ReadLayout()
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, d := range e.dirs {
		data, err := os.ReadFile(filepath.Join(d, "config.json"))
		if err != nil {
			continue // a rootfs
		}
		var s specs.Spec
		if err := json.Unmarshal(data, &s); err != nil || s.Linux == nil || s.Linux.CgroupsPath == "" {
			continue
		}
		p, err := hostcgroup.ParsePath(s.Linux.CgroupsPath)
		if err != nil {
			continue
		}
		plan, err := hostcgroup.NewPlan(l, p, hostcgroup.Resources{})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, dir := range plan.Paths() {
			if _, err := os.Stat(dir); err == nil {
				out = append(out, dir)
			}
		}
	}
	slices.Sort(out)
	return out
}

// testPodCgroup makes a pod cgroup for the test, as kubelet would, below
// this process's cgroups, with a memory limit (0: none), and returns its
// cgroups path; it goes, with what is below it, when the test ends.
func testPodCgroup(t *testing.T, name string, limit int64) (string, hostcgroup.Plan) {
	t.Helper()
	l, err := hostcgroup.ReadLayout()
	if err != nil {
		t.Fatal(err)
	}
	top := fmt.Sprintf("kite-cli-test-%d-%s", os.Getpid(), name)
	mk := func(path string, r hostcgroup.Resources) hostcgroup.Plan {
		p, err := hostcgroup.ParsePath(path)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := hostcgroup.NewPlan(l, p, r)
		if err != nil {
			t.Fatal(err)
		}
		return plan
	}
	topPlan := mk(top, hostcgroup.Resources{})
	t.Cleanup(func() {
		if err := hostcgroup.Remove(context.Background(), topPlan.Paths()); err != nil {
			t.Errorf("removing the test's cgroups: %v", err)
		}
	})
	pod := mk(top+"/pod", hostcgroup.Resources{MemoryBytes: limit})
	if _, err := hostcgroup.Create(pod); err != nil {
		t.Fatal(err)
	}
	return top + "/pod", pod
}

// inCgroup checks that each pid is in the cgroup below pod named name, in
// every hierarchy.
func inCgroup(t *testing.T, pod hostcgroup.Plan, name string, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if err != nil {
			t.Fatalf("process %d: %v", pid, err)
		}
		for _, d := range pod.Dirs {
			if want := ":" + d.Cgroup + "/" + name + "\n"; !strings.Contains(string(data), want) {
				t.Errorf("process %d is not in %s/%s (%s hierarchy):\n%s", pid, d.Cgroup, name, d.Hierarchy.Name(), data)
			}
		}
	}
}

// TestIntegrationOCIHostCgroup: `kite create` with a linux.cgroupsPath
// puts the sandbox process, QEMU and virtiofsd in it, with the VM's memory
// need and the container's CPU quota as its limits; delete removes it; so
// does a delete after the sandbox process was killed (the engine's
// Cleanup); a pod cgroup whose memory limit is below the VM's need fails
// create with the numbers. None leaves a cgroup, process, mount or file.
func TestIntegrationOCIHostCgroup(t *testing.T) {
	e := newOCIEnv(t, "")
	podPath, pod := testPodCgroup(t, "ok", 2<<30)
	limit, quota, period := int64(128<<20), int64(100000), uint64(100000)
	bundle := func(id string, path string) string {
		return e.bundle([]string{"sleep", "1000"}, func(s *specs.Spec) {
			s.Linux.CgroupsPath = path + "/" + id
			s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit},
				CPU: &specs.LinuxCPU{Quota: &quota, Period: &period}}
		})
	}
	c1, c2 := bundle("c1", podPath), bundle("c2", podPath)
	before := e.snapshot()

	e.mustKite("create", "--bundle", c1, "c1")
	rec := e.recorded("c1")
	inCgroup(t, pod, "c1", append([]int{rec.Pid, rec.QEMUPid}, rec.VirtiofsdPids...)...)
	for _, d := range pod.Dirs {
		dir := filepath.Join(d.Path, "c1")
		if d.Hierarchy.Has("cpu") && d.Hierarchy.Version == hostcgroup.V1 {
			if q := readTrim(t, filepath.Join(dir, "cpu.cfs_quota_us")); q != "100000" {
				t.Errorf("cpu.cfs_quota_us %s, want the container's 100000", q)
			}
		}
		if d.Hierarchy.Has("memory") && d.Hierarchy.Version == hostcgroup.V1 {
			t.Logf("the sandbox's memory limit: %s bytes", readTrim(t, filepath.Join(dir, "memory.limit_in_bytes")))
		}
	}
	e.mustKite("start", "c1")
	e.mustKite("delete", "--force", "c1")
	e.audit(before, "create, start, delete --force")

	// The sandbox process killed: delete cleans up after it, cgroup too.
	e.mustKite("create", "--bundle", c2, "c2")
	rec = e.recorded("c2")
	inCgroup(t, pod, "c2", rec.Pid, rec.QEMUPid)
	if err := syscall.Kill(rec.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("c2", specs.StateStopped)
	e.mustKite("delete", "c2")
	e.audit(before, "a delete after the sandbox process was killed")

	// A pod cgroup too small for the VM.
	small, smallPod := testPodCgroup(t, "small", 300<<20)
	b3 := bundle("c3", small)
	before = e.snapshot()
	code, _, errOut := e.kite("create", "--bundle", b3, "c3")
	mem := smallPod.Dirs[slices.IndexFunc(smallPod.Dirs, func(d hostcgroup.Dir) bool { return d.Hierarchy.Has("memory") })]
	for _, w := range []string{mem.Cgroup, "limits memory to 300 MiB", "needs", "overhead.podFixed"} {
		if code == 0 || !strings.Contains(errOut, w) {
			t.Errorf("create under a 300 MiB pod: exit %d, %q; want a failure saying %q", code, errOut, w)
		}
	}
	e.audit(before, "a create refused for its pod's memory limit")
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}
