package cgroup

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"golang.org/x/sys/unix"
)

func TestEnableControllers(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cgroup.controllers"), []byte("cpuset cpu io memory hugetlb\n"), 0o644)
	f, err := os.Create(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := EnableControllers(dir, []string{"cpu", "memory", "pids"}); err != nil {
		t.Fatal(err)
	}
	// The last write wins in a plain file: memory (pids is not available).
	if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control")); string(b) != "+memory" {
		t.Errorf("last write = %q, want +memory", b)
	}
	if err := EnableControllers(t.TempDir(), Controllers); err == nil {
		t.Error("EnableControllers without cgroup.controllers succeeded")
	}
}

func TestCreateRefusesBadIDs(t *testing.T) {
	for _, id := range []string{"", ".", "..", "a/b"} {
		if _, err := Create(t.TempDir(), id); err == nil {
			t.Errorf("Create(%q) succeeded", id)
		}
	}
}

// cgroup2Root finds a cgroup2 mount (the unified hierarchy) and makes a
// test cgroup under it, removed at the end.
func cgroup2Root(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var mnt string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, " - cgroup2 ") {
			mnt = strings.Fields(line)[4]
			break
		}
	}
	if mnt == "" {
		testutil.Skip(t, "no cgroup2 mount", "mount -t cgroup2 none /sys/fs/cgroup/unified")
	}
	root := filepath.Join(mnt, "kite-test-"+strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Rmdir(filepath.Join(root, parent))
		unix.Rmdir(root)
	})
	return root
}

// TestIntegrationFreezeKillDestroy drives a real cgroup: a sleeping child
// is frozen, thawed, killed through cgroup.kill, and the cgroup removed.
func TestIntegrationFreezeKillDestroy(t *testing.T) {
	root := cgroup2Root(t)
	g, err := Create(root, "c1")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	if err := g.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := g.Freeze(ctx); err != nil {
		t.Fatal(err)
	}
	if frozen, err := g.Frozen(); err != nil || !frozen {
		t.Errorf("Frozen() = %v, %v after Freeze", frozen, err)
	}
	if err := g.Thaw(ctx); err != nil {
		t.Fatal(err)
	}
	if frozen, _ := g.Frozen(); frozen {
		t.Error("still frozen after Thaw")
	}
	if _, err := g.Stats(); err != nil {
		t.Errorf("Stats of a real cgroup: %v", err)
	}

	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(interface{ Signal() unix.Signal }); !ok || ws.Signal() != unix.SIGKILL {
		t.Errorf("sleep ended with %v, want SIGKILL", err)
	}
	if err := g.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.Path()); !os.IsNotExist(err) {
		t.Errorf("cgroup still there after Destroy: %v", err)
	}
}
