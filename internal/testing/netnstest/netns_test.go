package netnstest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"golang.org/x/sys/unix"
)

// inNetns starts sleep for secs in the netns name, reaped by the caller
// through the returned channel.
func inNetns(t *testing.T, name, secs string) (*exec.Cmd, <-chan error) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", name, "sleep", secs)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// ip enters the netns, then execs sleep (same pid): wait until it is in.
	self, _ := os.Readlink("/proc/self/ns/net")
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if l, err := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/net"); err == nil && l != self {
			return cmd, done
		}
	}
	t.Fatalf("sleep never entered netns %s", name)
	return nil, nil
}

func addBare(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "ip", "iproute2")
	name := "kite-nstest-" + suffix()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { deleteNetns(name, 0) })
	return name
}

func TestIntegrationDeleteNetnsWaitsForItsProcesses(t *testing.T) {
	name := addBare(t)
	_, done := inNetns(t, name, "0.5")
	start := time.Now()
	if err := deleteNetns(name, 10*time.Second); err != nil {
		t.Fatalf("deleteNetns with a process about to exit: %v", err)
	}
	select {
	case <-done:
	default:
		t.Errorf("deleteNetns returned after %s with the process still running", time.Since(start))
	}
	if _, err := os.Stat(filepath.Join(runDir, name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is still there: %v", name, err)
	}
}

func TestIntegrationDeleteNetnsReportsALeak(t *testing.T) {
	name := addBare(t)
	cmd, done := inNetns(t, name, "30")
	defer func() { cmd.Process.Kill(); <-done }()
	err := deleteNetns(name, 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "pid "+strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("deleteNetns with a process that stays = %v, want an error naming pid %d", err, cmd.Process.Pid)
	}
	// The name is gone even so: the netns lives on with its process only.
	if _, err := os.Stat(filepath.Join(runDir, name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is still there: %v", name, err)
	}
}

// TestIntegrationRemoveExplainsHiddenMount builds, in a temp dir, the state
// that made netns deletion fail in CI: a file bind-mounted in a plain
// directory that another mount then covers. The covered mount keeps the
// file busy; the error says where it is.
func TestIntegrationRemoveExplainsHiddenMount(t *testing.T) {
	testutil.RequireRoot(t)
	dir := filepath.Join(t.TempDir(), "netns")
	file := filepath.Join(dir, "ns")
	src := filepath.Join(t.TempDir(), "src")
	for _, f := range []string{file, src} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mount(src, file, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(file, unix.MNT_DETACH) })
	// What the first `ip netns add` does to a /run/netns that is no mount point.
	if err := unix.Mount(dir, dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })

	err := unmountAndRemove(file, 200*time.Millisecond)
	if !errors.Is(err, unix.EBUSY) {
		t.Fatalf("removing a file with a hidden mount = %v, want EBUSY", err)
	}
	if why := explainMounts(file); !strings.Contains(why, " "+file+" ") || !strings.Contains(why, "hidden") {
		t.Errorf("explanation = %q, want the mountinfo line of %s", why, file)
	}
}
