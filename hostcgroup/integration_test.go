package hostcgroup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// hogEnv makes the test binary a process that, once told on stdin (after
// the test moved it into a cgroup), allocates and touches the MiB it says
// and sleeps.
const hogEnv = "KITE_HOSTCGROUP_TEST_HOG"

func TestMain(m *testing.M) {
	if mib := os.Getenv(hogEnv); mib != "" {
		n, _ := strconv.Atoi(mib)
		bufio.NewReader(os.Stdin).ReadString('\n')
		b := make([]byte, n<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		fmt.Println("ready")
		time.Sleep(time.Minute)
		runtime.KeepAlive(b)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startHog starts a hog of mib MiB, moves it into c and lets it allocate.
func startHog(t *testing.T, c *Cgroup, mib int) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), hogEnv+"="+strconv.Itoa(mib))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	if err := c.Join(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in)
	line, err := bufio.NewReader(out).ReadString('\n')
	go func() { cmd.Wait(); close(exited) }()
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("hog: %q, %v", line, err)
	}
	return cmd
}

// testCgroup is a cgroup path of the test's own, relative (below the test
// process's cgroups), removed when the test ends with what is under it.
func testCgroup(t *testing.T, l Layout) string {
	t.Helper()
	name := fmt.Sprintf("kite-hostcgroup-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"))
	p, err := ParsePath(name)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(l, p, Resources{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Remove(context.Background(), plan.Paths()); err != nil {
			t.Errorf("removing the test's cgroups: %v", err)
		}
	})
	return name
}

func newPlan(t *testing.T, l Layout, cgroupsPath string, r Resources) Plan {
	t.Helper()
	p, err := ParsePath(cgroupsPath)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(l, p, r)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// procCgroups maps each hierarchy's controllers ("" for v2) to the cgroup
// pid is in.
func procCgroups(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseProcCgroup(string(data))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func key(h Hierarchy) string {
	if h.Version == V2 {
		return ""
	}
	return strings.Join(h.Controllers, ",")
}

func dirWith(p Plan, controller string) (Dir, bool) {
	i := slices.IndexFunc(p.Dirs, func(d Dir) bool { return d.Hierarchy.Has(controller) })
	if i < 0 {
		return Dir{}, false
	}
	return p.Dirs[i], true
}

// On this host's real cgroups (hybrid here: v1 controllers and a cgroup2
// without any), a sandbox cgroup under a pod cgroup with a memory limit:
// the limit above is found, the sandbox's limits are written (its cpuset
// given the parent's memory nodes), a process joins it in every
// hierarchy, a second sandbox cannot take it, and Remove kills the
// process and removes the cgroup.
func TestIntegrationPlaceAndRemove(t *testing.T) {
	testutil.RequireRoot(t)
	l, err := ReadLayout()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cgroup layout: %s", l.Mode())
	top := testCgroup(t, l)
	pod := newPlan(t, l, top+"/pod", Resources{MemoryBytes: 256 << 20})
	if _, err := Create(pod); err != nil {
		t.Fatal(err)
	}
	sb := newPlan(t, l, top+"/pod/sb", Resources{CPUShares: 512, CPUQuota: 50000, CPUPeriod: 100000, CPUs: "0", MemoryBytes: 128 << 20})
	lim, err := MemoryLimitAbove(sb)
	if err != nil {
		t.Fatal(err)
	}
	if mem, _ := dirWith(pod, "memory"); lim.Bytes != 256<<20 || lim.Cgroup != mem.Cgroup {
		t.Errorf("limit above the sandbox: %+v, want 256 MiB from %s", lim, mem.Cgroup)
	}
	if err := Check(sb); err != nil {
		t.Fatal(err)
	}
	c, err := Create(sb)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles(t, sb, map[string]string{"cpu.shares": "512", "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000",
		"cpuset.cpus": "0", "memory.limit_in_bytes": "134217728", "cpu.max": "50000 100000", "memory.max": "134217728"})
	if d, ok := dirWith(sb, "cpuset"); ok && d.Hierarchy.Version == V1 {
		if mems := readBack(t, d.Path, "cpuset.mems"); mems == "" || mems != readBack(t, filepath.Dir(d.Path), "cpuset.mems") {
			t.Errorf("cpuset.mems %q, want the parent's", mems)
		}
	}
	hog := startHog(t, c, 48)
	in := procCgroups(t, hog.Process.Pid)
	for _, d := range sb.Dirs {
		if got := in[key(d.Hierarchy)]; got != d.Cgroup {
			t.Errorf("the process is in %s in the %s hierarchy, want %s", got, d.Hierarchy.Name(), d.Cgroup)
		}
	}
	if pids, err := c.Procs(); err != nil || !slices.Equal(pids, []int{hog.Process.Pid}) {
		t.Errorf("Procs = %v, %v; want [%d]", pids, err, hog.Process.Pid)
	}
	if err := Check(sb); !errors.Is(err, ErrBusy) {
		t.Errorf("Check of a cgroup holding a process: %v, want ErrBusy", err)
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats: %+v", st)
	if st.MemoryUsageBytes < 48<<20 || st.MemoryLimitBytes != 128<<20 || st.CPUUsageNs == 0 || st.Pids == 0 {
		t.Errorf("stats %+v: want at least the 48 MiB the process touched, the 128 MiB limit, some CPU time, its tasks", st)
	}
	// Updating applies the whole set: what is no longer asked for resets.
	if err := c.Set(Resources{MemoryBytes: 200 << 20}); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, sb, map[string]string{"cpu.shares": "1024", "cpu.cfs_quota_us": "-1", "memory.limit_in_bytes": "209715200"})
	if err := Remove(context.Background(), sb.Paths()); err != nil {
		t.Fatal(err)
	}
	for _, p := range sb.Paths() {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left: %v", p, err)
		}
	}
	waitGone(t, hog.Process.Pid)
}

// waitGone waits for pid to be reaped or a zombie.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(data), ") Z ") {
			return
		}
	}
	t.Errorf("process %d survived its cgroup's removal", pid)
}

func wantFiles(t *testing.T, p Plan, want map[string]string) {
	t.Helper()
	for _, d := range p.Dirs {
		for file, v := range want {
			if _, err := os.Stat(filepath.Join(d.Path, file)); err != nil {
				continue // another hierarchy's file
			}
			if got := readBack(t, d.Path, file); got != v {
				t.Errorf("%s = %q, want %q", filepath.Join(d.Path, file), got, v)
			}
		}
	}
}

// The per-sandbox process joins its sandbox's cgroup and, before the
// cgroup goes, leaves it for where it was: Remove refuses while it is in.
func TestIntegrationJoinAndLeave(t *testing.T) {
	testutil.RequireRoot(t)
	l, err := ReadLayout()
	if err != nil {
		t.Fatal(err)
	}
	before := procCgroups(t, os.Getpid())
	sb := newPlan(t, l, testCgroup(t, l)+"/sb", Resources{MemoryBytes: 512 << 20})
	c, err := Create(sb)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Join(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if err := Remove(context.Background(), sb.Paths()); !errors.Is(err, ErrBusy) {
		t.Errorf("Remove with the caller inside: %v, want ErrBusy", err)
	}
	if err := c.Leave(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if after := procCgroups(t, os.Getpid()); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("after Leave the process is in %v, was in %v", after, before)
	}
	if err := Remove(context.Background(), sb.Paths()); err != nil {
		t.Fatal(err)
	}
}

// Kite's stats of a cgroup are what containerd's cgroups library reads
// (the reader of the CRI plugin's pod stats, and so of kubelet's), and a
// pod cgroup holding only the sandbox's shows the same usage. The
// processes are frozen for the comparison; the kernel's per-CPU charge
// batches can still move between reads, so a read is taken when two of
// Kite's reads around containerd's agree.
func TestIntegrationStatsAgreeWithContainerd(t *testing.T) {
	testutil.RequireRoot(t)
	l, err := ReadLayout()
	if err != nil {
		t.Fatal(err)
	}
	top := testCgroup(t, l)
	if _, err := Create(newPlan(t, l, top+"/pod", Resources{})); err != nil {
		t.Fatal(err)
	}
	sb := newPlan(t, l, top+"/pod/sb", Resources{MemoryBytes: 256 << 20})
	c, err := Create(sb)
	if err != nil {
		t.Fatal(err)
	}
	startHog(t, c, 32)
	thaw := freeze(t, sb)
	defer thaw()
	for try := 0; ; try++ {
		a, err := c.Stats()
		if err != nil {
			t.Fatal(err)
		}
		theirs, pod := containerdStats(t, l, sb, top)
		b, err := c.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if a != b && try < 20 {
			continue
		}
		t.Logf("Kite: %+v; containerd: %+v; pod: %+v", a, theirs, pod)
		if theirs != (reading{a.MemoryUsageBytes, a.CPUUsageNs, a.CPUUserNs, a.CPUSystemNs}) {
			t.Errorf("containerd reads %+v of the sandbox's cgroup, Kite %+v", theirs, a)
		}
		// The pod's own charges on top of the sandbox's: the kernel charges
		// a memory cgroup's own structures to its parent, and each CPU may
		// hold a batch of pages charged ahead (MEMCG_CHARGE_BATCH, 64).
		slack := uint64(64<<10 + runtime.NumCPU()*64*os.Getpagesize())
		if pod.memory < a.MemoryUsageBytes || pod.memory > a.MemoryUsageBytes+slack || pod.cpu != a.CPUUsageNs {
			t.Errorf("the pod cgroup shows memory %d, CPU %d ns; the sandbox's %d (+ at most %d of the pod's own), %d",
				pod.memory, pod.cpu, a.MemoryUsageBytes, slack, a.CPUUsageNs)
		}
		return
	}
}

type reading struct{ memory, cpu, user, system uint64 }

// containerdStats reads the sandbox's cgroup and the pod's with
// containerd's library.
func containerdStats(t *testing.T, l Layout, sb Plan, top string) (reading, reading) {
	t.Helper()
	if l.Mode() == Unified {
		// containerd's cgroup2 manager reads these two files for usage.
		d := sb.Dirs[0]
		var out [2]reading
		for i, dir := range []string{d.Path, filepath.Dir(d.Path)} {
			mem, err := readUint(dir, "memory.current")
			if err != nil {
				t.Fatal(err)
			}
			cpu, err := readKeyed(dir, "cpu.stat")
			if err != nil {
				t.Fatal(err)
			}
			out[i] = reading{mem, cpu["usage_usec"] * 1000, cpu["user_usec"] * 1000, cpu["system_usec"] * 1000}
		}
		return out[0], out[1]
	}
	var out [2]reading
	for i, p := range []string{top + "/pod/sb", top + "/pod"} {
		cg, err := cgroup1.Load(cgroup1.NestedPath(p))
		if err != nil {
			t.Fatal(err)
		}
		s, err := cg.Stat(cgroup1.IgnoreNotExist)
		if err != nil {
			t.Fatal(err)
		}
		u := s.GetCPU().GetUsage()
		out[i] = reading{s.GetMemory().GetUsage().GetUsage(), u.GetTotal(), u.GetUser(), u.GetKernel()}
	}
	return out[0], out[1]
}

// freeze freezes the plan's cgroup (v1 freezer, or v2 cgroup.freeze) until
// the returned func thaws it.
func freeze(t *testing.T, p Plan) func() {
	t.Helper()
	file, frozen, thawed, state := "freezer.state", "FROZEN", "THAWED", "freezer.state"
	d, ok := dirWith(p, "freezer")
	if !ok {
		d, file, frozen, thawed, state = p.Dirs[0], "cgroup.freeze", "1", "0", "cgroup.events"
	}
	if err := writeFile(d.Path, file, frozen); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s := readBack(t, d.Path, state)
		if s == "FROZEN" || strings.Contains(s, "frozen 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not freeze: %s", d.Path, s)
		}
	}
	return func() { writeFile(d.Path, file, thawed) }
}
