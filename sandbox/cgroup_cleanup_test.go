package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/hostcgroup"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// What a sandbox whose owner was killed leaves in the host's cgroups: its
// cgroup, recorded, with a process of its still in it (one whose command
// line does not name the VM directory: only the cgroup finds it). Cleanup
// kills it and removes the cgroup.
func TestIntegrationCleanupHostCgroup(t *testing.T) {
	testutil.RequireRoot(t)
	l, err := hostcgroup.ReadLayout()
	if err != nil {
		t.Fatal(err)
	}
	path, err := hostcgroup.ParsePath(fmt.Sprintf("kite-cleanup-test-%d/sb", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := hostcgroup.NewPlan(l, path, hostcgroup.Resources{MemoryBytes: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	top, _ := hostcgroup.ParsePath(fmt.Sprintf("kite-cleanup-test-%d", os.Getpid()))
	topPlan, err := hostcgroup.NewPlan(l, top, hostcgroup.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hostcgroup.Remove(context.Background(), topPlan.Paths()) })
	cg, err := hostcgroup.Create(plan)
	if err != nil {
		t.Fatal(err)
	}
	helper := startSleeper(t, t.TempDir())
	if err := cg.Join(helper.Process.Pid); err != nil {
		t.Fatal(err)
	}
	dead := startSleeper(t, t.TempDir())
	owner, err := devicemgr.ProcessOf("/proc", dead.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	dead.Process.Kill()
	dead.Wait()
	dir := t.TempDir()
	rec := &recorder{path: Config{Dir: dir}.recordPath()}
	if err := rec.update(func(r *record) {
		r.ID, r.Owner, r.VMDir, r.Cgroups = "dead", owner, VMDir(dir), plan.Paths()
	}); err != nil {
		t.Fatal(err)
	}

	if err := Cleanup(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); alive(helper.Process.Pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the process left in the sandbox's cgroup survived Cleanup")
		}
	}
	for _, p := range append(plan.Paths(), rec.path) {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is left: %v", p, err)
		}
	}
}
