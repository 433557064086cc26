package sandbox

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"golang.org/x/sys/unix"
)

// sleeperEnv makes the test binary sleep: a stand-in for QEMU whose
// command line names a directory.
const sleeperEnv = "KITE_SANDBOX_TEST_SLEEPER"

func TestMain(m *testing.M) {
	if os.Getenv(sleeperEnv) != "" {
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startSleeper runs a helper whose command line names dir, in its own
// process group like QEMU; it is killed when the test ends.
func startSleeper(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$", "-marker="+filepath.Join(dir, "qmp.sock"))
	cmd.Env = append(os.Environ(), sleeperEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	return cmd
}

// What a sandbox whose owner was killed with SIGKILL leaves: its VM's
// processes, a bind mount, sockets, a lock file elsewhere. Cleanup undoes
// it from the crash record without reaching through a mount.
func TestIntegrationCleanup(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	vmDir := VMDir(dir)
	bind := filepath.Join(vmDir, "binds", "share0")
	if err := os.MkdirAll(bind, 0o700); err != nil {
		t.Fatal(err)
	}
	shared := t.TempDir()
	if err := os.WriteFile(filepath.Join(shared, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(shared, bind, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(bind, unix.MNT_DETACH) })
	lock := filepath.Join(t.TempDir(), "virtiofsd.pid")
	frontEnd := filepath.Join(dir, "state.json")
	for _, f := range []string{lock, filepath.Join(vmDir, "qmp.sock"), frontEnd} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	qemu := startSleeper(t, vmDir)           // recorded
	unrecorded := startSleeper(t, vmDir)     // not recorded: found by its command line
	stranger := startSleeper(t, t.TempDir()) // recorded, but not ours (a recycled pid)
	dead := startSleeper(t, t.TempDir())     // the owner, killed
	owner, err := devicemgr.ProcessOf("/proc", dead.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	dead.Process.Kill()
	dead.Wait()
	rec := &recorder{path: Config{Dir: dir}.recordPath()}
	if err := rec.update(func(r *record) {
		r.ID, r.Owner, r.VMDir = "dead", owner, vmDir
		r.Pids = []int{qemu.Process.Pid, stranger.Process.Pid}
		r.LockFiles = []string{lock}
	}); err != nil {
		t.Fatal(err)
	}

	if err := Cleanup(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*exec.Cmd{qemu, unrecorded} {
		if alive(c.Process.Pid) {
			t.Errorf("process %d, whose command line names the VM directory, survived", c.Process.Pid)
		}
	}
	if !alive(stranger.Process.Pid) {
		t.Error("a process that does not name the VM directory was killed")
	}
	for _, gone := range []string{vmDir, lock, rec.path} {
		if _, err := os.Stat(gone); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is left: %v", gone, err)
		}
	}
	if _, err := os.Stat(frontEnd); err != nil {
		t.Errorf("the front end's file went: %v", err)
	}
	if _, err := os.Stat(filepath.Join(shared, "keep")); err != nil {
		t.Errorf("the shared directory lost its file through the bind mount: %v", err)
	}
}

// A sandbox whose owner still runs is not cleaned up.
func TestCleanupRefusesLiveOwner(t *testing.T) {
	dir := t.TempDir()
	owner := startSleeper(t, t.TempDir())
	self, err := devicemgr.ProcessOf("/proc", owner.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{path: Config{Dir: dir}.recordPath()}
	if err := rec.update(func(r *record) { r.ID, r.Owner, r.VMDir = "live", self, VMDir(dir) }); err != nil {
		t.Fatal(err)
	}
	if err := Cleanup(context.Background(), dir); Classify(err) != ErrFailedPrecondition {
		t.Errorf("Cleanup of a live sandbox = %v, want a failed precondition", err)
	}
	if _, err := os.Stat(rec.path); err != nil {
		t.Errorf("the record of a live sandbox went: %v", err)
	}
}

// TestExiting: a running process is not exiting; one that was killed is
// (its PF_EXITING flag stays on the zombie), and so owns nothing.
func TestExiting(t *testing.T) {
	if exiting(os.Getpid()) {
		t.Error("the test process reads as exiting")
	}
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if exiting(cmd.Process.Pid) {
		t.Error("a sleeping child reads as exiting")
	}
	cmd.Process.Kill()
	// Not reaped yet: a zombie, killed.
	for deadline := time.Now().Add(5 * time.Second); !exiting(cmd.Process.Pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a killed child never reads as exiting")
		}
	}
	if ownerAlive(devicemgr.Process{PID: cmd.Process.Pid}) {
		t.Error("a killed owner reads as alive")
	}
	cmd.Wait()
}
