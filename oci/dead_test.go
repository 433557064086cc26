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
	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/sandbox"
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

// A container whose sandbox process was killed before it wrote anything
// but its state: CleanupDead kills what names the VM's directory, removes
// the front end's files and the state.
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
	vm := sandbox.VMDir(h.Dir())
	if err := os.MkdirAll(vm, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(vm, "qmp.sock"), filepath.Join(h.Dir(), control.ControlSocketName), filepath.Join(h.Dir(), DaemonLogName)} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	qemu := startSleeper(t, vm)
	stranger := startSleeper(t, t.TempDir())
	if err := CleanupDead(context.Background(), h, st); err != nil {
		t.Fatal(err)
	}
	if (state.Proc{}).Alive(qemu.Process.Pid, 0) {
		t.Errorf("process %d, whose command line names the VM directory, survived", qemu.Process.Pid)
	}
	if !(state.Proc{}).Alive(stranger.Process.Pid, 0) {
		t.Error("a process that does not name the VM directory was killed")
	}
	if _, err := os.Stat(h.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the container's directory is left: %v", err)
	}
}
