package container

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/mountinfo"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

func TestIntegrationDestroyLeavesNothing(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	before := mountTable(t)
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", "sleep 100 >/dev/null 2>&1 & sleep 100")
	c, err := Create(testCtx(t), spec, r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	// An exec that leaves an orphan behind in the container.
	e, err := c.Exec(testCtx(t), "bg", execSpec("sh", "-c", "sleep 100 >/dev/null 2>&1 & echo started"))
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, e); got.stdout != "started\n" {
		t.Fatalf("exec stdout %q", got.stdout)
	}
	mnt, err := namespaceOf(c.Pid(), nsMount)
	if err != nil {
		t.Fatal(err)
	}
	members := namespaceMembers(t, mnt)
	// The init (sh exec'd into its last sleep), its background sleep, the
	// exec's orphaned sleep.
	if len(members) != 3 {
		t.Fatalf("container has processes %v before Destroy, want 3", members)
	}
	if err := c.Destroy(testCtx(t)); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	for _, pid := range members {
		if alive(pid) {
			t.Errorf("process %d survived Destroy", pid)
		}
	}
	if left := namespaceMembers(t, mnt); len(left) != 0 {
		t.Errorf("processes %v still in the container's mount namespace", left)
	}
	if after := mountTable(t); after != before {
		t.Errorf("the agent's mount table changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if err := c.Destroy(testCtx(t)); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
	if _, err := c.Start(testCtx(t)); !errors.Is(err, ErrState) {
		t.Errorf("Start after Destroy = %v, want ErrState", err)
	}
}

func TestIntegrationDestroyBeforeStart(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	c, err := Create(testCtx(t), baseSpec(t, busyboxRootfs(t), "true"), r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid := c.Pid()
	if err := c.Destroy(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Errorf("stage %d survived Destroy", pid)
	}
}

// namespaceMembers lists the live processes in the mount namespace ns.
func namespaceMembers(t *testing.T, ns nsID) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if got, err := namespaceOf(pid, nsMount); err == nil && got == ns {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestIntegrationNoPivot(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	root := busyboxRootfs(t)
	spec := baseSpec(t, root, "sh", "-c", "cat /marker; echo $$; ls /; grep -c . /proc/self/mountinfo; exec sleep 30")
	spec.ReadonlyRootfs = true
	c := newContainer(t, r, spec, Options{NoPivot: true})
	p, err := c.Start(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	// Eleven lines, then the init sleeps on for the exec below.
	out := bufio.NewReader(p.Stdout())
	var lines []string
	for range 11 {
		l, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("reading stdout (got %q): %v", lines, err)
		}
		lines = append(lines, strings.TrimSuffix(l, "\n"))
	}
	if lines[0] != "rootfs" || lines[1] != "1" {
		t.Fatalf("stdout %q, want the rootfs marker and pid 1", lines)
	}
	if want := "bin\ndata\ndev\netc\nmarker\nproc\nsys\ntmp\n"; strings.Join(lines[2:10], "\n")+"\n" != want {
		t.Errorf("ls / = %q, want %q", lines[2:10], want)
	}
	// Only the container's mounts are visible: root, proc, dev, devpts,
	// tmp, and the bound /dev nodes.
	if n := lines[10]; n != "11" {
		t.Errorf("%s mounts visible in the container, want 11 (the guest's are detached or out of reach)", n)
	}
	// setns(CLONE_NEWNS) lands on the top mount at the namespace's root:
	// the moved rootfs, not the guest root under it.
	e, err := c.Exec(testCtx(t), "e", execSpec("sh", "-c", "cat /marker; ls /"))
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, e); got.stdout != "rootfs\nbin\ndata\ndev\netc\nmarker\nproc\nsys\ntmp\n" {
		t.Errorf("exec in a no-pivot container sees %q (stderr %q), want the rootfs", got.stdout, got.stderr)
	}
}

func TestIntegrationJoinNamespaces(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	first := startSleeper(t, r, nil)
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", "echo $$; hostname; sleep 30")
	spec.Hostname = ""
	for _, ns := range []struct {
		ns   *Namespace
		kind string
	}{{&spec.Namespaces.PID, "pid"}, {&spec.Namespaces.UTS, "uts"}, {&spec.Namespaces.IPC, "ipc"}} {
		*ns.ns = Namespace{Mode: NamespaceJoin, Path: "/proc/" + itoa(first.Pid()) + "/ns/" + ns.kind}
	}
	second := newContainer(t, r, spec, Options{})
	p, err := second.Start(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(p.Stdout())
	pid, _ := out.ReadString('\n')
	host, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if pid == "1\n" || host != "kite-test\n" {
		t.Errorf("second container printed pid %q, hostname %q; want a pid other than 1 and the first's hostname", pid, host)
	}
	want := hostNamespaces(t, first.Pid(), "pid", "uts", "ipc")
	if got := hostNamespaces(t, second.Pid(), "pid", "uts", "ipc"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("second container's namespaces %v, want the first's %v", got, want)
	}
	// Destroying the second cannot kill a shared pid namespace's init:
	// it finds the second's processes by mount namespace.
	if err := second.Destroy(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if !alive(first.Pid()) {
		t.Error("destroying the second container killed the first")
	}
}

func TestIntegrationCgroups(t *testing.T) {
	testutil.RequireRoot(t)
	unified := cgroup2Mount(t)
	r := startReaper(t)
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := "kite-test-" + hex.EncodeToString(suffix)
	cg := filepath.Join(unified, name)
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(cg); err != nil {
			t.Errorf("removing cgroup: %v", err)
		}
	})
	c := startSleeper(t, r, func(s *Spec) {
		s.Cgroups = []string{cg}
		s.Namespaces.Cgroup.Mode = NamespaceNew
	})
	e, err := c.Exec(testCtx(t), "cg", execSpec("sh", "-c", "grep '^0::' /proc/self/cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, e); got.stdout != "0::/\n" {
		t.Errorf("exec sees cgroup %q, want 0::/ (rooted at the container's cgroup)", got.stdout)
	}
	sleeper, err := c.Exec(testCtx(t), "sleeper", execSpec("sleep", "30"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{c.Pid(), sleeper.Pid()} {
		if got := readFile(t, "/proc/"+itoa(pid)+"/cgroup"); !strings.Contains(got, "0::/"+name+"\n") {
			t.Errorf("process %d is in %q, want %s", pid, got, name)
		}
	}
	// The cgroup must be empty before the cleanup removes it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if procs := readFile(t, cg+"/cgroup.procs"); procs != "" {
		t.Errorf("cgroup still holds %q", procs)
	}
}

// cgroup2Mount finds where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup
// on a pure v2 system, /sys/fs/cgroup/unified on a hybrid one.
func cgroup2Mount(t *testing.T) string {
	t.Helper()
	ms, err := mountinfo.Read("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.FSType == "cgroup2" {
			return m.Target
		}
	}
	testutil.Skip(t, "no cgroup v2 hierarchy mounted", "mount -t cgroup2 none /sys/fs/cgroup/unified")
	return ""
}
