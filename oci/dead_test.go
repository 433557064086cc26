package oci

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

	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/runtime"
	"golang.org/x/sys/unix"
)

// startSleeper runs a helper whose command line names dir, in its own
// process group like QEMU; it is killed when the test ends.
func startSleeper(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$", "-marker="+filepath.Join(dir, "qmp.sock"))
	cmd.Env = append(os.Environ(), helperEnv+"=sleep")
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

func TestIntegrationCleanupDead(t *testing.T) {
	testutil.RequireRoot(t)
	store := state.Store{Root: t.TempDir()}
	h, err := store.Create("dead")
	if err != nil {
		t.Fatal(err)
	}
	st := state.State{ID: "dead", Status: state.StatusRunning, Created: time.Now()}
	if err := h.Write(st); err != nil {
		t.Fatal(err)
	}
	// What a sandbox process killed with SIGKILL leaves: its VM's
	// processes, a read-only bind mount, sockets, a lock file elsewhere.
	vm := vmDir(h)
	bind := filepath.Join(vm, "binds", "share0")
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
	for _, f := range []string{lock, filepath.Join(vm, "qmp.sock"), filepath.Join(h.Dir(), ControlSocketName), filepath.Join(h.Dir(), DaemonLogName)} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeRecord(h, runtime.VMPlan{Dir: vm, Virtiofsd: []runtime.VirtiofsdPlan{{LockFile: lock}}}, nil, ""); err != nil {
		t.Fatal(err)
	}
	qemu := startSleeper(t, vm)              // recorded in the state
	unrecorded := startSleeper(t, vm)        // not recorded: found by its command line
	stranger := startSleeper(t, t.TempDir()) // recorded, but not ours (a recycled pid)
	st.QEMUPid, st.VirtiofsdPids = qemu.Process.Pid, []int{stranger.Process.Pid}

	if err := CleanupDead(context.Background(), h, st); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*exec.Cmd{qemu, unrecorded} {
		if (state.Proc{}).Alive(c.Process.Pid, 0) {
			t.Errorf("process %d, whose command line names the VM directory, survived", c.Process.Pid)
		}
	}
	if !(state.Proc{}).Alive(stranger.Process.Pid, 0) {
		t.Error("a process that does not name the VM directory was killed")
	}
	if _, err := os.Stat(h.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the container's directory is left: %v", err)
	}
	if _, err := os.Stat(lock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("virtiofsd's lock file is left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(shared, "keep")); err != nil {
		t.Errorf("the shared directory lost its file through the bind mount: %v", err)
	}
	if left, err := mountsUnder(store.Root); err != nil || len(left) != 0 {
		t.Errorf("mounts left: %v, %v", left, err)
	}
}
