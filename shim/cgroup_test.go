package shim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/typeurl/v2"
	"github.com/kite-vm/kite/hostcgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// testCgroup makes cgroupsPath (a pod cgroup, as kubelet would) with a
// memory limit; the cgroups it is in, from its first level, go when the
// test ends.
func testCgroup(t *testing.T, cgroupsPath string, limit int64) hostcgroup.Plan {
	t.Helper()
	l, err := hostcgroup.ReadLayout()
	if err != nil {
		t.Fatal(err)
	}
	plan := func(path string, limit int64) hostcgroup.Plan {
		p, err := hostcgroup.ParsePath(path)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := hostcgroup.NewPlan(l, p, hostcgroup.Resources{MemoryBytes: limit})
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(cgroupsPath, "/"), "/")
	if strings.HasPrefix(cgroupsPath, "/") {
		first = "/" + first
	}
	top := plan(first, 0)
	t.Cleanup(func() {
		if err := hostcgroup.Remove(context.Background(), top.Paths()); err != nil {
			t.Errorf("removing the test's cgroups: %v", err)
		}
	})
	pod := plan(cgroupsPath, limit)
	if _, err := hostcgroup.Create(pod); err != nil {
		t.Fatal(err)
	}
	return pod
}

// childrenOf lists pid's live children.
func childrenOf(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		data, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		_, after, ok := strings.Cut(string(data), ") ")
		f := strings.Fields(after)
		if ok && len(f) > 1 && f[1] == strconv.Itoa(pid) && f[0] != "Z" {
			c, _ := strconv.Atoi(filepath.Base(filepath.Dir(s)))
			out = append(out, c)
		}
	}
	return out
}

// wantIn checks that each pid is in the cgroup name below pod, in every
// hierarchy.
func wantIn(t *testing.T, pod hostcgroup.Plan, name string, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if err != nil {
			t.Fatalf("process %d: %v", pid, err)
		}
		for _, d := range pod.Dirs {
			if !strings.Contains(string(data), ":"+d.Cgroup+"/"+name+"\n") {
				t.Errorf("process %d is not in %s/%s:\n%s", pid, d.Cgroup, name, data)
			}
		}
	}
}

func wantGone(t *testing.T, pod hostcgroup.Plan, name string) {
	t.Helper()
	for _, d := range pod.Dirs {
		if _, err := os.Stat(filepath.Join(d.Path, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s/%s is left: %v", d.Path, name, err)
		}
	}
}

// TestIntegrationCtrHostCgroup: the shim passes the task's cgroupsPath
// (ctr --cgroup) to the engine: the shim daemon, QEMU and virtiofsd run
// in it, and deleting the task removes it.
func TestIntegrationCtrHostCgroup(t *testing.T) {
	h := requireContainerd(t)
	// Relative: below the shim's own cgroups, which are this test's.
	podPath := fmt.Sprintf("kite-shim-test-%d/pod", os.Getpid())
	pod := testCgroup(t, podPath, 2<<30)
	before := h.snapshot(t)
	const id = "hostcg"
	h.ctr(t, "run", "-d", "--runtime", testRuntime, "--cgroup", podPath+"/"+id, "--memory-limit", strconv.Itoa(128<<20),
		testImage, id, "sleep", "1000")
	h.removeOnCleanup(t, id)
	rec := h.record(t, id)
	wantIn(t, pod, id, append([]int{rec.DaemonPid}, childrenOf(rec.DaemonPid)...)...)
	if n := len(childrenOf(rec.DaemonPid)); n < 2 {
		t.Errorf("the shim daemon has %d children, want QEMU and virtiofsd", n)
	}
	h.ctr(t, "task", "kill", "-s", "SIGKILL", id)
	h.waitStopped(t, id)
	h.ctr(t, "task", "delete", id)
	h.ctr(t, "container", "delete", id)
	h.checkClean(t, before)
	wantGone(t, pod, id)
}

// TestIntegrationCRIHostCgroupStats: a CRI pod whose cgroup parent is a
// pod cgroup: the sandbox's host cgroup is below it, and the pause task's
// stats from the shim (the host cgroup) agree with the pod stats
// containerd reads of the pod cgroup for kubelet: its CPU time lies
// between two of the shim's reads around it.
func TestIntegrationCRIHostCgroupStats(t *testing.T) {
	rels := requireReleases(t)
	h := startCRIHarness(t, rels[0], criNet{bridge: "kitecg0", subnet: "10.88.79.0/24"})
	// Absolute: containerd reads a pod's stats at its cgroup parent as an
	// absolute path in every hierarchy.
	parent := fmt.Sprintf("/kite-shim-cri-%d", os.Getpid())
	pod := testCgroup(t, parent, 2<<30)
	conn, err := grpc.NewClient("unix://"+h.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rt := cri.NewRuntimeServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	podCfg := &cri.PodSandboxConfig{
		Metadata: &cri.PodSandboxMetadata{Name: "cg", Uid: "uid-cg", Namespace: "default"},
		Linux:    &cri.LinuxPodSandboxConfig{CgroupParent: parent},
	}
	r, err := rt.RunPodSandbox(ctx, &cri.RunPodSandboxRequest{Config: podCfg, RuntimeHandler: "kite"})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v\n%s", err, h.Logs())
	}
	podID := r.GetPodSandboxId()
	defer func() {
		rt.StopPodSandbox(context.Background(), &cri.StopPodSandboxRequest{PodSandboxId: podID})
		rt.RemovePodSandbox(context.Background(), &cri.RemovePodSandboxRequest{PodSandboxId: podID})
	}()
	rec := h.record(t, podID)
	wantIn(t, pod, podID, append([]int{rec.DaemonPid}, childrenOf(rec.DaemonPid)...)...)
	shim := h.shimClient(t, podID)
	shimStats := func() *v2.Metrics {
		t.Helper()
		s, err := shim.Stats(ctx, &taskAPI.StatsRequest{ID: podID})
		if err != nil {
			t.Fatal(err)
		}
		v, err := typeurl.UnmarshalAny(s.GetStats())
		if err != nil {
			t.Fatal(err)
		}
		m, ok := v.(*v2.Metrics)
		if !ok {
			t.Fatalf("stats of type %T", v)
		}
		return m
	}
	a := shimStats()
	ps, err := rt.PodSandboxStats(ctx, &cri.PodSandboxStatsRequest{PodSandboxId: podID})
	if err != nil {
		t.Fatalf("PodSandboxStats: %v", err)
	}
	c := shimStats()
	lin := ps.GetStats().GetLinux()
	cpu, ws := lin.GetCpu().GetUsageCoreNanoSeconds().GetValue(), lin.GetMemory().GetWorkingSetBytes().GetValue()
	t.Logf("shim: CPU %d µs, memory %d (limit %d); containerd's pod stats: CPU %d ns, working set %d",
		a.GetCPU().GetUsageUsec(), a.GetMemory().GetUsage(), a.GetMemory().GetUsageLimit(), cpu, ws)
	if cpu < a.GetCPU().GetUsageUsec()*1000 || cpu > (c.GetCPU().GetUsageUsec()+1)*1000 {
		t.Errorf("containerd's pod CPU %d ns is not between the shim's %d and %d µs", cpu, a.GetCPU().GetUsageUsec(), c.GetCPU().GetUsageUsec())
	}
	if a.GetMemory().GetUsageLimit() == 0 || a.GetMemory().GetUsage() == 0 || ws == 0 {
		t.Errorf("shim memory %+v, containerd's working set %d: want the VM's", a.GetMemory(), ws)
	}
	if _, err := rt.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Errorf("StopPodSandbox: %v", err)
	}
	if _, err := rt.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Errorf("RemovePodSandbox: %v", err)
	}
	wantGone(t, pod, podID)
}
